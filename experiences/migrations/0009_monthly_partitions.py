# The experience table becomes partitioned by month on PostgreSQL (docs/scaling.md, step 5); SQLite
# keeps one table. The columns, checks, indexes and foreign keys stay as they are, under the same
# names; the primary key becomes (id, occurred_at), as PostgreSQL requires of a partitioned table,
# while ids still come from one sequence, so Django's `id` stays unique. Idempotency keys already
# moved to their own table (0008), and no table references experiences with a database constraint
# any more (the migrations that made those references now declare none; an installation made
# before loses them here, with the old table).
#
# It rewrites the table in one transaction: on a large installation, run it in a maintenance window
# (docs/operations.md). It cannot be undone by a migration.

from django.db import migrations

TABLE = "experiences_experience"
OLD = "experiences_experience_unpartitioned"
SEQUENCE = "experiences_experience_id_seq"
DEFAULT_PARTITION = f"{TABLE}_default"


def partition_by_month(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    with schema_editor.connection.cursor() as cursor:
        cursor.execute(
            "SELECT indexdef FROM pg_indexes WHERE tablename = %s AND indexname <> %s",
            [TABLE, f"{TABLE}_pkey"],
        )
        indexes = [definition for (definition,) in cursor.fetchall()]
        cursor.execute(
            "SELECT conname, pg_get_constraintdef(oid) FROM pg_constraint WHERE conrelid = %s::regclass "
            "AND contype = 'f'",
            [TABLE],
        )
        foreign_keys = cursor.fetchall()
        cursor.execute(f"SELECT last_value FROM {SEQUENCE}")
        (last_id,) = cursor.fetchone()

        cursor.execute(f"ALTER TABLE {TABLE} RENAME TO {OLD}")
        cursor.execute(
            f"CREATE TABLE {TABLE} (LIKE {OLD} INCLUDING DEFAULTS INCLUDING CONSTRAINTS) PARTITION BY RANGE (occurred_at)"
        )
        # Every row waits in the default partition: pg_partman gives each month its own (0016).
        cursor.execute(f"CREATE TABLE {DEFAULT_PARTITION} PARTITION OF {TABLE} DEFAULT")
        cursor.execute(f"INSERT INTO {TABLE} SELECT * FROM {OLD}")
        cursor.execute(f"DROP TABLE {OLD} CASCADE")  # and its identity sequence, and any old references

        cursor.execute(f"CREATE SEQUENCE {SEQUENCE} OWNED BY {TABLE}.id")
        cursor.execute(f"SELECT setval(%s, greatest(%s, (SELECT coalesce(max(id), 1) FROM {TABLE})))", [SEQUENCE, last_id])
        cursor.execute(f"ALTER TABLE {TABLE} ALTER COLUMN id SET DEFAULT nextval(%s::regclass)", [SEQUENCE])
        cursor.execute(f"ALTER TABLE {TABLE} ADD CONSTRAINT {TABLE}_pkey PRIMARY KEY (id, occurred_at)")
        for definition in indexes:
            cursor.execute(definition)
        for name, definition in foreign_keys:
            cursor.execute(f'ALTER TABLE {TABLE} ADD CONSTRAINT "{name}" {definition}')
        cursor.execute(f"ANALYZE {TABLE}")


class Migration(migrations.Migration):
    dependencies = [
        ("experiences", "0008_idempotency_keys_apart"),
    ]

    operations = [
        migrations.RunPython(partition_by_month, reverse_code=None),
    ]
