"""The models and the migrations agree: a fresh database gets exactly what the code declares."""

import pytest
from django.core.management import call_command


@pytest.mark.django_db
def test_makemigrations_check_finds_nothing_to_write():
    try:
        call_command("makemigrations", "--check", "--dry-run", verbosity=0)
    except SystemExit as exit_:  # --check exits 1 when a migration is missing
        pytest.fail(f"models changed without a migration (makemigrations --check exited {exit_.code})")


@pytest.mark.django_db(transaction=True)
def test_invitations_made_before_triggered_surveys_get_their_survey_touchpoint_and_department():
    from django.db import connection
    from django.db.migrations.executor import MigrationExecutor

    executor = MigrationExecutor(connection)
    latest = executor.loader.graph.leaf_nodes()
    # Every app at its latest migration but the two that brought triggered surveys (and the scoring
    # marks, which come after the survey rollups).
    before = [
        *(node for node in latest if node[0] not in ("feedback", "customers", "scoring")),
        ("feedback", "0002_case_history_and_notices"),
        ("customers", "0002_share_of_wallet"),
        ("scoring", "0003_week_month_rollups"),
    ]
    executor.migrate(before)
    try:
        _invitation_of_before_survey_rules_is_migrated(executor, before)
    finally:  # the next tests need the whole schema, whatever happened here
        executor = MigrationExecutor(connection)
        executor.loader.build_graph()
        executor.migrate(executor.loader.graph.leaf_nodes())


def _invitation_of_before_survey_rules_is_migrated(executor, before) -> None:
    from django.db import connection
    from django.db.migrations.executor import MigrationExecutor

    old = executor.loader.project_state(before).apps
    department = old.get_model("touchpoints", "Department").objects.create(code="logistics", name="Logistics")
    touchpoint = old.get_model("touchpoints", "Touchpoint").objects.create(
        code="on-time-delivery", name="On-time delivery", channel="phone", stage="interaction"
    )
    old.get_model("touchpoints", "TouchpointOwner").objects.create(
        touchpoint=touchpoint, department=department, primary=True
    )
    survey = old.get_model("feedback", "Survey").objects.create(
        slug="delivery-nps", name="Delivery", kind="nps", touchpoint=touchpoint
    )
    customer = old.get_model("customers", "Customer").objects.create(external_id="ACME-1", name="Acme")
    moment = "2026-01-01T10:00:00+00:00"
    old.get_model("feedback", "Invitation").objects.create(
        survey=survey, customer=customer, created_at=moment, expires_at="2026-01-15T10:00:00+00:00"
    )

    executor = MigrationExecutor(connection)
    executor.loader.build_graph()
    executor.migrate(executor.loader.graph.leaf_nodes())

    from feedback.models import Invitation

    invitation = Invitation.objects.get()
    assert (invitation.touchpoint_id, invitation.department_id) == (touchpoint.pk, department.pk)
    assert invitation.customer.language == "en" and not invitation.customer.surveys_opt_out


@pytest.mark.django_db(transaction=True)
def test_rescoring_marks_pending_at_the_upgrade_are_carried_over():
    from django.db import connection
    from django.db.migrations.executor import MigrationExecutor

    executor = MigrationExecutor(connection)
    before = [("scoring", "0003_week_month_rollups")]
    executor.migrate(before)
    try:
        old = executor.loader.project_state(before).apps
        customer = old.get_model("customers", "Customer").objects.create(external_id="ACME-1", name="Acme")
        old.get_model("scoring", "DirtyCustomer").objects.create(customer=customer, generation=7)
        old.get_model("scoring", "DirtyDay").objects.create(day="2026-11-28", generation=7)
    finally:  # the next tests need the whole schema, whatever happened here
        executor = MigrationExecutor(connection)
        executor.loader.build_graph()
        executor.migrate(executor.loader.graph.leaf_nodes())

    from scoring.models import CustomerMark, DayMark

    assert list(CustomerMark.objects.values_list("customer__external_id", flat=True)) == ["ACME-1"]
    assert [str(day) for day in DayMark.objects.values_list("day", flat=True)] == ["2026-11-28"]


@pytest.mark.django_db(transaction=True)
def test_answers_stored_before_the_upgrade_take_their_experience_department():
    from django.db import connection
    from django.db.migrations.executor import MigrationExecutor

    from experiences.services import record_experiences

    from .factories import CustomerFactory, TouchpointFactory

    touchpoint = TouchpointFactory()
    customer = CustomerFactory()
    item = {"customer": customer.external_id, "touchpoint": touchpoint.code, "valence": "negative"}
    moment = record_experiences(items=[item], source="survey").results[0].id
    executor = MigrationExecutor(connection)
    before = [("feedback", "0009_theme_rollup_index_with_sums")]
    executor.migrate(before)
    try:
        old = executor.loader.project_state(before).apps
        survey = old.get_model("feedback", "Survey").objects.create(
            slug="delivery-nps", name="Delivery", kind="nps", touchpoint_id=touchpoint.pk
        )
        Invitation, Response = old.get_model("feedback", "Invitation"), old.get_model("feedback", "Response")
        for experience_id in (moment, None):
            invitation = Invitation.objects.create(
                survey=survey, customer_id=customer.pk, expires_at="2099-01-15T10:00:00+00:00"
            )
            Response.objects.create(
                invitation=invitation, survey=survey, customer_id=customer.pk, score=3, experience_id=experience_id
            )
    finally:  # the next tests need the whole schema, whatever happened here
        executor = MigrationExecutor(connection)
        executor.loader.build_graph()
        executor.migrate(executor.loader.graph.leaf_nodes())

    from feedback.models import Response as Answer

    charged = touchpoint.owners.get(primary=True).department_id
    assert sorted(Answer.objects.values_list("department_id", flat=True), key=str) == sorted([charged, None], key=str)


