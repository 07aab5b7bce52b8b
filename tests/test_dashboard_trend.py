"""The index over time: per day when days are busy, per week when they are sparse, with the volume beside it."""

import json
import re

from tests.dashboard_data import experience, log, two_departments
from tests.factories import CustomerFactory


def chart_of(page: str) -> dict:
    return json.loads(re.search(r'<script id="trend-data" type="application/json">(.*?)</script>', page, re.S).group(1))


def test_sparse_days_are_drawn_as_weekly_points_with_their_volume(client, db, django_capture_on_commit_callbacks):
    logistics, _, delivery, _, users = two_departments()
    acme = CustomerFactory(external_id="ACME-1")
    log(django_capture_on_commit_callbacks, experience(acme, delivery, "positive", days_ago=2))
    log(django_capture_on_commit_callbacks, experience(acme, delivery, "negative", days_ago=3))
    client.force_login(users["manager"])

    page = client.get("/dashboards/logistics/?period=30").content.decode()

    chart = chart_of(page)
    assert "Index per week" in page and "Week from" in page
    assert len(chart["labels"]) in (5, 6)  # the weeks that the 30 days touch
    assert sum(chart["volumes"]) == 2 and chart["volume_label"] == "experiences"


def test_busy_days_keep_one_point_per_day(client, db, django_capture_on_commit_callbacks):
    logistics, _, delivery, _, users = two_departments()
    customers = [CustomerFactory() for _ in range(6)]
    for days_ago in range(1, 8):
        log(
            django_capture_on_commit_callbacks,
            *[experience(c, delivery, "positive", days_ago=days_ago + 0.1) for c in customers],
        )
    client.force_login(users["manager"])

    page = client.get("/dashboards/logistics/?period=7").content.decode()

    chart = chart_of(page)
    assert "Index per day" in page
    assert len(chart["labels"]) == 7
    assert sorted(chart["volumes"])[3] == 6  # the median day: six experiences
