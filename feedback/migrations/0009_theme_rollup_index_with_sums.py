# The department's index of the theme rollups holds the columns the department page sums, so a year of a
# department's themes is read from the index alone (docs/performance.md); the department's own index,
# which it starts with, goes. Only that index is dropped: the foreign key stays as it is (Django's
# AlterField would drop and re-add it, checking every row).

import django.db.models.deletion
from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("feedback", "0008_survey_period_rollups"),
    ]

    operations = [
        migrations.RemoveIndex(model_name="themerollup", name="theme_rollup_department_day"),
        migrations.SeparateDatabaseAndState(
            database_operations=[
                migrations.RunSQL(
                    'DROP INDEX IF EXISTS "feedback_themerollup_department_id_bd25777a"',
                    reverse_sql='CREATE INDEX "feedback_themerollup_department_id_bd25777a" '
                    'ON "feedback_themerollup" ("department_id")',
                ),
            ],
            state_operations=[
                migrations.AlterField(
                    model_name="themerollup",
                    name="department",
                    field=models.ForeignKey(
                        db_index=False,
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="+",
                        to="touchpoints.department",
                    ),
                ),
            ],
        ),
        migrations.AddIndex(
            model_name="themerollup",
            index=models.Index(
                fields=["department", "day"],
                include=("touchpoint", "segment", "theme", "mentions", "negatives"),
                name="theme_rollup_department_sums",
            ),
        ),
    ]
