"""The one write path: every experience, from every source, enters through `record_experiences`."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any, NamedTuple

from django.conf import settings
from django.db import connection, transaction
from django.utils import timezone
from django.utils.dateparse import parse_datetime
from django.utils.translation import gettext as _

from customers.models import EMAIL_MAX_LENGTH, EXTERNAL_ID_MAX_LENGTH, NAME_MAX_LENGTH, Customer
from customers.services import segments_changed
from integrations.services import publish_negative_experiences
from scoring import engine
from scoring.services import mark_for_rescore
from touchpoints.models import Stage, Touchpoint

from .models import EXPERIENCE_FIELDS, ChangeKind, Emotion, Expectation, Experience, ExperienceChange, Outcome, Source

ITEM_FIELDS = frozenset({"id", "customer", "touchpoint", *EXPERIENCE_FIELDS, "department", "occurred_at", "note"})
VALENCE_BY_NAME = {"negative": -1, "neutral": 0, "positive": 1}
MAX_KEY_LENGTH = 100
MAX_NOTE_LENGTH = 4000
INSERT_CHUNK = 500
INSERT_COLUMNS = (
    "customer_id",
    "touchpoint_id",
    "department_id",
    *EXPERIENCE_FIELDS,
    "occurred_at",
    "occurred_on",
    "source",
    "external_id",
    "recorded_by_id",
    "reported_from_department_id",
    "note",
    "impact",
    "positive_mass_norm",
    "negative_mass_norm",
    "created_at",
)


@dataclass
class ItemResult:
    """What became of one item, reported in request order."""

    status: str  # "accepted" | "duplicate" | "rejected"
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
    def rejected(self) -> int:
        return self.count("rejected")


class _CatalogueTouchpoint(NamedTuple):
    pk: int
    code: str
    stage: str


class _Catalogue:
    """Active touchpoints with their active owning departments, read in one query per batch."""

    def __init__(self) -> None:
        self.touchpoints: dict[str, _CatalogueTouchpoint] = {}
        self.owner_codes: dict[int, dict[str, int]] = {}
        self.primary: dict[int, int] = {}
        rows = Touchpoint.objects.filter(active=True).values_list(
            "pk",
            "code",
            "stage",
            "owners__department_id",
            "owners__department__code",
            "owners__department__active",
            "owners__primary",
        )
        for pk, code, stage, department_id, department_code, department_active, primary in rows:
            self.touchpoints.setdefault(code, _CatalogueTouchpoint(pk, code, stage))
            owners = self.owner_codes.setdefault(pk, {})
            if department_id is not None and department_active:
                owners[department_code] = department_id
                if primary:
                    self.primary[pk] = department_id


@dataclass
class _Row:
    """A validated item, waiting for its customer id."""

    position: int
    key: str | None
    customer_ref: str
    values: dict[str, Any]


def record_experiences(
    *, items: Sequence[Mapping[str, Any]], source: str, recorded_by=None, now: datetime | None = None
) -> BatchResult:
    """Validate, store in bulk and queue scoring for a batch of experiences.

    An invalid item is reported with field errors and never costs its valid neighbours; a
    known idempotency key (`id`, unique per source) is reported as a duplicate with the
    existing experience's id. Everything accepted is committed before this returns.
    """
    if source not in Source.values:
        raise ValueError(f"unknown source {source!r}")
    now = now or timezone.now()
    catalogue = _Catalogue()
    result = BatchResult(results=[ItemResult(status="rejected") for _ in items])
    rows: list[_Row] = []
    upserts: dict[str, dict[str, str]] = {}
    for position, item in enumerate(items):
        errors, row, customer_upsert = _validate(item, position, catalogue, now)
        if errors:
            result.results[position] = ItemResult(status="rejected", key=_key_of(item), errors=errors)
            continue
        assert row is not None  # an item without errors always has its row
        if customer_upsert is not None:
            upserts.setdefault(row.customer_ref, {}).update(customer_upsert)
        rows.append(row)

    with transaction.atomic():
        customer_ids = _resolve_customers({r.customer_ref for r in rows}, upserts)
        accepted_rows = []
        for row in rows:
            customer_id = customer_ids.get(row.customer_ref)
            if customer_id is None:
                result.results[row.position] = ItemResult(
                    status="rejected",
                    key=row.key,
                    errors={
                        "customer": [
                            _("unknown customer %(ref)r: send an object with external_id and name to create it")
                            % {"ref": row.customer_ref}
                        ]
                    },
                )
                continue
            row.values["customer_id"] = customer_id
            accepted_rows.append(row)
        _insert(accepted_rows, source, recorded_by, now, result)
        stored = [r for r in accepted_rows if result.results[r.position].status == "accepted"]
        negative_ids = [
            pk for r in stored if r.values["valence"] < 0 and (pk := result.results[r.position].id) is not None
        ]
        publish_negative_experiences(experience_ids=negative_ids)
        mark_for_rescore(
            customer_ids={r.values["customer_id"] for r in stored},
            days={r.values["occurred_on"] for r in stored},
        )
        if negative_ids:
            from feedback.services import request_cases  # feedback records experiences too: import late

            request_cases(experience_ids=negative_ids)
    return result


def _key_of(item: Mapping[str, Any]) -> str | None:
    key = item.get("id") if isinstance(item, Mapping) else None
    return str(key) if key not in (None, "") else None


def _validate(
    item: Mapping[str, Any], position: int, catalogue: _Catalogue, now: datetime
) -> tuple[dict[str, list[str]], _Row | None, dict[str, str] | None]:
    """Check one item against the catalogue; return its errors or a row ready to store."""
    if not isinstance(item, Mapping):
        return {"non_field_errors": ["each experience must be an object"]}, None, None
    errors: dict[str, list[str]] = {}

    def fail(name: str, message: str) -> None:
        errors.setdefault(name, []).append(message)

    for unknown in sorted(set(item) - ITEM_FIELDS):
        fail(unknown, _("unknown field; allowed fields are %(fields)s") % {"fields": ", ".join(sorted(ITEM_FIELDS))})

    key = item.get("id")
    if key in (None, ""):
        key = None
    elif not isinstance(key, (str, int)) or isinstance(key, bool):
        fail("id", _("must be a string"))
    elif len(str(key)) > MAX_KEY_LENGTH:
        fail("id", _("must be at most %(max)d characters") % {"max": MAX_KEY_LENGTH})
    key = str(key) if key is not None else None

    customer_ref, customer_upsert = _parse_customer(item.get("customer"), fail)

    touchpoint = None
    code = item.get("touchpoint")
    if isinstance(code, Touchpoint):
        code = code.code
    if code in (None, ""):
        fail("touchpoint", _("this field is required: a touchpoint code"))
    elif not isinstance(code, str) or code not in catalogue.touchpoints:
        valid = ", ".join(sorted(catalogue.touchpoints))
        fail(
            "touchpoint", _("unknown touchpoint %(code)r; valid codes are: %(valid)s") % {"code": code, "valid": valid}
        )
    else:
        touchpoint = catalogue.touchpoints[code]

    valence = item.get("valence")
    if isinstance(valence, str) and valence.lower() in VALENCE_BY_NAME:
        valence = VALENCE_BY_NAME[valence.lower()]
    elif valence in (-1, 0, 1) and not isinstance(valence, bool):
        valence = int(valence)
    elif valence in (None, ""):
        fail("valence", _("this field is required: positive, neutral or negative"))
    else:
        fail("valence", _("must be positive, neutral or negative, got %(value)r") % {"value": valence})

    intensity = item.get("intensity")
    if intensity in (None, ""):
        intensity = 3
    else:
        try:
            parsed = int(intensity)
            if isinstance(intensity, bool) or parsed != float(intensity):
                raise ValueError
            intensity = parsed
        except (TypeError, ValueError):
            fail("intensity", _("must be a whole number from 1 to 5, got %(value)r") % {"value": intensity})
        else:
            if not 1 <= intensity <= 5:
                fail("intensity", _("must be 1 to 5, got %(value)s") % {"value": intensity})

    stage = item.get("stage") or (touchpoint.stage if touchpoint else None)
    if stage is not None and stage not in Stage.values:
        fail(
            "stage",
            _("must be one of %(allowed)s, got %(value)r") % {"allowed": ", ".join(Stage.values), "value": stage},
        )

    choices = {"emotion": Emotion.values, "expectation": Expectation.values, "outcome": Outcome.values}
    optional: dict[str, str] = {}
    for name, allowed in choices.items():
        value = item.get(name) or ""
        if value and value not in allowed:
            fail(
                name,
                _("must be one of %(allowed)s or empty, got %(value)r")
                % {"allowed": ", ".join(allowed), "value": value},
            )
        optional[name] = value

    department_id = None
    if touchpoint is not None:
        owners = catalogue.owner_codes[touchpoint.pk]
        department = item.get("department")
        if department in (None, ""):
            department_id = catalogue.primary.get(touchpoint.pk)
            if department_id is None:
                fail(
                    "department",
                    _("touchpoint %(code)r has no primary department; name one") % {"code": touchpoint.code},
                )
        elif department not in owners:
            fail(
                "department",
                _("%(department)r does not own touchpoint %(code)r; its departments are: %(owners)s")
                % {"department": department, "code": touchpoint.code, "owners": ", ".join(sorted(owners))},
            )
        else:
            department_id = owners[department]

    occurred_at = _parse_moment(item.get("occurred_at"), now, fail)

    note = item.get("note") or ""
    if not isinstance(note, str):
        fail("note", _("must be text"))
    elif len(note) > MAX_NOTE_LENGTH:
        fail(
            "note",
            _("must be at most %(max)d characters, got %(count)d") % {"max": MAX_NOTE_LENGTH, "count": len(note)},
        )

    if errors:
        return errors, None, None
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
        "occurred_on": timezone.localdate(occurred_at),
        "note": note,
        "impact": i,
        "positive_mass_norm": positive,
        "negative_mass_norm": negative,
    }
    return {}, _Row(position=position, key=key, customer_ref=customer_ref, values=values), customer_upsert


def _parse_customer(value: Any, fail) -> tuple[str | None, dict[str, str] | None]:
    """A customer is an external id, a Customer, or an object to upsert by external_id."""
    if isinstance(value, Customer):
        return value.external_id, None
    if isinstance(value, (str, int)) and not isinstance(value, bool) and str(value).strip():
        return str(value).strip(), None
    if isinstance(value, Mapping):
        external_id = str(value.get("external_id") or "").strip()
        if not external_id:
            fail("customer", _("external_id is required in a customer object"))
            return None, None
        unknown = set(value) - {"external_id", "name", "email", "segment"}
        if unknown:
            fail(
                "customer",
                _("unknown customer fields %(fields)s; allowed are external_id, name, email, segment")
                % {"fields": ", ".join(sorted(unknown))},
            )
        upsert = {k: str(value[k]).strip() for k in ("name", "email", "segment") if value.get(k)}
        if len(upsert.get("name", "")) > NAME_MAX_LENGTH or len(external_id) > EXTERNAL_ID_MAX_LENGTH:
            fail(
                "customer",
                _("name must be at most %(name)d and external_id at most %(external_id)d characters")
                % {"name": NAME_MAX_LENGTH, "external_id": EXTERNAL_ID_MAX_LENGTH},
            )
        if "email" in upsert and ("@" not in upsert["email"] or len(upsert["email"]) > EMAIL_MAX_LENGTH):
            fail("customer", _("email must be an e-mail address, got %(value)r") % {"value": upsert["email"]})
        return external_id, upsert
    fail("customer", _("this field is required: an external id, or an object with external_id and name"))
    return None, None


def _parse_moment(value: Any, now: datetime, fail) -> datetime | None:
    """ISO 8601; without an offset it is read in the company's time zone; at most a few minutes ahead."""
    if value in (None, ""):
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
            _("must be an ISO 8601 date and time such as 2026-03-01T14:30:00Z, got %(value)r") % {"value": value},
        )
        return None
    try:
        # In UTC, so that PostgreSQL never sees an offset it cannot store (it allows at most ±15:59).
        moment = (timezone.make_aware(moment) if timezone.is_naive(moment) else moment).astimezone(UTC)
        timezone.localtime(moment)
    except (OverflowError, ValueError):
        fail("occurred_at", _("is out of range, got %(value)r") % {"value": value})
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


