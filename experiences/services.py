"""The one write path: every experience, from every source, enters through `record_experiences`."""

from __future__ import annotations

import json
import math
import re
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta, tzinfo
from typing import Any, NamedTuple

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.db import connection, transaction
from django.db.models.expressions import RawSQL
from django.utils import timezone
from django.utils.dateparse import parse_datetime
from django.utils.translation import gettext as _

from customers.models import EXTERNAL_ID_MAX_LENGTH, Customer, customer_field_max_length
from customers.services import segments_changed
from cxm.prepared import Prepared
from cxm.text import identifier_problem, printable, shown, text_problem
from integrations.models import Event
from integrations.services import has_subscribers, publish_experience_events
from outbox import services as outbox
from outbox.services import wake_after_commit
from scoring import engine
from scoring.services import mark_for_rescore
from touchpoints.models import Stage, Touchpoint

from .models import (
    EXPERIENCE_FIELDS,
    VALENCE_BY_NAME,
    ChangeKind,
    Emotion,
    Expectation,
    Experience,
    ExperienceChange,
    ExperienceKey,
    Outcome,
    Source,
)

ITEM_FIELDS = frozenset({"id", "customer", "touchpoint", *EXPERIENCE_FIELDS, "department", "occurred_at", "note"})
CUSTOMER_FIELDS = frozenset({"external_id", "name", "email", "segment"})
MAX_KEY_LENGTH: int = Experience._meta.get_field("external_id").max_length  # type: ignore[assignment]
MAX_CUSTOMER_REF_LENGTH = EXTERNAL_ID_MAX_LENGTH
MAX_NOTE_LENGTH = 4000
INTENSITY_TEXT = re.compile(r"\s*[+-]?[0-9]{1,2}\s*")
# Built once: validating an item allocates nothing for its choices (Django rebuilds `.values` on each call).
STAGES = frozenset(Stage.values)
OPTIONAL_CHOICES = (
    ("emotion", tuple(Emotion.values)),
    ("expectation", tuple(Expectation.values)),
    ("outcome", tuple(Outcome.values)),
)
CHOICE_SETS = {allowed: frozenset(allowed) for _name, allowed in OPTIONAL_CHOICES}
KEY_LOCK_BUCKETS = 64  # a power of two: the idempotency locks one writer may hold at once
INSERT_COLUMNS = (
    "customer_id",
    "touchpoint_id",
    "department_id",
    *EXPERIENCE_FIELDS,
    "occurred_at",
    "occurred_on",
    "source",
    "external_id",
    "idempotency_scope",
    "recorded_by_id",
    "reported_from_department_id",
    "api_key_id",
    "note",
    "impact",
    "positive_mass_norm",
    "negative_mass_norm",
    "created_at",
)


@dataclass
class ItemResult:
    """What became of one item, reported in request order."""

    status: str  # "accepted" | "duplicate" | "conflict" | "rejected"
    id: int | None = None
    key: str | None = None
    errors: dict[str, list[str]] | None = None


@dataclass
class BatchResult:
    results: list[ItemResult] = field(default_factory=list)

    def count(self, status: str) -> int:
        return sum(1 for r in self.results if r.status == status)

    @property
    def accepted(self) -> int:
        return self.count("accepted")

    @property
    def duplicates(self) -> int:
        return self.count("duplicate")

    @property
    def conflicts(self) -> int:
        return self.count("conflict")

    @property
    def rejected(self) -> int:
        return self.count("rejected")


_PENDING = ItemResult(status="rejected")


class _CatalogueTouchpoint(NamedTuple):
    pk: int
    code: str
    stage: str


class _Catalogue:
    """Active touchpoints with their active owning departments, read in one query, and the version read with them."""

    def __init__(self) -> None:
        self.touchpoints: dict[str, _CatalogueTouchpoint] = {}
        self.owner_codes: dict[int, dict[str, int]] = {}
        self.primary: dict[int, int] = {}
        self.version: int | None = None
        touchpoints = Touchpoint.objects.filter(active=True)
        fields = ["pk", "code", "stage", "owners__department_id", "owners__department__code"]
        fields += ["owners__department__active", "owners__primary"]
        if connection.vendor == "postgresql":
            touchpoints = touchpoints.annotate(catalogue_version=RawSQL(CATALOGUE_VERSION_SQL, []))
            fields.append("catalogue_version")
        rows = touchpoints.values_list(*fields)
        for pk, code, stage, department_id, department_code, department_active, primary, *version in rows:
            self.version = version[0] if version else None
            self.touchpoints.setdefault(code, _CatalogueTouchpoint(pk, code, stage))
            owners = self.owner_codes.setdefault(pk, {})
            if department_id is not None and department_active:
                owners[department_code] = department_id
                if primary:
                    self.primary[pk] = department_id
        if connection.vendor == "postgresql" and self.version is None:  # no active touchpoint at all
            with connection.cursor() as cursor:
                cursor.execute(CATALOGUE_VERSION_SQL)
                self.version = cursor.fetchone()[0]


# What `experiences_catalogueversion` holds (migration 0006: triggers change it with the catalogue).
CATALOGUE_VERSION_SQL = "SELECT coalesce((SELECT version FROM experiences_catalogueversion WHERE id = 1), 0)"
_cached_catalogue: _Catalogue | None = None


def _catalogue() -> tuple[_Catalogue, bool]:
    """The catalogue kept by this process (PostgreSQL), and whether it was read just now.

    Kept until the insert statement, which reads the version in the same statement, finds it
    changed. On SQLite (`make run`) it is read for every batch.
    """
    global _cached_catalogue
    if connection.vendor != "postgresql":
        return _Catalogue(), True
    if _cached_catalogue is None:
        _cached_catalogue = _Catalogue()
        return _cached_catalogue, True
    return _cached_catalogue, False


