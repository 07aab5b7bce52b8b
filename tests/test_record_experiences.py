"""The one write path: defaults, duplicates, invalid neighbours, rescoring marks, work after commit."""

from datetime import timedelta

import pytest
from django.utils import timezone

from customers.models import Customer
from experiences.models import Experience
from experiences.services import record_experiences
from scoring.models import CustomerMark, DayMark
from touchpoints.models import TouchpointOwner

from .factories import DepartmentFactory, TouchpointFactory


def item(**fields):
    return {"customer": "ACME-1", "touchpoint": "on-time-delivery", "valence": "negative", **fields}


def test_defaults_come_from_the_touchpoint(customer, touchpoint, department):
    result = record_experiences(items=[item()], source="api")

    assert result.accepted == 1
    stored = Experience.objects.get(pk=result.results[0].id)
    assert stored.department == department
    assert stored.stage == touchpoint.stage
    assert stored.intensity == 3
    assert stored.valence == -1
    assert stored.source == "api"
    assert stored.occurred_on == timezone.localdate(stored.occurred_at)


def test_negative_weighs_into_stored_masses(customer, touchpoint):
    result = record_experiences(items=[item(intensity=4, outcome="failed")], source="api")

    stored = Experience.objects.get(pk=result.results[0].id)
    assert stored.impact == pytest.approx(0.9 * -4 + 0.1 * -5)
    assert stored.negative_mass_norm > 0
    assert stored.positive_mass_norm == 0


def test_duplicate_id_is_reported_not_stored(customer, touchpoint):
    first = record_experiences(items=[item(id="evt-7")], source="api")
    again = record_experiences(items=[item(id="evt-7")], source="api")

    assert again.results[0].status == "duplicate"
    assert again.results[0].id == first.results[0].id
    assert Experience.objects.count() == 1


def test_same_id_with_another_payload_is_a_conflict_naming_the_fields(customer, touchpoint):
    first = record_experiences(items=[item(id="evt-7")], source="api")
    again = record_experiences(items=[item(id="evt-7", valence="positive", note="changed")], source="api")

    assert again.results[0].status == "conflict"
    assert again.results[0].id == first.results[0].id
    assert sorted(again.results[0].errors) == ["note", "valence"]
    assert Experience.objects.count() == 1
    assert Experience.objects.get().valence == -1


def test_repeated_id_within_one_batch_is_stored_once(customer, touchpoint):
    result = record_experiences(items=[item(id="evt-8"), item(id="evt-8")], source="api")

    assert [r.status for r in result.results] == ["accepted", "duplicate"]
    assert result.results[1].id == result.results[0].id
    assert Experience.objects.count() == 1


def test_invalid_item_never_costs_its_valid_neighbours(customer, touchpoint):
    result = record_experiences(
        items=[item(id="a"), item(id="b", intensity=9), item(id="c", touchpoint="teleport")], source="api"
    )

    assert [r.status for r in result.results] == ["accepted", "rejected", "rejected"]
    assert result.results[1].errors == {"intensity": ["must be 1 to 5, got 9"]}
    assert "valid codes are: on-time-delivery" in result.results[2].errors["touchpoint"][0]
    assert list(Experience.objects.values_list("external_id", flat=True)) == ["a"]


@pytest.mark.parametrize(
    ("fields", "field", "fragment"),
    [
        ({"valence": "great"}, "valence", "positive, neutral or negative"),
        ({"valence": None}, "valence", "required"),
        ({"intensity": "x"}, "intensity", "whole number"),
        ({"emotion": "meh"}, "emotion", "must be one of"),
        ({"occurred_at": "yesterday"}, "occurred_at", "ISO 8601"),
        ({"stage": "after"}, "stage", "perception, interaction, remembrance"),
        ({"colour": "red"}, "colour", "unknown field"),
        ({"customer": None}, "customer", "required"),
        ({"customer": "NOBODY"}, "customer", "unknown customer 'NOBODY'"),
        ({"department": "sales"}, "department", "does not own touchpoint"),
    ],
)
def test_each_bad_field_gets_a_message_that_says_what_to_fix(customer, touchpoint, fields, field, fragment):
    result = record_experiences(items=[item(**fields)], source="api")

    assert result.rejected == 1
    assert fragment in " ".join(result.results[0].errors[field])
    assert not Experience.objects.exists()


def test_experience_dated_more_than_five_minutes_ahead_is_rejected(customer, touchpoint):
    soon = timezone.now() + timedelta(minutes=4)
    late = timezone.now() + timedelta(minutes=6)

    result = record_experiences(
        items=[item(occurred_at=soon.isoformat()), item(occurred_at=late.isoformat())], source="api"
    )

    assert [r.status for r in result.results] == ["accepted", "rejected"]
    assert "future" in result.results[1].errors["occurred_at"][0]


def test_customer_object_is_upserted_by_external_id(touchpoint):
    record_experiences(items=[item(customer={"external_id": "NEW-9", "name": "Nina"})], source="api")
    record_experiences(
        items=[item(customer={"external_id": "NEW-9", "name": "Nina Ortiz", "email": "nina@example.com"})],
        source="api",
    )

    customer = Customer.objects.get(external_id="NEW-9")
    assert (customer.name, customer.email) == ("Nina Ortiz", "nina@example.com")
    assert customer.experiences.count() == 2


def test_secondary_owner_may_be_named_as_department(customer, touchpoint):
    billing = DepartmentFactory(code="billing")
    TouchpointOwner.objects.create(touchpoint=touchpoint, department=billing, primary=False)

    result = record_experiences(items=[item(department="billing")], source="api")

    assert Experience.objects.get(pk=result.results[0].id).department == billing


def test_affected_customers_and_days_are_marked_for_rescoring(customer, touchpoint):
    other = TouchpointFactory(code="invoice-clarity")
    record_experiences(items=[item(), item(touchpoint=other.code, valence="positive", intensity=9)], source="api")

    assert list(CustomerMark.objects.values_list("customer_id", flat=True)) == [customer.pk]
    assert list(DayMark.objects.values_list("day", flat=True)) == [timezone.localdate()]


def test_nothing_is_marked_when_nothing_is_accepted(customer, touchpoint):
    record_experiences(items=[item(intensity=0)], source="api")

    assert not CustomerMark.objects.exists()


def test_scoring_is_enqueued_only_after_commit(customer, touchpoint, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks() as callbacks:
        record_experiences(items=[item()], source="api")
        assert Experience.objects.count() == 1

    assert "wake" in [cb.__name__ for cb in callbacks]
