"""Survey scores on the dashboards: NPS, CSAT, CES beside the experience index, remembrance per touchpoint, themes."""

import math

import pytest
from django.db.models import Value

from experiences.models import Experience
from feedback import services, themes
from feedback.models import Invitation, Survey, Theme
from feedback.survey_scores import SurveyScore
from journeys.models import Journey, JourneyStep
from tests.dashboard_data import experience, log, two_departments
from tests.factories import CustomerFactory, TouchpointFactory, UserFactory
from touchpoints.models import Department, Touchpoint


def answer(capture, survey, customer, score, comment=""):
    with capture(execute=True):  # the e-mail goes out after commit
        [pk] = services.create_invitations(survey=survey, customers=[customer]).created
    with capture(execute=True):
        return services.record_response(invitation=Invitation.objects.get(pk=pk), score=score, comment=comment)


@pytest.fixture
def answered(db, django_capture_on_commit_callbacks):
    """Delivery NPS: 10, 9 and a 3 about a late delivery, one invitation unanswered; invoice CSAT: a 5."""
    logistics, billing, delivery, invoice, users = two_departments()
    Theme.objects.create(phrase="late delivery", language="en")
    nps = Survey.objects.create(slug="delivery-nps", name="Delivery", kind="nps", touchpoint=delivery)
    csat = Survey.objects.create(slug="invoice-csat", name="Invoice", kind="csat", touchpoint=invoice)
    capture = django_capture_on_commit_callbacks
    answer(capture, nps, CustomerFactory(external_id="A-1"), 10, "Lovely driver")
    answer(capture, nps, CustomerFactory(external_id="A-2"), 9)
    answer(capture, nps, CustomerFactory(external_id="A-3"), 3, "Another late delivery, nobody called")
    with capture(execute=True):
        services.create_invitations(survey=nps, customers=[CustomerFactory(external_id="A-4")])
    answer(capture, csat, CustomerFactory(external_id="B-1"), 5)
    return users


def test_nps_counts_promoters_minus_detractors_with_a_margin_for_few_answers():
    score = SurveyScore("nps", responses=3, positives=2, negatives=1)
    assert score.value == pytest.approx(100 / 3)
    assert score.few
    assert score.margin == pytest.approx(100 * 1.96 * math.sqrt((1 - (1 / 3) ** 2) / 3))


def test_csat_is_the_share_of_4_and_5_and_ces_the_mean():
    assert SurveyScore("csat", responses=4, positives=3).value == 75
    ces = SurveyScore("ces", responses=4, total=22, squares=4 * 36 + 2)  # 5, 5, 6, 6 → mean 5.5
    assert ces.value == 5.5
    assert ces.margin == pytest.approx(1.96 * math.sqrt((ces.squares - 4 * 5.5**2) / 3 / 4))


def test_the_company_page_shows_survey_scores_beside_the_experience_index(client, answered):
    client.force_login(answered["admin"])
    page = client.get("/dashboards/?period=7").content.decode()

    assert "+33" in page  # NPS: 2 promoters − 1 detractor of 3
    assert "2 promoters (9–10), 1 detractors (0–6) of 3 answers" in page
    assert "± 107" in page  # few answers: the margin of error is shown
    assert "100 %" in page  # invoice CSAT


def test_the_department_page_shows_how_each_touchpoint_is_remembered(client, answered):
    client.force_login(answered["manager"])
    response = client.get("/dashboards/logistics/?period=7")

    [row] = response.context["remembrance"]
    assert row.touchpoint.code == "on-time-delivery"
    assert row.scores["nps"].responses == 3
    assert (row.response_rate.sent, row.response_rate.answered) == (4, 3)
    assert row.remembrance.experiences == 3
    assert "75 %" in response.content.decode()


def test_a_theme_shows_its_mentions_negatives_and_the_comments_behind_it(client, answered):
    client.force_login(answered["manager"])
    [theme] = client.get("/dashboards/logistics/?period=7").context["themes"]
    assert (theme.phrase, theme.mentions, theme.negative_share) == ("late delivery", 1, 1.0)

    page = client.get(f"/cases/themes/{theme.theme_id}/?period=7").content.decode()
    assert "Another late delivery, nobody called" in page


def test_each_touchpoint_shows_its_top_themes_and_links_to_their_comments_there(client, answered):
    client.force_login(answered["manager"])
    [row] = client.get("/dashboards/logistics/?period=7").context["remembrance"]
    assert [(t.phrase, t.mentions) for t in row.themes] == [("late delivery", 1)]

    theme = row.themes[0].theme_id
    assert (
        "nobody called" in client.get(f"/cases/themes/{theme}/?period=7&touchpoint=on-time-delivery").content.decode()
    )
    assert (
        "nobody called" not in client.get(f"/cases/themes/{theme}/?period=7&touchpoint=clear-invoice").content.decode()
    )