def _resolve_customers(refs: set[str], upserts: dict[str, dict[str, str]]) -> dict[str, int]:
    """Map external ids to customer ids, creating or updating the customers sent as objects.

    Customers are inserted and updated in one stable order (sorted external ids, then ids), so
    two batches writing the same customers wait for each other instead of deadlocking.
    """
    if not refs:
        return {}
    existing = {c.external_id: c for c in Customer.objects.filter(external_id__in=refs)}
    to_create = [
        Customer(
            external_id=ref, name=data.get("name") or ref, email=data.get("email", ""), segment=data.get("segment", "")
        )
        for ref, data in sorted(upserts.items())
        if ref not in existing
    ]
    if to_create:
        Customer.objects.bulk_create(to_create, ignore_conflicts=True)
        existing.update(
            {c.external_id: c for c in Customer.objects.filter(external_id__in=[c.external_id for c in to_create])}
        )
    changed = []
    moved = []  # customers given a new segment: the rollups of their past days must follow
    for ref, data in upserts.items():
        customer = existing.get(ref)
        if customer is None:
            continue
        if data.get("segment", customer.segment) != customer.segment:
            moved.append(customer.pk)
        if any(getattr(customer, k) != v for k, v in data.items()):
            for k, v in data.items():
                setattr(customer, k, v)
            changed.append(customer)
    if changed:
        changed.sort(key=lambda c: c.pk)
        locked = Customer.objects.select_for_update(no_key=True).filter(pk__in=[c.pk for c in changed]).order_by("pk")
        list(locked.values_list("pk", flat=True))
        Customer.objects.bulk_update(changed, ["name", "email", "segment"])
    segments_changed(customer_ids=moved)
    return {ref: c.pk for ref, c in existing.items()}


