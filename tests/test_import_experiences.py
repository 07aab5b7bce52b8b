"""CSV import by command: same write path, line-numbered rejections, idempotent (upload page: test_import_upload.py)."""

from io import StringIO

import pytest
from django.core.management import CommandError, call_command

from customers.models import Customer
from experiences.models import Experience

CSV = """customer,customer_name,touchpoint,valence,intensity,occurred_at,note
ACME-1,,on-time-delivery,negative,4,2026-01-10T09:00:00Z,late truck
NEW-5,Nova SL,on-time-delivery,positive,,2026-01-11T09:00:00Z,
ACME-1,,on-time-delivery,furious,3,2026-01-12T09:00:00Z,
"""


@pytest.fixture
def csv_file(tmp_path, touchpoint, customer):
    path = tmp_path / "experiences.csv"
    path.write_text(CSV, encoding="utf-8")
    return path


def run(path):
    out = StringIO()
    call_command("import_experiences", str(path), stdout=out, stderr=StringIO())
    return out.getvalue()


def test_import_reports_counts_and_the_line_of_each_rejection(csv_file):
    report = run(csv_file)
    assert "3 rows: 2 accepted, 0 duplicate, 1 rejected" in report
    assert "line 4: valence: must be positive, neutral or negative, got 'furious'" in report
    assert Customer.objects.get(external_id="NEW-5").name == "Nova SL"
    assert set(Experience.objects.values_list("source", flat=True)) == {"import"}


def test_importing_the_same_file_again_changes_nothing(csv_file):
    run(csv_file)
    assert "0 accepted, 2 duplicate, 1 rejected" in run(csv_file)
    assert Experience.objects.count() == 2


def test_unknown_column_stops_the_import_naming_the_allowed_ones(tmp_path, db):
    path = tmp_path / "bad.csv"
    path.write_text("client,touchpoint,valence\nA,b,positive\n", encoding="utf-8")
    with pytest.raises(
        CommandError, match="unknown columns client; missing columns customer. Allowed columns: customer"
    ):
        run(path)