@pytest.mark.django_db(transaction=True)
def test_the_themes_rolled_up_before_the_upgrade_are_summed_into_weeks_and_months():
    import datetime

    from django.db import connection
    from django.db.migrations.executor import MigrationExecutor

    from .factories import TouchpointFactory

    touchpoint = TouchpointFactory()
    department = touchpoint.owners.get(primary=True).department_id
    executor = MigrationExecutor(connection)
    before = [("feedback", "0010_response_department")]
    executor.migrate(before)
    try:
        old = executor.loader.project_state(before).apps
        theme = old.get_model("feedback", "Theme").objects.create(phrase="late delivery", language="en")
        key = {"department_id": department, "touchpoint_id": touchpoint.pk, "segment": "smb", "theme": theme}
        # Monday 23 and Wednesday 25 November are one week; Tuesday 1 December is another week and month.
        for day, mentions in (("2026-11-23", 2), ("2026-11-25", 3), ("2026-12-01", 4)):
            old.get_model("feedback", "ThemeRollup").objects.create(day=day, mentions=mentions, negatives=1, **key)
    finally:  # the next tests need the whole schema, whatever happened here
        executor = MigrationExecutor(connection)
        executor.loader.build_graph()
        executor.migrate(executor.loader.graph.leaf_nodes())

    from feedback.models import MonthlyThemeRollup, WeeklyThemeRollup

    day = datetime.date.fromisoformat
    assert sorted(WeeklyThemeRollup.objects.values_list("week", "mentions", "negatives")) == [
        (day("2026-11-23"), 5, 2),
        (day("2026-11-30"), 4, 1),
    ]
    assert sorted(MonthlyThemeRollup.objects.values_list("month", "mentions", "negatives")) == [
        (day("2026-11-01"), 5, 2),
        (day("2026-12-01"), 4, 1),
    ]


@pytest.mark.django_db(transaction=True)
def test_the_negatives_others_reported_before_the_upgrade_are_rolled_up():
    import datetime

    from django.db import connection
    from django.db.migrations.executor import MigrationExecutor

    from experiences.services import record_experiences

    from .factories import CustomerFactory, DepartmentFactory, TouchpointFactory, UserFactory

    touchpoint = TouchpointFactory()
    service = DepartmentFactory(code="customer-service", name="Customer service")
    agent = UserFactory(username="cara", departments=[service])
    customer = CustomerFactory(segment="smb")
    items = [
        {"customer": customer.external_id, "touchpoint": touchpoint.code, "valence": valence, "occurred_at": at}
        for valence, at in (
            ("negative", "2026-10-28T10:00:00+01:00"),
            ("negative", "2026-11-09T10:00:00+01:00"),
            ("positive", "2026-11-11T11:00:00+01:00"),  # not a negative
            ("negative", "2026-11-11T10:00:00+01:00"),
        )
    ]
    assert record_experiences(items=items, source="form", recorded_by=agent).accepted == 4
    executor = MigrationExecutor(connection)
    before = [("scoring", "0006_customer_mark_without_constraint")]
    executor.migrate(before)
    executor = MigrationExecutor(connection)
    executor.loader.build_graph()
    executor.migrate(executor.loader.graph.leaf_nodes())

    from scoring.models import DailyReporterRollup, MonthlyReporterRollup, WeeklyReporterRollup

    day = datetime.date.fromisoformat
    charged = touchpoint.owners.get(primary=True).department_id
    assert set(DailyReporterRollup.objects.values_list("department_id", "reported_from_department_id", "segment")) == {
        (charged, service.pk, "smb")
    }
    assert sorted(DailyReporterRollup.objects.values_list("day", "negatives")) == [
        (day("2026-10-28"), 1),
        (day("2026-11-09"), 1),
        (day("2026-11-11"), 1),
    ]
    assert sorted(WeeklyReporterRollup.objects.values_list("week", "negatives")) == [
        (day("2026-10-26"), 1),
        (day("2026-11-09"), 2),
    ]
    assert sorted(MonthlyReporterRollup.objects.values_list("month", "negatives")) == [
        (day("2026-10-01"), 1),
        (day("2026-11-01"), 2),
    ]
