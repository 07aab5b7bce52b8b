"""`manage.py seed_demo`: a realistic, repeatable demo that a second run leaves untouched."""

import re
from collections import Counter
from datetime import UTC, datetime
from io import StringIO

import pytest
from django.core.management import CommandError, call_command
from django.db.models import Avg, Case, Count, FloatField, Q, Value, When

from accounts.models import User
from customers.models import Customer
from experiences.demo import generate_customers, generate_experiences
from experiences.models import Emotion, Experience
from feedback.models import Case as RecoveryCase
from feedback.models import Notice
from journeys.models import Journey, JourneyStep
from touchpoints.models import Department, Stage, Touchpoint, TouchpointOwner

SMALL = ("--customers", "30", "--experiences", "100")
NOW = datetime(2026, 3, 15, 12, 0, tzinfo=UTC)
POSITIVE_EMOTIONS = {Emotion.DELIGHTED, Emotion.GRATEFUL, Emotion.TRUSTING, Emotion.RELIEVED, Emotion.SURPRISED}
NEGATIVE_EMOTIONS = {Emotion.ANGRY, Emotion.FRUSTRATED, Emotion.DISAPPOINTED, Emotion.ANXIOUS}


@pytest.fixture(autouse=True)
def fast_password_hashing(settings):
    """The demo hashes three passwords per run; the default hasher is slow on purpose."""
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


def seed(*args: str) -> str:
    out = StringIO()
    call_command("seed_demo", *args, stdout=out)
    return out.getvalue()


def printed_passwords(output: str) -> dict[str, str]:
    return dict(re.findall(r"^\s*(demo-[a-z]+)\s+password: (\S+)", output, flags=re.MULTILINE))


def row_counts() -> dict[str, int]:
    models = (Department, Touchpoint, TouchpointOwner, Journey, JourneyStep, Customer, Experience, User)
    return {model.__name__: model.objects.count() for model in models}


def negative_share(department_code: str) -> float:
    return Experience.objects.filter(department__code=department_code).aggregate(
        share=Avg(Case(When(valence=-1, then=Value(1.0)), default=Value(0.0), output_field=FloatField()))
    )["share"]


@pytest.mark.django_db
def test_second_run_changes_no_row_and_no_password():
    seed(*SMALL)
    counts = row_counts()
    hashes = dict(User.objects.values_list("username", "password"))

    seed(*SMALL)

    assert row_counts() == counts
    assert dict(User.objects.values_list("username", "password")) == hashes


@pytest.mark.django_db
def test_second_run_reports_every_experience_as_already_there():
    seed(*SMALL)

    output = seed(*SMALL)

    assert re.search(r"experiences\s+0 created,\s+100 already there", output)
    assert re.search(r"customers\s+0 created,\s+30 already there", output)


@pytest.mark.django_db
def test_a_changed_password_survives_a_second_run():
    seed(*SMALL)
    staff = User.objects.get(username="demo-staff")
    staff.set_password("my-own-secret-phrase")
    staff.save()

    seed(*SMALL)

    assert User.objects.get(username="demo-staff").check_password("my-own-secret-phrase")


@pytest.mark.django_db
def test_catalogue_has_at_least_40_touchpoints_across_the_three_stages():
    seed(*SMALL)

    assert Touchpoint.objects.count() >= 40
    assert set(Touchpoint.objects.values_list("stage", flat=True)) == set(Stage.values)


@pytest.mark.django_db
def test_every_touchpoint_has_exactly_one_primary_owner():
    seed(*SMALL)

    primaries = Touchpoint.objects.annotate(n=Count("owners", filter=Q(owners__primary=True))).values_list("code", "n")

    assert primaries and all(n == 1 for _, n in primaries)


@pytest.mark.django_db
def test_three_journeys_run_in_order_from_perception_to_remembrance():
    seed(*SMALL)
    order = {stage: n for n, stage in enumerate(Stage.values)}

    journeys = Journey.objects.prefetch_related("steps")

    assert journeys.count() == 3
    for journey in journeys:
        stages = [step.stage for step in journey.steps.order_by("position")]
        assert set(stages) == set(Stage.values), journey.slug
        assert stages == sorted(stages, key=order.get), journey.slug


@pytest.mark.django_db
def test_demo_users_log_in_with_the_printed_passwords(client):
    passwords = printed_passwords(seed(*SMALL))

    assert set(passwords) == {"demo-staff", "demo-manager", "demo-admin", "demo-driver", "demo-plant"}
    for username, password in passwords.items():
        assert client.login(username=username, password=password), username


@pytest.mark.django_db
def test_demo_admin_is_a_superuser_with_the_admin_role():
    seed(*SMALL)

    admin = User.objects.get(username="demo-admin")

    assert admin.is_superuser and admin.is_staff and admin.is_cx_admin