def _forget_catalogue() -> None:
    global _cached_catalogue
    _cached_catalogue = None


def _catalogue_is_current(catalogue: _Catalogue) -> bool:
    with connection.cursor() as cursor:
        cursor.execute(CATALOGUE_VERSION_SQL)
        return cursor.fetchone()[0] == catalogue.version


def is_active_touchpoint(code: str) -> bool:
    """Whether `code` names an active touchpoint, by this process's catalogue (no query while it says yes).

    A "no" from a catalogue read earlier is checked against the current version first; a "yes"
    for a touchpoint retired since is caught by the write itself, which checks the version.
    """
    catalogue, fresh = _catalogue()
    if code in catalogue.touchpoints:
        return True
    if fresh or _catalogue_is_current(catalogue):
        return False
    _forget_catalogue()
    return code in _catalogue()[0].touchpoints


@dataclass
class _Row:
    """A validated item, waiting for its customer id."""

    position: int
    key: str | None
    customer_ref: str
    values: dict[str, Any]
    customer_upsert: dict[str, str] | None
    sent: dict[str, Any]
    repeat_of: _Row | None = None


def idempotency_scope(*, source: str, recorded_by=None, api_key=None) -> str:
    """Whose id namespace an item's `id` lives in: each API key and each user has its own.

    Two integrations may both send `"id": "1"` without colliding; the CSV import and survey
    answers keep one namespace per source.
    """
    if api_key is not None:
        return f"key:{api_key.pk}"
    if source in (Source.FORM, Source.API) and recorded_by is not None:
        return f"user:{recorded_by.pk}"
    return source


def record_experiences(
    *,
    items: Sequence[Mapping[str, Any]],
    source: str,
    recorded_by=None,
    api_key=None,
    may_change_customers: bool = True,
    now: datetime | None = None,
) -> BatchResult:
    """Validate, store in bulk and queue scoring for a batch of experiences.

    An invalid item is reported with field errors and never costs its valid neighbours. An
    `id` already stored in the writer's namespace (see `idempotency_scope`) changes nothing,
    customers included: the same payload is a `duplicate` with the stored experience's id, a
    different one a `conflict` naming the fields that differ. Changing an existing customer's
    name, e-mail or segment needs `may_change_customers` (the customers:write scope); creating
    one does not. Everything accepted is committed before this returns.
    """
    if source not in Source.values:
        raise ValueError(f"unknown source {source!r}")
    now = now or timezone.now()
    scope = idempotency_scope(source=source, recorded_by=recorded_by, api_key=api_key)
    reporters = _reporter_departments(recorded_by)
    writer = {
        "recorded_by_id": getattr(recorded_by, "pk", None),
        "reporter_departments": reporters,
        "api_key_id": getattr(api_key, "pk", None),
    }
    zone = timezone.get_current_timezone()  # once per batch: Django looks it up on every call
    while True:
        catalogue, fresh = _catalogue()
        result = BatchResult(results=[_PENDING] * len(items))  # every position is answered below
        rows: list[_Row] = []
        for position, item in enumerate(items):
            errors, row = _validate(item, position, catalogue, now, zone, reporters)
            if errors:
                result.results[position] = ItemResult(status="rejected", key=_key_of(item), errors=errors)
            else:
                assert row is not None  # an item without errors always has its row
                rows.append(row)
        if not fresh and len(rows) < len(items) and not _catalogue_is_current(catalogue):
            _forget_catalogue()  # a reject may come from a catalogue changed since: check again
            continue
        unique = _set_aside_repeats(rows)
        if connection.vendor == "postgresql" and all(r.customer_upsert is None for r in unique):
            # Customers named by external id only: nothing to create or change, so no locks and no
            # look-up before the one statement, which reports unknown customers and replays itself.
            stored = _write(unique, source, scope, writer, now, catalogue, result)
        else:
            with transaction.atomic():
                fresh_rows = _set_aside_known_keys(unique, scope, result)
                refused = _resolve_customers(fresh_rows, may_change_customers=may_change_customers)
                accepted_rows = []
                for row in fresh_rows:
                    if row.position in refused:
                        result.results[row.position] = ItemResult(
                            status="rejected", key=row.key, errors={"customer": [refused[row.position]]}
                        )
                    else:
                        accepted_rows.append(row)
                stored = _write(accepted_rows, source, scope, writer, now, catalogue, result)
        if stored is None:  # the catalogue changed since this process read it: validate again
            _forget_catalogue()
            continue
        _report_repeats(rows, result)
        return result


def _set_aside_repeats(rows: list[_Row]) -> list[_Row]:
    """A repeat of an id earlier in the same batch is kept aside on the row and reported after the insert."""
    unique: list[_Row] = []
    first_by_key: dict[str, _Row] = {}
    for row in rows:
        if row.key is None:
            unique.append(row)
        elif row.key in first_by_key:
            row.repeat_of = first_by_key[row.key]
        else:
            first_by_key[row.key] = row
            unique.append(row)
    return unique


