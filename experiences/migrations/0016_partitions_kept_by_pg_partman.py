# pg_partman keeps the experience table's monthly partitions (docs/scaling.md, step 5): it makes the
# months ahead and moves back-dated rows out of the default partition, where CXM's own daily task did.
#
# The extension comes from Debian's `postgresql-15-partman` (version 4; docs/operations.md); creating it
# needs a superuser once, or a database where an administrator already ran
# `CREATE SCHEMA partman; CREATE EXTENSION pg_partman SCHEMA partman;`.
#
# Partitions made before take pg_partman's names (`experiences_experience_2026_11` becomes
# `experiences_experience_p2026_11`: a rename, no data moves). The default partition is set aside while
# pg_partman makes its own, and its rows go back through the table into their months.

from django.conf import settings
from django.db import migrations

TABLE = "experiences_experience"
PARENT = f"public.{TABLE}"
DEFAULT_PARTITION = f"{TABLE}_default"
SET_ASIDE = f"{TABLE}_set_aside"
MONTHS_AHEAD = 3  # experiences.partitions.MONTHS_AHEAD when this migration was written


def hand_partitions_to_pg_partman(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    with schema_editor.connection.cursor() as cursor:
        cursor.execute(
            "SELECT coalesce((SELECT extversion FROM pg_extension WHERE extname = 'pg_partman'), "
            "(SELECT default_version FROM pg_available_extensions WHERE name = 'pg_partman'))"
        )
        (version,) = cursor.fetchone()
        if not (version or "").startswith("4."):
            raise RuntimeError(
                "CXM keeps the experience table's monthly partitions with pg_partman 4, which this PostgreSQL "
                f"server {'offers as ' + version if version else 'does not have'}: install Debian's "
                "postgresql-15-partman on the database server (docs/operations.md), then migrate again."
            )
        cursor.execute("CREATE SCHEMA IF NOT EXISTS partman")
        cursor.execute("CREATE EXTENSION IF NOT EXISTS pg_partman SCHEMA partman")
        # pg_partman's months begin at midnight in the session's time zone: the company's.
        cursor.execute("SELECT set_config('TimeZone', %s, true)", [settings.TIME_ZONE])

        cursor.execute(
            "SELECT c.relname FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid "
            "WHERE i.inhparent = %s::regclass AND c.relname ~ '^experiences_experience_[0-9]{4}_[0-9]{2}$'",
            [TABLE],
        )
        for (name,) in cursor.fetchall():
            cursor.execute(f"ALTER TABLE {name} RENAME TO {name.replace(f'{TABLE}_', f'{TABLE}_p', 1)}")
        cursor.execute(f"ALTER TABLE {TABLE} DETACH PARTITION {DEFAULT_PARTITION}")
        cursor.execute(f"ALTER TABLE {DEFAULT_PARTITION} RENAME TO {SET_ASIDE}")

        cursor.execute(
            "SELECT min(to_timestamp(substring(c.relname from '[0-9]{4}_[0-9]{2}$'), 'YYYY_MM'))::text "
            "FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid WHERE i.inhparent = %s::regclass",
            [TABLE],
        )
        (oldest_month,) = cursor.fetchone()
        cursor.execute(
            "SELECT partman.create_parent(%s, 'occurred_at', 'native', 'monthly', p_premake := %s, "
            "p_start_partition := coalesce(%s, date_trunc('month', now())::text), p_jobmon := false)",
            [PARENT, MONTHS_AHEAD, oldest_month],
        )
        # pg_partman makes the default partition only when it made a month as well.
        cursor.execute(f"CREATE TABLE IF NOT EXISTS {DEFAULT_PARTITION} PARTITION OF {TABLE} DEFAULT")
        # The months ahead follow the clock, not the newest row (pg_partman's default).
        cursor.execute(
            "UPDATE partman.part_config SET infinite_time_partitions = true WHERE parent_table = %s", [PARENT]
        )

        cursor.execute(f"INSERT INTO {TABLE} SELECT * FROM {SET_ASIDE}")
        cursor.execute(f"DROP TABLE {SET_ASIDE}")
        while True:
            cursor.execute("SELECT partman.partition_data_time(%s, p_analyze := false)", [PARENT])
            if not cursor.fetchone()[0]:
                break
        cursor.execute(f"ANALYZE {TABLE}")


class Migration(migrations.Migration):
    dependencies = [
        ("experiences", "0015_touchpoint_index_carries_stage_and_emotion"),
    ]

    operations = [
        migrations.RunPython(hand_partitions_to_pg_partman, reverse_code=None),
    ]
