"""Daily rollups per customer segment too. Existing rollups all land in segment "" (correct in
total, wrong per segment), so every rolled-up day is marked dirty: the next rescore or sweep
splits them by segment."""

import secrets

from django.db import migrations, models


def mark_rolled_up_days(apps, schema_editor) -> None:
    DailyRollup = apps.get_model("scoring", "DailyRollup")
    DirtyDay = apps.get_model("scoring", "DirtyDay")
    generation = secrets.randbits(62)
    days = DailyRollup.objects.values_list("day", flat=True).distinct()
    DirtyDay.objects.bulk_create([DirtyDay(day=d, generation=generation) for d in days], ignore_conflicts=True)


def drop_segment_rollups(apps, schema_editor) -> None:
    """Backwards: the rows per segment cannot fit the old key; mark their days and let the rescore rebuild them."""
    mark_rolled_up_days(apps, schema_editor)
    apps.get_model("scoring", "DailyRollup").objects.all().delete()


class Migration(migrations.Migration):
    dependencies = [
        ("scoring", "0001_initial"),
        ("touchpoints", "0002_department_case_sla_hours"),
    ]

    operations = [
        migrations.RemoveConstraint(
            model_name="dailyrollup",
            name="rollup_key",
        ),
        migrations.AddField(
            model_name="dailyrollup",
            name="segment",
            field=models.CharField(blank=True, default="", max_length=60),
        ),
        migrations.AddConstraint(
            model_name="dailyrollup",
            constraint=models.UniqueConstraint(
                fields=("day", "department", "touchpoint", "stage", "segment"), name="rollup_key"
            ),
        ),
        migrations.RunPython(mark_rolled_up_days, drop_segment_rollups),
    ]