def _set_aside_known_keys(rows: list[_Row], scope: str, result: BatchResult) -> list[_Row]:
    """Report ids already stored in this namespace (duplicate or conflict); return the rows still to store.

    Needed before customers are created or changed, which a replay must not do. The keys are
    locked for the transaction first, so two requests replaying one id at once are decided one
    after the other, the second seeing the first's row. The locks are the writer's
    KEY_LOCK_BUCKETS buckets that the keys hash to, taken in order: a 1,000-item batch takes at
    most that many locks (PostgreSQL's lock table is small and shared), and two batches of one
    writer wait for each other only when their keys share a bucket.
    """
    keys = sorted({r.key for r in rows if r.key is not None})
    if not keys:
        return rows
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT pg_advisory_xact_lock(hashtext(%s), bucket) FROM "
                "(SELECT DISTINCT hashtext(k) & %s AS bucket FROM unnest(%s::text[]) AS k ORDER BY bucket) AS buckets",
                [scope, KEY_LOCK_BUCKETS - 1, keys],
            )
    stored = _stored_under(scope, keys)
    fresh: list[_Row] = []
    for row in rows:
        if row.key in stored:
            pk, sent = stored[row.key]
            result.results[row.position] = _replay(row, pk, sent)
        else:
            fresh.append(row)
    return fresh


def _stored_under(scope: str, keys: Collection[str]) -> dict[str, tuple[int, dict | None]]:
    """The experiences (id, sent) already stored under these ids of the writer's namespace, by id."""
    found = ExperienceKey.objects.filter(idempotency_scope=scope, external_id__in=keys)
    return {key: (pk, sent) for key, pk, sent in found.values_list("external_id", "experience_id", "sent")}


def _replay(row: _Row, pk: int | None, sent: dict | None) -> ItemResult:
    """An id sent again: the same payload is a duplicate, a different one a conflict naming what differs."""
    differing = differing_fields(sent, row.sent) if sent is not None else []
    if not differing:
        return ItemResult(status="duplicate", id=pk, key=row.key)
    message = _("differs from what was first sent with this id; nothing was changed (send a new id to record it)")
    return ItemResult(status="conflict", id=pk, key=row.key, errors={name: [message] for name in differing})


def differing_fields(first: Mapping[str, Any], again: Mapping[str, Any]) -> list[str]:
    """Top-level fields (and `customer.<field>`) whose values differ between two sends of one id."""
    differing = []
    for name in sorted(set(first) | set(again)):
        a, b = first.get(name), again.get(name)
        if isinstance(a, Mapping) and isinstance(b, Mapping):
            differing += [f"{name}.{inner}" for inner in differing_fields(a, b)]
        elif a != b or type(a) is not type(b):
            differing.append(name)
    return differing


def _report_repeats(rows: list[_Row], result: BatchResult) -> None:
    """An id repeated within one batch is answered like a replay of its first occurrence."""
    for row in rows:
        if row.repeat_of is not None:
            first = result.results[row.repeat_of.position]
            if first.status in ("accepted", "duplicate", "conflict"):
                result.results[row.position] = _replay(row, first.id, row.repeat_of.sent)
            else:
                result.results[row.position] = ItemResult(status=first.status, key=row.key, errors=first.errors)


def _key_of(item: Any) -> str | None:
    """The item's id as it will be reported: only when it is a usable id."""
    key = item.get("id") if isinstance(item, Mapping) else None
    if isinstance(key, int) and not isinstance(key, bool) and abs(key) < 10**MAX_KEY_LENGTH:
        key = str(key)
    if not isinstance(key, str):
        return None
    key = key.strip()
    return key if key and len(key) <= MAX_KEY_LENGTH and identifier_problem(key) is None else None


def _text(value: Any, *, required: bool = False) -> tuple[str, str | None]:
    """A text field's value and what is wrong with it: a string, storable, empty only when optional."""
    if value is None:
        value = ""
    if not isinstance(value, str):
        return "", _("must be text, got %(value)s") % {"value": shown(value)}
    problem = text_problem(value)
    if problem is None and required and not value.strip():
        problem = _("this field is required")
    return value, problem


def _choice(value: Any, allowed: tuple[str, ...]) -> tuple[str, str | None]:
    """An optional choice: absent, null and "" mean none; anything else must be one of `allowed`."""
    if value is None or value == "" and isinstance(value, str):
        return "", None
    if isinstance(value, str) and value in CHOICE_SETS[allowed]:
        return value, None
    message = _("must be one of %(allowed)s or empty, got %(value)s")
    return "", message % {"allowed": ", ".join(allowed), "value": shown(value)}


def _intensity(value: Any) -> tuple[int, str | None]:
    """1 to 5, default 3; range-checked before any conversion, so 1e400 or a 400-digit number is a message."""
    if value is None or value == "":
        return 3, None
    number: int | None = None
    if isinstance(value, bool):
        number = None
    elif isinstance(value, int):
        number = value if -10 < value < 10 else 10**9
    elif (
        isinstance(value, float)
        and math.isfinite(value)
        and value.is_integer()
        and abs(value) < 10
        or isinstance(value, str)
        and INTENSITY_TEXT.fullmatch(value)
    ):
        number = int(value)
    if number is None:
        return 3, _("must be a whole number from 1 to 5, got %(value)s") % {"value": shown(value)}
    if not 1 <= number <= 5:
        return 3, _("must be 1 to 5, got %(value)s") % {"value": shown(value) if number == 10**9 else number}
    return number, None


