"""The catalogue's version row and the triggers that change it (PostgreSQL; SQLite reads the catalogue every time)."""

from django.db import migrations, models

CATALOGUE_TABLES = ("touchpoints_touchpoint", "touchpoints_department", "touchpoints_touchpointowner")

BUMP = """
CREATE FUNCTION experiences_bump_catalogue_version() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO experiences_catalogueversion (id, version) VALUES (1, floor(random() * 9e18)::bigint)
    ON CONFLICT (id) DO UPDATE SET version = EXCLUDED.version;
    RETURN NULL;
END $$;
"""


def install(apps, schema_editor) -> None:
    if schema_editor.connection.vendor != "postgresql":
        return
    schema_editor.execute(BUMP)
    for table in CATALOGUE_TABLES:
        schema_editor.execute(
            f"CREATE TRIGGER {table}_catalogue_version AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON {table} "
            "FOR EACH STATEMENT EXECUTE FUNCTION experiences_bump_catalogue_version()"
        )
    schema_editor.execute("INSERT INTO experiences_catalogueversion (id, version) VALUES (1, 1)")


def uninstall(apps, schema_editor) -> None:
    if schema_editor.connection.vendor != "postgresql":
        return
    for table in CATALOGUE_TABLES:
        schema_editor.execute(f"DROP TRIGGER IF EXISTS {table}_catalogue_version ON {table}")
    schema_editor.execute("DROP FUNCTION IF EXISTS experiences_bump_catalogue_version()")


class Migration(migrations.Migration):
    dependencies = [
        ("experiences", "0005_newest_first_index"),
        ("touchpoints", "0003_department_case_rules"),
    ]

    operations = [
        migrations.CreateModel(
            name="CatalogueVersion",
            fields=[
                ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                ("version", models.BigIntegerField(default=0)),
            ],
        ),
        migrations.RunPython(install, uninstall),
    ]
