"""How a batch's rows reach PostgreSQL (not a test): a JSON array per column, one JSON document, or COPY.

    BENCH_DATABASE_URL=postgres://postgres@127.0.0.1:5432/cxm_ingest_bench .venv/bin/python bench/row_transfer.py

The database is bench/ingest.py's (the same BENCH_DATABASE_URL).

Sends 1,000 rows shaped like the write statement's (experiences.services.ROW_COLUMNS) 30 times
each way, alternating, and prints the median time from Python's rows until PostgreSQL has read
them into typed rows: one JSON array per column (`column_params`, read by ROWS_SQL: what
WRITE_SQL does), `json_to_recordset` of one `json.dumps` of the rows as objects (what it did
before), and COPY of the same rows into a temporary table (what a two-statement write would do
before its INSERT … SELECT). Nothing is written to the database's tables.
"""

import io
import json
import os
import statistics
import sys
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "cxm.settings")
import django  # noqa: E402

django.setup()
from bench.ingest import connect  # noqa: E402
from experiences.services import ROW_COLUMNS, ROWS_SQL, column_params  # noqa: E402

ROWS, SAMPLES = 1000, 30
DEFINITION = ", ".join(f"{name} {kind}" for name, kind in ROW_COLUMNS)


def rows() -> list[dict]:
    now, prefix = datetime.now(UTC), uuid.uuid4().hex
    return [
        {
            "customer_ref": f"C-{n}", "touchpoint_id": 1, "department_id": 1, "stage": "interaction",
            "valence": -1, "intensity": 3, "emotion": "", "expectation": "", "outcome": "",
            "occurred_at": (now - timedelta(minutes=n)).isoformat(), "occurred_on": now.date().isoformat(),
            "external_id": f"{prefix}-{n}", "sent": {"customer": f"C-{n}", "note": f"item {n}"},
            "reported_from_department_id": None, "note": f"item {n}", "impact": -1.5,
            "positive_mass_norm": 0.0, "negative_mass_norm": 1.234567,
        }
        for n in range(ROWS)
    ]  # fmt: skip


def copy_field(value) -> str:
    if value is None:
        return "\\N"
    text = json.dumps(value) if isinstance(value, dict) else str(value)
    return text.replace("\\", "\\\\").replace("\t", "\\t").replace("\n", "\\n").replace("\r", "\\r")


def as_columns(cursor) -> float:
    batch = rows()
    started = time.perf_counter()
    params = column_params({name: [row[name] for row in batch] for name, _kind in ROW_COLUMNS})
    cursor.execute(f"SELECT count(*) FROM {ROWS_SQL}", params)
    assert cursor.fetchone()[0] == ROWS
    return time.perf_counter() - started


def as_json(cursor) -> float:
    batch = rows()
    started = time.perf_counter()
    cursor.execute(
        f"SELECT count(*) FROM ROWS FROM (json_to_recordset(%s::json) AS ({DEFINITION})) WITH ORDINALITY AS u",
        [json.dumps(batch)],
    )
    assert cursor.fetchone()[0] == ROWS
    return time.perf_counter() - started


def as_copy(cursor) -> float:
    batch = rows()
    started = time.perf_counter()
    text = "".join("\t".join(copy_field(row[name]) for name, _kind in ROW_COLUMNS) + "\n" for row in batch)
    cursor.execute("TRUNCATE batch_rows")
    cursor.copy_expert(f"COPY batch_rows ({', '.join(n for n, _k in ROW_COLUMNS)}) FROM STDIN", io.StringIO(text))
    cursor.execute("SELECT count(*) FROM batch_rows")
    assert cursor.fetchone()[0] == ROWS
    return time.perf_counter() - started


def main() -> None:
    connection = connect()
    connection.autocommit = True
    with connection.cursor() as cursor:
        cursor.execute(f"CREATE TEMP TABLE batch_rows ({DEFINITION}, ord serial)")
        ways = {
            "a JSON array per column": as_columns,
            "json_to_recordset": as_json,
            "COPY into a temporary table": as_copy,
        }
        times: dict[str, list[float]] = {name: [] for name in ways}
        for _ in range(SAMPLES):
            for name, way in ways.items():
                times[name].append(way(cursor))
    medians = {name: statistics.median(values) * 1000 for name, values in times.items()}
    copy = medians["COPY into a temporary table"]
    for name, ms in medians.items():
        print(f"{name:<30} median {ms:6.2f} ms for {ROWS:,} rows ({ms / copy:.2f} x COPY)")


if __name__ == "__main__":
    main()