def _validate(
    item: Any,
    position: int,
    catalogue: _Catalogue,
    now: datetime,
    zone: tzinfo | None = None,
    reporters: Sequence[int] = (),
) -> tuple[dict[str, list[str]], _Row | None]:
    """Check one item against the catalogue; return its errors or a row ready to store.

    `reporters` are the departments of the person logging (`_reporter_departments`), which
    decide who answers for an item that names no department (`_charged`).

    Every field's type is checked before its value is used, so no input can raise here.
    """
    if not isinstance(item, Mapping):
        return {"non_field_errors": [_("each experience must be an object")]}, None
    errors: dict[str, list[str]] = {}

    def fail(name: str, message: str) -> None:
        errors.setdefault(name, []).append(message)

    if not ITEM_FIELDS.issuperset(item):  # one set operation for the usual item, which has no unknown field
        for unknown in sorted((name for name in item if name not in ITEM_FIELDS), key=str):
            fail(
                printable(str(unknown)),
                _("unknown field; allowed fields are %(fields)s") % {"fields": ", ".join(sorted(ITEM_FIELDS))},
            )

    key = item.get("id")
    if key is None or key == "":
        key = None
    elif isinstance(key, int) and not isinstance(key, bool) and abs(key) < 10**MAX_KEY_LENGTH:
        key = str(key)
    elif not isinstance(key, str):
        fail("id", _("must be a string of at most %(max)d characters") % {"max": MAX_KEY_LENGTH})
        key = None
    if key is not None:
        key = key.strip()
        problem = identifier_problem(key)
        if problem:
            fail("id", problem)
        elif not key:
            fail("id", _("must not be blank; leave it out to send an experience without an id"))
        elif len(key) > MAX_KEY_LENGTH:
            fail("id", _("must be at most %(max)d characters") % {"max": MAX_KEY_LENGTH})

    customer_ref, customer_upsert = _parse_customer(item.get("customer"), fail)

    touchpoint = None
    code = item.get("touchpoint")
    if isinstance(code, Touchpoint):
        code = code.code
    if code is None or code == "":
        fail("touchpoint", _("this field is required: a touchpoint code"))
    elif not isinstance(code, str) or code not in catalogue.touchpoints:
        valid = ", ".join(sorted(catalogue.touchpoints))
        fail(
            "touchpoint",
            _("unknown touchpoint %(code)s; valid codes are: %(valid)s") % {"code": shown(code), "valid": valid},
        )
    else:
        touchpoint = catalogue.touchpoints[code]

    valence = item.get("valence")
    if isinstance(valence, str) and valence.lower() in VALENCE_BY_NAME:
        valence = VALENCE_BY_NAME[valence.lower()]
    elif isinstance(valence, int) and not isinstance(valence, bool) and valence in (-1, 0, 1):
        valence = int(valence)
    elif valence is None or valence == "":
        fail("valence", _("this field is required: positive, neutral or negative"))
    else:
        fail("valence", _("must be positive, neutral or negative, got %(value)s") % {"value": shown(valence)})

    intensity, problem = _intensity(item.get("intensity"))
    if problem:
        fail("intensity", problem)

    stage = item.get("stage")
    if stage is None or stage == "":
        stage = touchpoint.stage if touchpoint else None
    elif not isinstance(stage, str) or stage not in STAGES:
        fail(
            "stage",
            _("must be one of %(allowed)s, got %(value)s")
            % {"allowed": ", ".join(Stage.values), "value": shown(stage)},
        )

    optional: dict[str, str] = {}
    for name, allowed in OPTIONAL_CHOICES:
        optional[name], problem = _choice(item.get(name), allowed)
        if problem:
            fail(name, problem)

    department_id = None
    department = item.get("department")
    if department is not None and department != "" and not isinstance(department, str):
        fail("department", _("must be a department code, got %(value)s") % {"value": shown(department)})
    elif touchpoint is not None:
        owners = catalogue.owner_codes[touchpoint.pk]
        if not department:
            department_id = _charged(owners.values(), catalogue.primary.get(touchpoint.pk), reporters)
            if department_id is None:
                fail(
                    "department",
                    _("touchpoint %(code)r has no primary department; name one") % {"code": touchpoint.code},
                )
        elif department not in owners:
            fail(
                "department",
                _("%(department)s does not own touchpoint %(code)r; its departments are: %(owners)s")
                % {"department": shown(department), "code": touchpoint.code, "owners": ", ".join(sorted(owners))},
            )
        else:
            department_id = owners[department]

    zone = zone or timezone.get_current_timezone()
    occurred_at = _parse_moment(item.get("occurred_at"), now, zone, fail)

    note, problem = _text(item.get("note"))
    if problem:
        fail("note", problem)
    elif len(note) > MAX_NOTE_LENGTH:
        fail(
            "note",
            _("must be at most %(max)d characters, got %(count)d") % {"max": MAX_NOTE_LENGTH, "count": len(note)},
        )

    if errors:
        return errors, None
    # Without errors every required part was found and parsed above.
    assert valence is not None and occurred_at is not None and touchpoint is not None and customer_ref is not None
    i = engine.impact(valence, intensity, optional["outcome"] or None, emotional_share=settings.CXM_EMOTIONAL_SHARE)
    positive, negative = engine.normalised_masses(
        i, occurred_at, settings.CXM_EPOCH, half_life_days=settings.CXM_HALF_LIFE_DAYS
    )
    values = {
        "touchpoint_id": touchpoint.pk,
        "department_id": department_id,
        "stage": stage,
        "valence": valence,
        "intensity": intensity,
        **optional,
        "occurred_at": occurred_at,
        "occurred_on": occurred_at.astimezone(zone).date(),
        "note": note,
        "impact": i,
        "positive_mass_norm": positive,
        "negative_mass_norm": negative,
    }
    row = _Row(
        position=position,
        key=key,
        customer_ref=customer_ref,
        values=values,
        customer_upsert=customer_upsert,
        sent=_as_sent(item),
    )
    return {}, row


def _as_sent(item: Mapping[str, Any]) -> dict[str, Any]:
    """The item as sent, without its id, in JSON: what a replay of the same id is compared with."""
    sent: dict[str, Any] = {}
    for name, value in item.items():
        if name == "id":
            continue
        if isinstance(value, Touchpoint):
            value = value.code
        elif isinstance(value, Customer):
            value = value.external_id
        elif isinstance(value, datetime):
            value = value.isoformat()
        elif isinstance(value, str):
            value = value.strip() if name == "customer" else value
        sent[name] = value
    return sent


