"""`manage.py import_experiences FILE.csv`: bulk import through the one write path, idempotently."""

import sys
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError
from tqdm import tqdm

from integrations.csv_import import BATCH_SIZE, COLUMNS, CsvFormatError, import_experiences_csv


class Command(BaseCommand):
    help = (
        "Import experiences from a CSV file whose columns are the API's item fields "
        f"({', '.join(sorted(COLUMNS))}). Importing the same file again changes nothing."
    )

    def add_arguments(self, parser) -> None:
        parser.add_argument("file", type=Path, help="A UTF-8 CSV file with a header row.")
        parser.add_argument("--batch-size", type=int, default=BATCH_SIZE, help="Rows per write (default 1000).")

    def handle(self, *args, file: Path, batch_size: int, **options) -> None:
        if not file.is_file():
            raise CommandError(f"{file}: no such file")
        if not 1 <= batch_size <= 1000:
            raise CommandError("--batch-size must be 1 to 1000")
        with file.open(encoding="utf-8-sig", newline="") as lines:
            total = max(sum(1 for _ in lines) - 1, 0)
            lines.seek(0)
            with tqdm(total=total, unit="row", file=sys.stderr, disable=options["verbosity"] == 0) as bar:
                try:
                    report = import_experiences_csv(lines=lines, batch_size=batch_size, progress=bar.update)
                except CsvFormatError as exc:
                    raise CommandError(f"{file}: {exc}") from exc
                except UnicodeDecodeError as exc:
                    raise CommandError(f"{file}: not UTF-8 text ({exc.reason} at byte {exc.start})") from exc
        self.stdout.write(
            f"{report.rows} rows: {report.accepted} accepted, {report.duplicates} duplicate, {report.rejected} rejected"
        )
        for rejection in report.rejections:
            self.stdout.write(f"line {rejection.line}: {rejection.reason}")
