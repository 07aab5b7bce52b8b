"""/api/v1/survey-rules/: make, read and change a touchpoint's survey rule with the surveys:write scope."""

import pytest

from feedback.models import Survey, SurveyRule
from integrations.models import Scope

from .api import key_client

URL = "/api/v1/survey-rules/"


@pytest.fixture
def survey(touchpoint):
    return Survey.objects.create(slug="delivery-nps", name="Delivery NPS", kind="nps", touchpoint=touchpoint)


@pytest.fixture
def writer(db):
    return key_client(Scope.SURVEYS_WRITE)


def test_a_rule_is_made_for_a_touchpoint_and_read_back(survey, writer):
    body = {"touchpoint": "on-time-delivery", "survey": "delivery-nps", "delay_minutes": 120, "sample_percent": 40}

    response = writer.post(URL, body, format="json")

    assert response.status_code == 201
    rule = SurveyRule.objects.get()
    assert (rule.touchpoint.code, rule.survey, rule.delay_minutes, rule.sample_percent) == (
        "on-time-delivery",
        survey,
        120,
        40,
    )
    assert writer.get(URL + "on-time-delivery/").json()["sample_percent"] == 40


def test_a_second_rule_for_the_same_touchpoint_is_refused_with_what_to_do(survey, writer):
    writer.post(URL, {"touchpoint": "on-time-delivery", "survey": "delivery-nps"}, format="json")

    response = writer.post(URL, {"touchpoint": "on-time-delivery", "survey": "delivery-nps"}, format="json")

    assert response.status_code == 400
    assert "PATCH" in response.json()["errors"]["touchpoint"][0]


def test_a_rule_is_changed_by_its_touchpoint_code(survey, writer):
    writer.post(URL, {"touchpoint": "on-time-delivery", "survey": "delivery-nps"}, format="json")

    response = writer.patch(URL + "on-time-delivery/", {"active": False, "delay_minutes": 30}, format="json")

    assert response.status_code == 200
    assert SurveyRule.objects.filter(active=False, delay_minutes=30).count() == 1


def test_a_sample_outside_1_to_100_is_refused(survey, writer):
    response = writer.post(
        URL, {"touchpoint": "on-time-delivery", "survey": "delivery-nps", "sample_percent": 0}, format="json"
    )
    assert response.status_code == 400
    assert "sample_percent" in response.json()["errors"]


def test_a_key_without_surveys_write_may_not_touch_rules(survey):
    response = key_client(Scope.CATALOGUE_READ).post(
        URL, {"touchpoint": "on-time-delivery", "survey": "delivery-nps"}, format="json"
    )
    assert response.status_code == 403
    assert SurveyRule.objects.count() == 0