def _parse_customer(value: Any, fail) -> tuple[str | None, dict[str, str] | None]:
    """A customer is an external id, a Customer, or an object that creates (or updates) one by external_id."""
    if isinstance(value, Customer):
        return value.external_id, None
    if isinstance(value, Mapping):
        unknown = [name for name in value if name not in CUSTOMER_FIELDS]
        if unknown:
            fail(
                "customer",
                _("unknown customer fields %(fields)s; allowed are external_id, name, email, segment")
                % {"fields": ", ".join(sorted(printable(str(name)) for name in unknown))},
            )
        external_id = _customer_ref(value.get("external_id"), fail, "external_id")
        upsert: dict[str, str] = {}
        for name in ("name", "email", "segment"):
            text, problem = _text(value.get(name))
            text = text.strip()
            limit = customer_field_max_length(name)
            if problem:
                fail("customer", f"{name}: {problem}")
            elif len(text) > limit:
                fail("customer", _("%(name)s must be at most %(max)d characters") % {"name": name, "max": limit})
            elif text:
                upsert[name] = text
        if "email" in upsert:
            try:
                validate_email(upsert["email"])
            except ValidationError:
                fail(
                    "customer", _("email must be an e-mail address, got %(value)s") % {"value": shown(upsert["email"])}
                )
        return external_id, upsert
    if value is None or value == "":
        fail("customer", _("this field is required: an external id, or an object with external_id and name"))
        return None, None
    return _customer_ref(value, fail), None


def _customer_ref(value: Any, fail, name: str = "") -> str | None:
    """An external id: text (or a whole number) of 1 to 100 characters, trimmed."""
    prefix = f"{name}: " if name else ""
    if isinstance(value, int) and not isinstance(value, bool) and abs(value) < 10**MAX_CUSTOMER_REF_LENGTH:
        value = str(value)
    if not isinstance(value, str):
        fail("customer", prefix + _("must be an external id (text), got %(value)s") % {"value": shown(value)})
        return None
    ref = value.strip()
    problem = text_problem(ref) or (None if ref else _("is required: the customer's id in the CRM"))
    if problem is None and len(ref) > MAX_CUSTOMER_REF_LENGTH:
        problem = _("must be at most %(max)d characters") % {"max": MAX_CUSTOMER_REF_LENGTH}
    if problem:
        fail("customer", prefix + problem)
        return None
    return ref


def _parse_moment(value: Any, now: datetime, zone: tzinfo, fail) -> datetime | None:
    """ISO 8601; without an offset it is read in the company's time zone; at most a few minutes ahead."""
    if value is None or value == "":
        return now
    moment = value if isinstance(value, datetime) else None
    if isinstance(value, str):
        try:
            moment = parse_datetime(value.strip())
        except ValueError:
            moment = None
    if moment is None:
        fail(
            "occurred_at",
            _("must be an ISO 8601 date and time such as 2026-03-01T14:30:00Z, got %(value)s")
            % {"value": shown(value)},
        )
        return None
    try:
        # In UTC, so that PostgreSQL never sees an offset it cannot store (it allows at most ±15:59).
        moment = (timezone.make_aware(moment, zone) if timezone.is_naive(moment) else moment).astimezone(UTC)
        moment.astimezone(zone)
    except (OverflowError, ValueError):
        fail("occurred_at", _("is out of range, got %(value)s") % {"value": shown(value)})
        return None
    limit = now + timedelta(minutes=settings.CXM_MAX_FUTURE_MINUTES)
    if moment > limit:
        fail(
            "occurred_at",
            _("is in the future: at most %(minutes)d minutes ahead is allowed")
            % {"minutes": settings.CXM_MAX_FUTURE_MINUTES},
        )
        return None
    return moment


def _resolve_customers(rows: list[_Row], *, may_change_customers: bool) -> dict[int, str]:
    """Give each row its customer id, creating the customers sent as new objects.

    Customers are inserted and updated in one stable order (sorted external ids, then ids), so
    two batches writing the same customers wait for each other instead of deadlocking.

    Returns the positions of the rows to reject, with why: an unknown customer, or a change to
    an existing customer's name, e-mail or segment when the writer may not change customers.
    """
    refs = {r.customer_ref for r in rows}
    if not refs:
        return {}
    existing = {c.external_id: c for c in Customer.objects.filter(external_id__in=refs)}
    first_sent: dict[str, dict[str, str]] = {}
    for row in rows:
        if row.customer_upsert is not None and row.customer_ref not in existing:
            first_sent.setdefault(row.customer_ref, row.customer_upsert)
    if first_sent:
        Customer.objects.bulk_create(
            [
                Customer(
                    external_id=ref,
                    name=data.get("name") or ref,
                    email=data.get("email", ""),
                    segment=data.get("segment", ""),
                )
                for ref, data in sorted(first_sent.items())
            ],
            ignore_conflicts=True,
        )
        existing.update({c.external_id: c for c in Customer.objects.filter(external_id__in=first_sent)})
    refused: dict[int, str] = {}
    changed: dict[int, Customer] = {}
    moved = set()  # customers given a new segment: the rollups of their past days must follow
    for row in rows:
        customer = existing.get(row.customer_ref)
        if customer is None:
            refused[row.position] = _unknown_customer(row.customer_ref)
            continue
        row.values["customer_id"] = customer.pk
        differing = [k for k, v in (row.customer_upsert or {}).items() if getattr(customer, k) != v]
        if not differing:
            continue
        if not may_change_customers:
            refused[row.position] = _(
                "would change the existing customer's %(fields)s, which needs the customers:write scope; "
                "send only the external id (or the customer's current values)"
            ) % {"fields": ", ".join(differing)}
            continue
        if "segment" in differing:
            moved.add(customer.pk)
        sent = row.customer_upsert or {}
        for k in differing:
            setattr(customer, k, sent[k])
        changed[customer.pk] = customer
    if changed:
        ordered = [changed[pk] for pk in sorted(changed)]
        locked = Customer.objects.select_for_update(no_key=True).filter(pk__in=sorted(changed)).order_by("pk")
        list(locked.values_list("pk", flat=True))
        Customer.objects.bulk_update(ordered, ["name", "email", "segment"])
    segments_changed(customer_ids=moved)
    return refused