def test_the_top_themes_add_up_each_theme_over_the_touchpoints_and_compare_with_the_period_before(
    client, db, django_capture_on_commit_callbacks
):
    """Overall, a theme counts at every touchpoint of the department; each touchpoint lists only its own."""
    logistics, _, delivery, _, users = two_departments()
    returns = TouchpointFactory(code="easy-returns", name="Easy returns", owner=logistics)
    Theme.objects.create(phrase="late delivery", language="en")
    Theme.objects.create(phrase="broken box", language="en")
    customer = CustomerFactory(external_id="T-1")
    notes = [
        (delivery, "A broken box again", 1),
        (delivery, "Broken box, everything wet", 2),
        (delivery, "Late delivery", 3),
        (returns, "The late delivery of my refund", 1),
        (returns, "late delivery of the pickup", 2),
        (returns, "late delivery, last month too", 10),  # the week before
    ]
    capture = django_capture_on_commit_callbacks
    log(
        capture,
        *(experience(customer, tp, "negative", days_ago=d, stage="remembrance", note=n) for tp, n, d in notes),
    )
    with capture(execute=True):  # the marks wake the rescore (in process here)
        themes.match_notes(Experience.objects.values_list("pk", "occurred_on", "note", Value("en")))
    client.force_login(users["manager"])
    response = client.get("/dashboards/logistics/?period=7")

    top = [(t.phrase, t.mentions, t.change) for t in response.context["themes"]]
    assert top == [("late delivery", 3, 2), ("broken box", 2, 2)]
    per_touchpoint = {
        row.touchpoint.code: [(t.phrase, t.mentions) for t in row.themes] for row in response.context["remembrance"]
    }
    assert per_touchpoint == {
        "easy-returns": [("late delivery", 2)],
        "on-time-delivery": [("broken box", 2), ("late delivery", 1)],
    }


def test_a_theme_learnt_after_the_comments_were_written_reaches_the_page_at_the_next_rescore(
    client, answered, django_capture_on_commit_callbacks
):
    """The department page counts themes from their daily rollups: matching notes marks the days to roll up."""
    client.force_login(answered["manager"])
    assert [t.phrase for t in client.get("/dashboards/logistics/?period=7").context["themes"]] == ["late delivery"]
    Theme.objects.create(phrase="lovely driver", language="en")
    with django_capture_on_commit_callbacks(execute=True):  # the marks wake the rescore (in process here)
        themes.match_notes(Experience.objects.exclude(note="").values_list("pk", "occurred_on", "note", Value("en")))

    found = client.get("/dashboards/logistics/?period=7").context["themes"]
    assert sorted((t.phrase, t.mentions, t.negatives) for t in found) == [
        ("late delivery", 1, 1),
        ("lovely driver", 1, 0),
    ]


def test_the_answers_page_goes_newer_and_older_without_counting_every_answer(
    client, answered, django_capture_on_commit_callbacks
):
    nps = Survey.objects.get(slug="delivery-nps")
    for n in range(48):  # 51 answers about logistics: one more than a page
        answer(django_capture_on_commit_callbacks, nps, CustomerFactory(external_id=f"P-{n}"), 8)
    client.force_login(answered["manager"])

    first = client.get("/cases/answers/")
    assert len(first.context["page"].object_list) == 50
    assert "page=2" in first.content.decode() and "Previous" not in first.content.decode()
    second = client.get("/cases/answers/?page=2")
    [oldest] = second.context["page"].object_list
    assert oldest.customer.external_id == "A-1"  # the first answer is the last row of the last page
    assert "page=1" in second.content.decode() and "page=3" not in second.content.decode()

    assert client.get("/cases/answers/?page=3").status_code == 404  # past the end
    assert client.get("/cases/answers/?page=nine").context["page"].number == 1
    assert client.get("/cases/answers/?page=" + "9" * 30).status_code == 404


def test_another_departments_manager_sees_no_comment_behind_the_theme(client, answered):
    other = UserFactory(username="bo", role="manager", departments=[Department.objects.get(code="billing")])
    client.force_login(other)
    theme = Theme.objects.get()
    page = client.get(f"/cases/themes/{theme.pk}/?period=7").content.decode()
    assert "nobody called" not in page
    assert "No comment or note with this theme" in page


def test_the_journey_map_shows_how_each_step_is_remembered(client, answered):
    journey = Journey.objects.create(slug="order-to-delivery", name="Order to delivery")
    JourneyStep.objects.create(
        journey=journey, touchpoint=Touchpoint.objects.get(code="on-time-delivery"), stage="interaction", position=1
    )
    client.force_login(answered["admin"])
    page = client.get("/journeys/order-to-delivery/?period=7").content.decode()
    assert "Remembered" in page
    assert "NPS +33" in page


@pytest.mark.parametrize("period", ["7", "365"])
def test_the_department_page_keeps_its_query_count_with_survey_figures(
    client, answered, django_assert_num_queries, period
):
    client.force_login(answered["manager"])
    with django_assert_num_queries(18):
        assert client.get(f"/dashboards/logistics/?period={period}").status_code == 200


def test_the_company_page_keeps_its_query_count_with_survey_figures(client, answered, django_assert_num_queries):
    client.force_login(answered["admin"])
    # 11: the share of negatives reported by other departments comes with the ranking's rollups now.
    with django_assert_num_queries(11):
        assert client.get("/dashboards/?period=365").status_code == 200


def test_the_answers_page_shows_response_rates_per_survey_and_department(client, answered, django_assert_num_queries):
    client.force_login(answered["manager"])
    with django_assert_num_queries(7):  # the pager counts nothing: a page's rows and one more (cxm/paging.py)
        response = client.get("/cases/answers/")
    rates = {by: {r.name: (r.sent, r.answered) for r in rows} for by, rows in response.context["rates"].items()}
    assert rates == {"survey": {"Delivery": (4, 3)}, "department": {"Logistics": (4, 3)}}  # not billing's invoice
    assert "75 %" in response.content.decode()


def test_a_touchpoint_without_remembrance_in_the_stage_filter_still_shows_its_response_rate(
    client, answered, django_capture_on_commit_callbacks
):
    delivery = Touchpoint.objects.get(code="on-time-delivery")
    log(django_capture_on_commit_callbacks, experience(CustomerFactory(), delivery, "positive", stage="interaction"))
    client.force_login(answered["manager"])
    response = client.get("/dashboards/logistics/?period=7&stage=interaction")
    assert response.status_code == 200
    [row] = response.context["remembrance"]
    assert row.remembrance is None and row.response_rate.sent == 4
