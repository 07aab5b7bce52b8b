"""The experience's own fields are listed once; every item, read, export and insert carries all of them."""

import pytest

from customers.queries import TIMELINE_FIELDS
from dashboards.queries import EXPORT_FIELDS
from experiences.models import EXPERIENCE_FIELDS, Experience
from experiences.serializers import ExperienceSerializer
from experiences.services import INSERT_COLUMNS, ITEM_FIELDS
from integrations.csv_import import COLUMNS

# The columns that are not what the customer lived: who, where, when, bookkeeping and derived figures.
# A new column of Experience lands on one side or the other, and this test makes someone decide which.
NOT_DESCRIBING = {
    "id",
    "customer",
    "touchpoint",
    "department",
    "occurred_at",
    "occurred_on",
    "source",
    "external_id",
    "recorded_by",
    "reported_from_department",
    "api_key",
    "idempotency_scope",
    "note",
    "impact",
    "positive_mass_norm",
    "negative_mass_norm",
    "created_at",
}


def test_the_list_holds_every_field_that_describes_the_moment():
    own = [f.name for f in Experience._meta.concrete_fields if f.name not in NOT_DESCRIBING]
    assert own == list(EXPERIENCE_FIELDS)


@pytest.mark.parametrize(
    "fields",
    [INSERT_COLUMNS, TIMELINE_FIELDS, EXPORT_FIELDS, ExperienceSerializer.Meta.fields],
    ids=["insert", "timeline", "export", "api"],
)
def test_each_list_carries_the_fields_in_order(fields):
    start = list(fields).index(EXPERIENCE_FIELDS[0])
    assert tuple(fields[start : start + len(EXPERIENCE_FIELDS)]) == EXPERIENCE_FIELDS


def test_api_items_and_csv_columns_accept_every_field():
    assert set(EXPERIENCE_FIELDS) <= ITEM_FIELDS and set(EXPERIENCE_FIELDS) <= COLUMNS