@pytest.mark.django_db
def test_a_small_demo_gives_every_demo_user_something_to_do():
    seed(*SMALL)
    staff = User.objects.get(username="demo-staff")
    manager = User.objects.get(username="demo-manager")

    staff_touchpoints = Touchpoint.objects.filter(departments__in=staff.departments.all(), stage=Stage.INTERACTION)

    assert staff_touchpoints.distinct().count() >= 5
    assert manager.departments.count() >= 2
    for department in manager.departments.all():
        assert Experience.objects.filter(department=department).exists(), department.code


@pytest.mark.django_db
def test_billing_and_collections_is_clearly_worse_than_reception():
    seed("--customers", "200", "--experiences", "3000")

    assert negative_share("billing-collections") > 2 * negative_share("reception-security")


def test_the_same_seed_tells_the_same_story():
    customers = generate_customers(20, seed=7)

    first = list(generate_experiences(count=300, customers=customers, seed=7, now=NOW))
    again = list(generate_experiences(count=300, customers=generate_customers(20, seed=7), seed=7, now=NOW))
    other = list(generate_experiences(count=300, customers=customers, seed=8, now=NOW))

    assert first == again
    assert first != other


def test_experiences_are_fewer_at_weekends():
    items = generate_experiences(count=5000, customers=generate_customers(50, seed=1), seed=1, now=NOW)

    per_weekday = Counter(item["occurred_at"].weekday() for item in items)

    assert max(per_weekday[5], per_weekday[6]) < min(per_weekday[d] for d in range(5)) / 2


def test_emotions_agree_with_valence():
    items = list(generate_experiences(count=5000, customers=generate_customers(50, seed=1), seed=1, now=NOW))

    assert not [i for i in items if i["valence"] == -1 and i["emotion"] in POSITIVE_EMOTIONS]
    assert not [i for i in items if i["valence"] == 1 and i["emotion"] in NEGATIVE_EMOTIONS]
    assert any(i["valence"] == 1 and i["emotion"] in POSITIVE_EMOTIONS for i in items)


def test_experiences_stay_within_the_last_twelve_months():
    items = generate_experiences(count=2000, customers=generate_customers(50, seed=1), seed=1, now=NOW)

    ages = [(NOW - item["occurred_at"]).days for item in items]

    assert min(ages) >= 0 and max(ages) < 366


def test_no_customers_is_refused_with_a_message_saying_what_to_fix():
    with pytest.raises(CommandError, match="--customers must be at least 1"):
        seed("--customers", "0")


@pytest.mark.django_db
def test_the_demo_shows_cross_department_reports_and_work_in_the_inboxes():
    seed("--customers", "150", "--experiences", "2500")
    staff = User.objects.get(username="demo-staff")

    reported = Experience.objects.filter(recorded_by=staff).exclude(department__code="customer-service")
    assert reported.exists() and all(x.reported_from_department.code == "customer-service" for x in reported[:20])
    driver = User.objects.get(username="demo-driver")
    assert RecoveryCase.objects.filter(assignee=driver, status="open").count() == 3
    transferred = RecoveryCase.objects.get(events__kind="transferred")
    assert transferred.department.code == "production"
    assert Notice.objects.filter(user=driver).count() == 3


@pytest.mark.django_db
def test_the_demo_has_surveys_rules_and_answers_in_both_languages_and_ladder_suggestions():
    from django.db.models import Sum

    from feedback.models import Invitation, LadderSuggestion, Response, Survey, SurveyRollup, SurveyRule, Theme
    from scoring.recompute import rescore_dirty

    seed("--customers", "150", "--experiences", "4000")

    assert Survey.objects.count() == SurveyRule.objects.count() == 3
    assert Invitation.objects.filter(experience__isnull=False).count() > Response.objects.count() > 20
    languages = set(Response.objects.exclude(comment="").values_list("language", flat=True))
    assert languages == {"en", "es"}
    assert Theme.objects.filter(language="es").exists() and Theme.objects.filter(language="en").exists()
    assert LadderSuggestion.objects.exists()
    for survey in Survey.objects.all():  # each own text in English and Spanish, choices one to one
        assert bool(survey.question) == bool(survey.question_es)
        assert bool(survey.follow_up_question) == bool(survey.follow_up_question_es)
        assert len(survey.choices) == len(survey.follow_up_choices_es.splitlines())
    assert Survey.objects.exclude(question_es="").exists() and Survey.objects.exclude(follow_up_choices_es="").exists()
    # once the rescoring the answers marked has run (a worker, after commit), the dashboards count every answer
    rescore_dirty()
    answered = Response.objects.filter(experience__isnull=False).count()
    assert SurveyRollup.objects.aggregate(n=Sum("responses"))["n"] == answered
