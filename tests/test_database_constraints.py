"""The database itself refuses bad rows, whatever code path tries to write them."""

from datetime import timedelta

import pytest
from django.db import IntegrityError, transaction
from django.utils import timezone

from experiences.models import Experience, ExperienceKey
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


def key_of(experience, scope="key:a"):
    return ExperienceKey(idempotency_scope=scope, external_id=experience.external_id, experience=experience)


def test_an_idempotency_key_is_claimed_once_in_a_namespace_whatever_the_month(customer, touchpoint):
    first = experience_row(customer, touchpoint, external_id="evt-1", idempotency_scope="key:a")
    first.save()
    key_of(first).save()
    months_later = timezone.now() - timedelta(days=200)
    second = experience_row(
        customer, touchpoint, external_id="evt-1", idempotency_scope="key:a", occurred_at=months_later
    )
    second.save()
    with pytest.raises(IntegrityError), transaction.atomic():
        key_of(second).save(force_insert=True)
    assert list(ExperienceKey.objects.values_list("experience_id", flat=True)) == [first.pk]


def test_same_key_in_another_namespace_and_keyless_rows_are_allowed(customer, touchpoint):
    for scope in ("key:a", "key:b"):
        row = experience_row(customer, touchpoint, external_id="evt-1", idempotency_scope=scope)
        row.save()
        key_of(row, scope).save(force_insert=True)
    experience_row(customer, touchpoint, external_id=None).save()
    experience_row(customer, touchpoint, external_id=None).save()
    assert Experience.objects.count() == 4
    assert ExperienceKey.objects.count() == 2


def test_a_touchpoint_cannot_have_two_primary_departments(touchpoint):
    with pytest.raises(IntegrityError), transaction.atomic():
        TouchpointOwner.objects.create(touchpoint=touchpoint, department=DepartmentFactory(), primary=True)
    assert touchpoint.owners.filter(primary=True).count() == 1
