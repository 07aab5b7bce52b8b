# Each answer carries the department its experience is charged to, so the access gate filters a page of
# answers on their own rows (docs/performance.md, "Dashboards"). The answers already stored take their
# experience's department: one UPDATE, which reads each answer's experience once.

import django.db.models.deletion
from django.db import migrations, models
from django.db.models import OuterRef, Subquery


def copy_departments(apps, schema_editor) -> None:
    Experience = apps.get_model("experiences", "Experience")
    Response = apps.get_model("feedback", "Response")
    charged = Experience.objects.filter(pk=OuterRef("experience_id")).values("department_id")[:1]
    Response.objects.filter(experience__isnull=False).update(department_id=Subquery(charged))


class Migration(migrations.Migration):
    dependencies = [
        ("feedback", "0009_theme_rollup_index_with_sums"),
    ]

    operations = [
        migrations.AddField(
            model_name="response",
            name="department",
            field=models.ForeignKey(
                blank=True,
                db_index=False,
                help_text="The department its experience is charged to.",
                null=True,
                on_delete=django.db.models.deletion.SET_NULL,
                related_name="+",
                to="touchpoints.department",
            ),
        ),
        migrations.RunPython(copy_departments, migrations.RunPython.noop),
    ]
