# The planner guessed 300,000 groups for the daily rollups' aggregate of every experience (43,923 at
# 1,000,000 experiences), multiplying the distinct values of each column, and so ran it on one process.
# Statistics of the four columns together give it the right count, and a parallel plan (docs/performance.md).

from django.db import migrations

TABLE = "experiences_experience"
STATISTICS = "experiences_rollup_key"


def create(apps, schema_editor) -> None:
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(
            f"CREATE STATISTICS IF NOT EXISTS {STATISTICS} (ndistinct) "
            f"ON occurred_on, department_id, touchpoint_id, stage FROM {TABLE}"
        )
        schema_editor.execute(f"ANALYZE {TABLE}")


def drop(apps, schema_editor) -> None:
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(f"DROP STATISTICS IF EXISTS {STATISTICS}")


class Migration(migrations.Migration):
    dependencies = [
        ("experiences", "0013_key_without_its_time"),
    ]

    operations = [migrations.RunPython(create, drop)]
