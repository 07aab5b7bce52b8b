"""The database itself refuses bad rows, whatever code path tries to write them."""

import pytest
from django.db import IntegrityError, transaction
from django.utils import timezone

from experiences.models import Experience
from touchpoints.models import TouchpointOwner

from .factories import DepartmentFactory


def experience_row(customer, touchpoint, **overrides):
    now = timezone.now()
    values = dict(
        customer=customer,
        touchpoint=touchpoint,
        department=touchpoint.owners.get().department,
        stage="interaction",
        valence=1,
        intensity=3,
        occurred_at=now,
        occurred_on=now.date(),
        source="api",
        impact=3.0,
        positive_mass_norm=3.0,
        negative_mass_norm=0.0,
    )
    values.update(overrides)
    return Experience(**values)


@pytest.mark.parametrize(
    "overrides",
    [
        {"intensity": 9},
        {"intensity": 0},
        {"valence": 2},
        {"stage": "afterthought"},
        {"expectation": "surpassed"},
        {"outcome": "maybe"},
        {"source": "fax"},
    ],
    ids=[
        "intensity-9",
        "intensity-0",
        "unknown-valence",
        "unknown-stage",
        "unknown-expectation",
        "unknown-outcome",
        "unknown-source",
    ],
)
def test_out_of_range_experience_is_rejected_by_the_database(customer, touchpoint, overrides):
    with pytest.raises(IntegrityError), transaction.atomic():
        experience_row(customer, touchpoint, **overrides).save()
    assert not Experience.objects.exists()


def test_duplicate_idempotency_key_in_one_source_is_rejected_by_the_database(customer, touchpoint):
    experience_row(customer, touchpoint, external_id="evt-1").save()
    with pytest.raises(IntegrityError), transaction.atomic():
        experience_row(customer, touchpoint, external_id="evt-1").save()
    assert Experience.objects.count() == 1


def test_same_key_in_another_namespace_and_keyless_rows_are_allowed(customer, touchpoint):
    experience_row(customer, touchpoint, external_id="evt-1", idempotency_scope="key:a").save()
    experience_row(customer, touchpoint, external_id="evt-1", idempotency_scope="key:b").save()
    experience_row(customer, touchpoint, external_id=None).save()
    experience_row(customer, touchpoint, external_id=None).save()
    assert Experience.objects.count() == 4


def test_a_touchpoint_cannot_have_two_primary_departments(touchpoint):
    with pytest.raises(IntegrityError), transaction.atomic():
        TouchpointOwner.objects.create(touchpoint=touchpoint, department=DepartmentFactory(), primary=True)
    assert touchpoint.owners.filter(primary=True).count() == 1