def _reporter_departments(recorded_by) -> list[int]:
    """The active departments of the person logging, by name; one query, none for API keys and imports."""
    if recorded_by is None or not getattr(recorded_by, "pk", None):
        return []
    return list(recorded_by.departments.filter(active=True).order_by("name").values_list("pk", flat=True))


def _reported_from(reporter_departments: list[int], charged_to: int) -> int | None:
    """Which of the logger's departments noticed it: the charged one when the logger belongs to it."""
    if charged_to in reporter_departments:
        return charged_to
    return reporter_departments[0] if reporter_departments else None


def _insert(rows: list[_Row], source: str, recorded_by, now: datetime, result: BatchResult) -> None:
    """Insert in chunks with ON CONFLICT DO NOTHING, so that racing duplicates are caught by the database."""
    first_by_key: dict[str, _Row] = {}
    unique_rows = []
    repeats: list[_Row] = []
    for row in rows:
        if row.key is not None and row.key in first_by_key:
            repeats.append(row)
        else:
            if row.key is not None:
                first_by_key[row.key] = row
            unique_rows.append(row)

    ops = connection.ops
    recorded_by_id = getattr(recorded_by, "pk", None)
    reporter_departments = _reporter_departments(recorded_by)
    table = ops.quote_name(Experience._meta.db_table)
    columns = ", ".join(ops.quote_name(c) for c in INSERT_COLUMNS)
    placeholders = "(" + ", ".join(["%s"] * len(INSERT_COLUMNS)) + ")"
    created_at = ops.adapt_datetimefield_value(now)
    ids_by_key: dict[str, int] = {}
    with connection.cursor() as cursor:
        for start in range(0, len(unique_rows), INSERT_CHUNK):
            chunk = unique_rows[start : start + INSERT_CHUNK]
            params: list[Any] = []
            for row in chunk:
                v = row.values
                params += [
                    v["customer_id"],
                    v["touchpoint_id"],
                    v["department_id"],
                    *(v[name] for name in EXPERIENCE_FIELDS),
                    ops.adapt_datetimefield_value(v["occurred_at"]),
                    ops.adapt_datefield_value(v["occurred_on"]),
                    source,
                    row.key,
                    recorded_by_id,
                    _reported_from(reporter_departments, v["department_id"]),
                    v["note"],
                    v["impact"],
                    v["positive_mass_norm"],
                    v["negative_mass_norm"],
                    created_at,
                ]
            cursor.execute(
                f"INSERT INTO {table} ({columns}) VALUES {', '.join([placeholders] * len(chunk))} "
                f"ON CONFLICT (source, external_id) WHERE external_id IS NOT NULL DO NOTHING "
                f"RETURNING id, external_id",
                params,
            )
            returned = cursor.fetchall()
            keyless = iter([pk for pk, key in returned if key is None])
            for pk, key in returned:
                if key is not None:
                    ids_by_key[key] = pk
            for row in chunk:
                if row.key is None:
                    result.results[row.position] = ItemResult(status="accepted", id=next(keyless))
                elif row.key in ids_by_key:
                    result.results[row.position] = ItemResult(status="accepted", id=ids_by_key[row.key], key=row.key)
    stored_keys = [r.key for r in unique_rows if r.key is not None and r.key not in ids_by_key]
    existing = (
        dict(Experience.objects.filter(source=source, external_id__in=stored_keys).values_list("external_id", "id"))
        if stored_keys
        else {}
    )
    for row in unique_rows:
        if row.key is not None and row.key not in ids_by_key:
            result.results[row.position] = ItemResult(status="duplicate", id=existing.get(row.key), key=row.key)
    for row in repeats:
        assert row.key is not None  # only keyed rows repeat
        first = result.results[first_by_key[row.key].position]
        result.results[row.position] = ItemResult(status="duplicate", id=first.id, key=row.key)


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
    errors, row, _upsert = _validate(item, 0, _Catalogue(), now)
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
