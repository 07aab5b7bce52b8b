"""The dashboard tables as plain header + rows, shared by the charts' data and the CSV exports."""

from __future__ import annotations

from django.utils.translation import gettext as _

from .queries import DepartmentRow, StaffEntry, TouchpointRow, TrendPoint


def rounded(value: float | None, digits: int = 1) -> float | None:
    return None if value is None else round(value, digits)


def departments_table(rows: list[DepartmentRow]) -> tuple[list[str], list[list]]:
    header = [
        _("department"),
        _("index (0-100)"),
        _("change (points)"),
        _("experiences"),
        _("negatives"),
        _("forgotten share"),
        _("positives owed this period"),
    ]
    return header, [
        [
            row.department.name,
            rounded(row.report.index),
            rounded(row.change),
            row.report.experiences,
            row.report.negatives,
            rounded(row.report.forgotten_share, 3),
            row.report.recovery_debt,
        ]
        for row in rows
    ]


def trend_table(points: list[TrendPoint]) -> tuple[list[str], list[list]]:
    header = [_("from"), _("index (0-100)"), _("experiences"), _("positives"), _("neutrals"), _("negatives")]
    return header, [
        [p.start.isoformat(), rounded(p.report.index), p.report.experiences]
        + [p.report.positives, p.report.neutrals, p.report.negatives]
        for p in points
    ]


def trend_chart(points: list[TrendPoint], label: str) -> dict:
    """The index as a line, with the number of experiences behind each point as bars beside it."""
    return {
        "kind": "line",
        "label": label,
        "labels": [p.start.isoformat() for p in points],
        "values": [rounded(p.report.index) for p in points],
        "volumes": [p.report.experiences for p in points],
        "volume_label": _("experiences"),
    }


def touchpoints_table(rows: list[TouchpointRow]) -> tuple[list[str], list[list]]:
    header = [
        _("touchpoint"),
        _("touchpoint code"),
        _("index (0-100)"),
        _("experiences"),
        _("negatives"),
        _("negative mass"),
        _("missed"),
        _("met"),
        _("exceeded"),
        _("neutrals"),
        _("failed outcomes"),
    ]
    return header, [
        [row.name, row.code, rounded(row.report.index), row.report.experiences, row.report.negatives]
        + [rounded(row.report.negative_mass), row.report.missed, row.report.met, row.report.exceeded]
        + [row.report.neutrals, row.report.failed]
        for row in rows
    ]


def heat_map_table(rows: list[TouchpointRow], stages: list[str]) -> tuple[list[str], list[list]]:
    header = [_("touchpoint")] + [_("%(stage)s index") % {"stage": stage} for stage in stages]
    return header, [
        [row.name] + [rounded(row.by_stage[s].index) if s in row.by_stage else None for s in stages] for row in rows
    ]


def staff_table(entries: list[StaffEntry]) -> tuple[list[str], list[list]]:
    header = [_("occurred at"), _("logged by"), _("touchpoint"), _("stage"), _("valence"), _("intensity")]
    return header, [[e.occurred_at.isoformat(), e.who, e.touchpoint, e.stage, e.valence, e.intensity] for e in entries]


def journey_table(steps) -> tuple[list[str], list[list]]:
    header = [_("position"), _("touchpoint"), _("stage"), _("index (0-100)"), _("experiences"), _("negatives")]
    header += [_("most frequent emotion"), _("weakest")]
    return header, [
        [f.step.position, f.step.touchpoint.name, f.step.stage, rounded(f.report.index), f.report.experiences]
        + [f.report.negatives, f.emotion, f.weakest]
        for f in steps
    ]


def at_risk_table(scores) -> tuple[list[str], list[list]]:
    header = [
        _("external id"),
        _("customer"),
        _("recovery debt (positive experiences owed)"),
        _("index (0-100)"),
        _("negatives"),
    ]
    return header, [
        [s.customer.external_id, s.customer.name, s.recovery_debt, rounded(s.index), s.negatives] for s in scores
    ]