def _reporter_departments(recorded_by) -> list[int]:
    """The active departments of the person logging, by name; one query, none for API keys and imports."""
    if recorded_by is None or not getattr(recorded_by, "pk", None):
        return []
    return list(recorded_by.departments.filter(active=True).order_by("name").values_list("pk", flat=True))


def _charged(owners: Collection[int], primary: int | None, reporters: Sequence[int]) -> int | None:
    """Who answers for an entry that names no department: the touchpoint's primary owner, unless the
    person logging belongs to a co-owning department and not to the primary: then theirs (the first
    by name). Imports and API keys have no departments, so theirs go to the primary owner."""
    if not reporters or primary in reporters:
        return primary
    return next((pk for pk in reporters if pk in owners), primary)


def _reported_from(reporter_departments: list[int], charged_to: int) -> int | None:
    """Which of the logger's departments noticed it: the charged one when the logger belongs to it."""
    if charged_to in reporter_departments:
        return charged_to
    return reporter_departments[0] if reporter_departments else None


def _write(
    rows: list[_Row],
    source: str,
    scope: str,
    writer: dict[str, Any],
    now: datetime,
    catalogue: _Catalogue,
    result: BatchResult,
) -> list[_Row] | None:
    """Store the rows with what must follow them; return the rows stored, or None if the catalogue changed.

    On PostgreSQL one statement (WRITE_SQL) checks the catalogue's version, finds the customers,
    inserts, marks customers and days for rescoring and leaves one outbox row for the cases and
    webhook events: the request's write is one round trip, and the follow-ups commit with it.
    """
    if not rows:
        return []
    if connection.vendor != "postgresql":
        return _write_portable(rows, source, scope, writer, now, result)
    reporter_departments = writer["reporter_departments"]
    values = [row.values for row in rows]
    columns: dict[str, list[Any]] = {name: [v[name] for v in values] for name in ROW_VALUES}
    columns["occurred_at"] = [v["occurred_at"].isoformat() for v in values]
    columns["occurred_on"] = [v["occurred_on"].isoformat() for v in values]
    columns["customer_ref"] = [row.customer_ref for row in rows]
    columns["external_id"] = [row.key for row in rows]
    columns["sent"] = [row.sent if row.key is not None else None for row in rows]
    columns["reported_from_department_id"] = [_reported_from(reporter_departments, v["department_id"]) for v in values]
    params = {
        **column_params(columns),
        "version": catalogue.version,
        "source": source,
        "idempotency_scope": scope,
        "scope": scope,
        "recorded_by_id": writer["recorded_by_id"],
        "api_key_id": writer["api_key_id"],
        "created_at": now,
        "handler": FOLLOW_UP,
        "recorded_event": Event.EXPERIENCE_RECORDED,
    }
    with connection.cursor() as cursor:
        WRITE.execute(cursor, params)
        returned = cursor.fetchall()
    if returned and returned[0][5] != catalogue.version:
        return None
    stored, lost = [], []
    for (_ord, pk, customer_id, stored_pk, stored_sent, _version), row in zip(returned, rows, strict=True):
        if pk is not None:
            result.results[row.position] = ItemResult(status="accepted", id=pk, key=row.key)
            stored.append(row)
        elif stored_pk is not None:
            result.results[row.position] = _replay(row, stored_pk, json.loads(stored_sent))
        elif customer_id is None:
            result.results[row.position] = ItemResult(
                status="rejected", key=row.key, errors={"customer": [_unknown_customer(row.customer_ref)]}
            )
        else:
            lost.append(row)  # its id was stored by a request that committed while this one ran
    _report_lost(lost, scope, result)
    if stored:
        wake_after_commit()
    return stored


# The per-row columns of WRITE_SQL and their types. The rows travel column by column, each column one
# JSON array, zipped back into rows by PostgreSQL (ROWS FROM … WITH ORDINALITY): half the bytes of an
# array of objects, which repeats every name in every row, and half its parsing (docs/performance.md);
# a parameter per value would be parsed as thousands of literals.
ROW_COLUMNS = (
    ("customer_ref", "text"),
    ("touchpoint_id", "bigint"),
    ("department_id", "bigint"),
    ("stage", "text"),
    ("valence", "smallint"),
    ("intensity", "smallint"),
    ("emotion", "text"),
    ("expectation", "text"),
    ("outcome", "text"),
    ("occurred_at", "timestamptz"),
    ("occurred_on", "date"),
    ("external_id", "text"),
    ("sent", "jsonb"),
    ("reported_from_department_id", "bigint"),
    ("note", "text"),
    ("impact", "float8"),
    ("positive_mass_norm", "float8"),
    ("negative_mass_norm", "float8"),
)
# The columns taken as they are from a validated row's values.
ROW_VALUES = (
    "touchpoint_id",
    "department_id",
    *EXPERIENCE_FIELDS,
    "note",
    "impact",
    "positive_mass_norm",
    "negative_mass_norm",
)
# The rows as WRITE_SQL reads them (`u`, typed, with their ordinal `ord`), from `column_params`.
ROWS_SQL = f"""(
    SELECT u.ord, {", ".join(f"u.{name}::{kind} AS {name}" for name, kind in ROW_COLUMNS)}
    FROM ROWS FROM ({", ".join(f"json_array_elements_text(%(column_{name})s::json)" for name, _kind in ROW_COLUMNS)})
        WITH ORDINALITY AS u({", ".join(name for name, _kind in ROW_COLUMNS)}, ord)
) AS u"""
FOLLOW_UP = "experiences.services.follow_up"
_PER_ROW = {name for name, _type in ROW_COLUMNS}


