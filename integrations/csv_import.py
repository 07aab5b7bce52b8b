"""CSV import of experiences: the command and the admin upload page both feed the one write path here."""

from __future__ import annotations

import csv
import hashlib
import io
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from experiences.models import Source
from experiences.services import ITEM_FIELDS, record_experiences

CUSTOMER_COLUMNS = ("customer_name", "customer_email")
COLUMNS = frozenset(ITEM_FIELDS | set(CUSTOMER_COLUMNS))
REQUIRED_COLUMNS = ("customer", "touchpoint", "valence")
BATCH_SIZE = 1000


class CsvFormatError(ValueError):
    """The file as a whole cannot be read: say which columns to fix."""


@dataclass
class Rejection:
    line: int
    errors: dict[str, list[str]]

    @property
    def reason(self) -> str:
        return "; ".join(f"{name}: {' '.join(messages)}" for name, messages in sorted(self.errors.items()))


@dataclass
class ImportReport:
    rows: int = 0
    accepted: int = 0
    duplicates: int = 0
    rejections: list[Rejection] = field(default_factory=list)

    @property
    def rejected(self) -> int:
        return len(self.rejections)


def row_key(values: dict[str, str]) -> str:
    """A row without an `id` is keyed by its content, so that importing the file again adds nothing."""
    canonical = "\x1f".join(f"{name}={values.get(name, '')}" for name in sorted(COLUMNS - {"id"}))
    return "row:" + hashlib.sha256(canonical.encode()).hexdigest()


def row_to_item(values: dict[str, str]) -> dict:
    """One CSV row as an item of `record_experiences`: empty cells are left out (defaults apply)."""
    item: dict[str, Any] = {name: value for name, value in values.items() if name in ITEM_FIELDS and value}
    item["id"] = values.get("id") or row_key(values)
    name, email = values.get("customer_name"), values.get("customer_email")
    if item.get("customer") and (name or email):
        item["customer"] = (
            {"external_id": item["customer"]} | ({"name": name} if name else {}) | ({"email": email} if email else {})
        )
    return item


def checked_header(fieldnames: Sequence[str] | None) -> list[str]:
    """The header's column names, or a CsvFormatError naming the unknown, missing and allowed ones."""
    header = [name.strip() for name in fieldnames or []]
    unknown = sorted(set(header) - COLUMNS)
    missing = [name for name in REQUIRED_COLUMNS if name not in header]
    if unknown or missing:
        problems = []
        if unknown:
            problems.append(f"unknown columns {', '.join(unknown)}")
        if missing:
            problems.append(f"missing columns {', '.join(missing)}")
        raise CsvFormatError(f"{'; '.join(problems)}. Allowed columns: {', '.join(sorted(COLUMNS))}")
    return header


def count_rows(text: str) -> int:
    """Check a whole file before it is queued (header, CSV syntax) and count its data rows.

    An upload is refused here, on the form, rather than failing later in the worker.
    """
    if "\x00" in text:
        raise CsvFormatError("the file contains NUL bytes, so it is not CSV text")
    reader = csv.reader(io.StringIO(text, newline=""))
    rows = 0
    try:
        checked_header(next(reader, None))
        for cells in reader:
            rows += bool(cells)  # a blank line is no row, as for the importer
    except csv.Error as exc:
        raise CsvFormatError(f"line {reader.line_num}: {exc}") from exc
    if rows == 0:
        raise CsvFormatError("the file has a header but no rows below it")
    return rows


def import_experiences_csv(
    *,
    lines: Iterable[str],
    recorded_by=None,
    batch_size: int = BATCH_SIZE,
    progress: Callable[[int], None] | None = None,
) -> ImportReport:
    """Read a CSV whose header names item fields and send its rows through the write path in batches.

    Each row's line number travels with it, so every rejection says where to look.
    """
    reader = csv.DictReader(lines)
    reader.fieldnames = checked_header(reader.fieldnames)
    report = ImportReport()
    batch: list[tuple[int, dict]] = []
    for values in reader:
        if None in values:
            report.rows += 1
            report.rejections.append(Rejection(reader.line_num, {"row": ["has more cells than the header"]}))
            continue
        cleaned = {name: (value or "").strip() for name, value in values.items()}
        batch.append((reader.line_num, row_to_item(cleaned)))
        if len(batch) >= batch_size:
            _send(batch, report, recorded_by, progress)
            batch = []
    if batch:
        _send(batch, report, recorded_by, progress)
    report.rejections.sort(key=lambda r: r.line)
    return report


def _send(batch: list[tuple[int, dict]], report: ImportReport, recorded_by, progress) -> None:
    result = record_experiences(items=[item for _, item in batch], source=Source.IMPORT, recorded_by=recorded_by)
    for (line, _), outcome in zip(batch, result.results, strict=True):
        if outcome.status == "rejected":
            report.rejections.append(Rejection(line, outcome.errors or {}))
    report.rows += len(batch)
    report.accepted += result.accepted
    report.duplicates += result.duplicates
    if progress is not None:
        progress(len(batch))
