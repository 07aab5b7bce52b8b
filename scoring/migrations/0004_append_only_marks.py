"""The rescoring marks become append-only (CustomerMark, DayMark); the marks pending are carried over."""

import django.db.models.deletion
from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("customers", "0001_initial"),
        ("scoring", "0003_week_month_rollups"),
        ("feedback", "0006_survey_rollups"),  # it marks days in the old table
    ]

    operations = [
        migrations.CreateModel(
            name="CustomerMark",
            fields=[
                ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                (
                    "customer",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.CASCADE, related_name="+", to="customers.customer"
                    ),
                ),
            ],
        ),
        migrations.CreateModel(
            name="DayMark",
            fields=[
                ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                ("day", models.DateField(db_index=True)),
            ],
        ),
        migrations.RunSQL(
            "INSERT INTO scoring_customermark (customer_id) SELECT customer_id FROM scoring_dirtycustomer;"
            "INSERT INTO scoring_daymark (day) SELECT day FROM scoring_dirtyday;",
            migrations.RunSQL.noop,
        ),
        migrations.DeleteModel(name="DirtyCustomer"),
        migrations.DeleteModel(name="DirtyDay"),
    ]