def column_params(columns: Mapping[str, Sequence[Any]]) -> dict[str, str]:
    """ROWS_SQL's parameters: each of ROW_COLUMNS' values, in row order, as one JSON array."""
    return {f"column_{name}": json.dumps(columns[name]) for name, _kind in ROW_COLUMNS}


# Rows become ids by an explicit ordinal: each row draws its id from the sequence first (`r`),
# and the answer joins the inserted ids back to the rows, never relying on RETURNING's order.
# A row with an idempotency key is stored only if its key is claimed (`claimed`): the keys' own
# table is unique across every month of the partitioned experience table. The statement's snapshot
# also finds the rows already stored under the same ids (replays), from the keys' table alone.
WRITE_SQL = f"""
WITH version AS MATERIALIZED ({CATALOGUE_VERSION_SQL} AS version),
r AS MATERIALIZED (
    SELECT nextval('experiences_experience_id_seq'::regclass) AS id, u.*, c.id AS customer_id
    FROM {ROWS_SQL}
    -- One index lookup per row (LIMIT 1 keeps the planner from hashing the whole customers table)
    LEFT JOIN LATERAL (
        SELECT id FROM customers_customer WHERE external_id = u.customer_ref LIMIT 1
    ) AS c ON true
),
claimed AS (
    INSERT INTO experiences_experiencekey (idempotency_scope, external_id, experience_id, sent)
    SELECT %(scope)s, r.external_id, r.id, r.sent
    FROM r CROSS JOIN version
    WHERE r.external_id IS NOT NULL AND r.customer_id IS NOT NULL AND version.version = %(version)s
    ORDER BY r.ord
    ON CONFLICT DO NOTHING
    RETURNING experience_id
),
inserted AS (
    INSERT INTO experiences_experience (id, {", ".join(INSERT_COLUMNS)})
    SELECT r.id, {", ".join(f"r.{c}" if c in _PER_ROW or c == "customer_id" else f"%({c})s" for c in INSERT_COLUMNS)}
    FROM r CROSS JOIN version
    WHERE r.customer_id IS NOT NULL AND version.version = %(version)s
        AND (r.external_id IS NULL OR r.id IN (SELECT experience_id FROM claimed))
    ORDER BY r.ord
    RETURNING id, customer_id, occurred_on, valence
),
customer_marks AS (
    INSERT INTO scoring_customermark (customer_id) SELECT DISTINCT customer_id FROM inserted
),
day_marks AS (
    INSERT INTO scoring_daymark (day) SELECT DISTINCT occurred_on FROM inserted
),
follow_up AS (
    INSERT INTO outbox_outboxtask (handler, kwargs, due_at, attempts, created_at)
    SELECT %(handler)s, jsonb_build_object('experience_ids', jsonb_agg(id ORDER BY id)), %(created_at)s, 0,
        %(created_at)s
    FROM inserted
    WHERE valence < 0 OR EXISTS (
        SELECT FROM integrations_webhooksubscription WHERE active AND events ? %(recorded_event)s
    )
    HAVING count(*) > 0
)
SELECT r.ord, inserted.id, r.customer_id, known.id, known.sent::text, version.version
FROM r CROSS JOIN version
LEFT JOIN inserted ON inserted.id = r.id
-- One index lookup per row not inserted (a writer's namespace may hold millions of ids)
LEFT JOIN LATERAL (
    SELECT k.experience_id AS id, k.sent FROM experiences_experiencekey AS k
    WHERE inserted.id IS NULL
        AND k.idempotency_scope = %(scope)s AND k.external_id = r.external_id AND k.experience_id <> r.id
    LIMIT 1
) AS known ON true
ORDER BY r.ord
"""
WRITE = Prepared("cxm_write_experiences", WRITE_SQL)


def follow_up(*, experience_ids: Sequence[int]) -> None:
    """What follows newly recorded experiences, run by a worker from their outbox row: the case rules
    for the negatives, and the webhook events (experience.negative, and experience.recorded for
    the subscriptions that name it)."""
    from feedback.services import open_cases  # feedback records experiences too: import late

    open_cases(experience_ids=experience_ids)
    publish_experience_events(experience_ids=experience_ids)


def _unknown_customer(ref: str) -> str:
    return _("unknown customer %(ref)s: send an object with external_id and name to create it") % {"ref": shown(ref)}


def _report_lost(rows: list[_Row], scope: str, result: BatchResult) -> None:
    """Ids another request stored while this one was under way are decided like any replay."""
    if not rows:
        return
    by_key = _stored_under(scope, [r.key for r in rows if r.key is not None])
    for row in rows:
        if row.key in by_key:
            result.results[row.position] = _replay(row, *by_key[row.key])


def _write_portable(
    rows: list[_Row], source: str, scope: str, writer: dict[str, Any], now: datetime, result: BatchResult
) -> list[_Row]:
    """The same write for SQLite (`make run`): known ids were set aside under the transaction, so every
    row is new; then the rescore marks and the outbox row."""
    experiences = Experience.objects.bulk_create(
        [
            Experience(
                **row.values,
                source=source,
                external_id=row.key,
                idempotency_scope=scope,
                recorded_by_id=writer["recorded_by_id"],
                reported_from_department_id=_reported_from(writer["reporter_departments"], row.values["department_id"]),
                api_key_id=writer["api_key_id"],
                created_at=now,
            )
            for row in rows
        ]
    )
    ExperienceKey.objects.bulk_create(
        ExperienceKey(idempotency_scope=scope, external_id=row.key, experience=e, sent=row.sent)
        for row, e in zip(rows, experiences, strict=True)
        if row.key is not None
    )
    for row, experience in zip(rows, experiences, strict=True):
        result.results[row.position] = ItemResult(status="accepted", id=experience.pk, key=row.key)
    mark_for_rescore(customer_ids={r.values["customer_id"] for r in rows}, days={r.values["occurred_on"] for r in rows})
    if any(r.values["valence"] < 0 for r in rows) or has_subscribers(Event.EXPERIENCE_RECORDED):
        outbox.record(handler=FOLLOW_UP, experience_ids=sorted(e.pk for e in experiences))
    return rows


# Corrections and voids ----------------------------------------------------------------------

CORRECTABLE = ("touchpoint", "valence", "intensity", "emotion", "expectation", "outcome", "note")


class ChangeRefused(ValueError):
    """A correction or void the person may not make, with the reason (shown to them)."""


def may_change(*, experience: Experience, by, now: datetime | None = None) -> bool:
    """The logger within the window (CXM_CORRECTION_WINDOW_HOURS), or a CX admin at any time."""
    if getattr(by, "is_cx_admin", False):
        return True
    window = timedelta(hours=settings.CXM_CORRECTION_WINDOW_HOURS)
    return experience.recorded_by_id == by.pk and (now or timezone.now()) - experience.created_at <= window


def _snapshot(experience: Experience, fields: Sequence[str]) -> dict[str, Any]:
    values = {}
    for name in fields:
        value = getattr(experience, f"{name}_id" if name in ("touchpoint", "department", "customer") else name)
        values[name] = value.isoformat() if hasattr(value, "isoformat") else value
    if "touchpoint" in fields:
        values["touchpoint"] = experience.touchpoint.code
    return values


def correct_experience(
    *, experience: Experience, by, changes: Mapping[str, Any], now: datetime | None = None
) -> dict[str, list[str]]:
    """Correct a wrong pick through the same checks as a new experience; the customer is re-scored.

    Returns field errors (nothing stored) or {} once the correction is committed. The charged
    department follows the touchpoint, as when it was logged.
    """
    now = now or timezone.now()
    if not may_change(experience=experience, by=by, now=now):
        raise ChangeRefused(
            _("Only the person who logged it may correct it, within %(hours)s hours.")
            % {"hours": settings.CXM_CORRECTION_WINDOW_HOURS}
        )
    before = _snapshot(experience, CORRECTABLE)
    item = {**before, **{k: v for k, v in changes.items() if k in (*CORRECTABLE, "department")}}
    item |= {"customer": experience.customer.external_id, "occurred_at": experience.occurred_at.isoformat()}
    item["valence"] = {-1: "negative", 0: "neutral", 1: "positive"}.get(item["valence"], item["valence"])
    errors, row = _validate(item, 0, _Catalogue(), now, reporters=_reporter_departments(by))
    if errors or row is None:
        return errors
    with transaction.atomic():
        old_day = experience.occurred_on
        Experience.objects.filter(pk=experience.pk).update(**row.values)
        experience.refresh_from_db()
        after = _snapshot(experience, CORRECTABLE)
        changed = [name for name in CORRECTABLE if before[name] != after[name]]
        ExperienceChange.objects.create(
            experience_id_then=experience.pk,
            experience=experience,
            customer_id=experience.customer_id,
            kind=ChangeKind.CORRECTED,
            by=by,
            at=now,
            before={n: before[n] for n in changed},
            after={n: after[n] for n in changed},
        )
        mark_for_rescore(customer_ids={experience.customer_id}, days={old_day, experience.occurred_on})
    return {}


def void_experience(*, experience: Experience, by, reason: str = "", now: datetime | None = None) -> None:
    """Take a wrong entry back: it leaves every score and report, its history stays.

    Staff void what they logged within the window; CX admins any experience, with a reason. An
    open case it caused goes with it (it followed a moment that did not happen); a survey
    answer's experience is the customer's own word and is not voided here.
    """
    from feedback.models import Case, Response  # feedback builds on experiences: import late

    now = now or timezone.now()
    reason = (reason or "").strip()
    if not may_change(experience=experience, by=by, now=now):
        raise ChangeRefused(
            _("Only the person who logged it may void it, within %(hours)s hours.")
            % {"hours": settings.CXM_CORRECTION_WINDOW_HOURS}
        )
    if experience.recorded_by_id != by.pk and not reason:
        raise ChangeRefused(_("Say why you void someone else's experience."))
    if Response.objects.filter(experience=experience).exists():
        raise ChangeRefused(_("This experience is a customer's survey answer; it cannot be voided."))
    with transaction.atomic():
        case = Case.objects.filter(experience=experience).first()
        if case is not None and case.status != "open":
            raise ChangeRefused(_("Its recovery case is already resolved; the moment stays on record."))
        ExperienceChange.objects.create(
            experience_id_then=experience.pk,
            customer_id=experience.customer_id,
            kind=ChangeKind.VOIDED,
            by=by,
            at=now,
            reason=reason,
            before=_snapshot(experience, (*CORRECTABLE, "department", "occurred_at", "source")),
        )
        if case is not None:
            case.delete()
        Experience.objects.filter(pk=experience.pk).delete()
        mark_for_rescore(customer_ids={experience.customer_id}, days={experience.occurred_on})
