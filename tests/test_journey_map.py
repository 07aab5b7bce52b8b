"""The journey map: a score per step for the period, the most frequent emotion, the weakest step marked."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from journeys.models import Journey, JourneyStep
from tests.dashboard_data import experience, log, two_departments
from tests.factories import CustomerFactory, TouchpointFactory
from touchpoints.models import Touchpoint


@pytest.fixture
def order_to_delivery(db, django_capture_on_commit_callbacks):
    logistics, billing, delivery, invoice, users = two_departments()
    website = TouchpointFactory(code="website", name="Website", owner=logistics, stage="perception")
    customer = CustomerFactory(external_id="ACME-1")
    log(
        django_capture_on_commit_callbacks,
        experience(customer, website, "positive", emotion="delighted"),
        experience(customer, delivery, "negative", emotion="angry"),
        experience(customer, delivery, "negative", emotion="angry"),
        experience(customer, delivery, "positive", emotion="relieved"),
        experience(customer, invoice, "negative", stage="remembrance"),
    )
    journey = Journey.objects.create(slug="order-to-delivery", name="Order to delivery")
    for position, (touchpoint, stage) in enumerate(
        [(website, "perception"), (delivery, "interaction"), (invoice, "remembrance")], start=1
    ):
        JourneyStep.objects.create(journey=journey, touchpoint=touchpoint, stage=stage, position=position)
    return users


def steps_of(client, url="/journeys/order-to-delivery/"):
    return {f.step.touchpoint.code: f for f in client.get(url).context["map"].steps}


def test_each_step_shows_its_volume_and_most_frequent_emotion(client, order_to_delivery):
    client.force_login(order_to_delivery["admin"])
    steps = steps_of(client)
    assert (steps["on-time-delivery"].report.experiences, steps["on-time-delivery"].emotion) == (3, "Angry")
    assert steps["website"].emotion == "Delighted"


def test_weakest_step_is_marked(client, order_to_delivery):
    client.force_login(order_to_delivery["admin"])
    response = client.get("/journeys/order-to-delivery/")
    assert response.context["map"].weakest.step.touchpoint.code == "clear-invoice"
    assert "Weakest step" in response.content.decode()


def test_steps_sit_in_the_column_of_their_stage(client, order_to_delivery):
    client.force_login(order_to_delivery["admin"])
    columns = client.get("/journeys/order-to-delivery/").context["map"].columns
    assert [(stage, [f.step.position for f in steps]) for stage, _label, steps in columns] == [
        ("perception", [1]),
        ("interaction", [2]),
        ("remembrance", [3]),
    ]


def test_manager_figures_leave_out_other_departments(client, order_to_delivery):
    client.force_login(order_to_delivery["manager"])  # manages logistics, not billing
    steps = steps_of(client)
    assert steps["clear-invoice"].report.experiences == 0
    assert steps["on-time-delivery"].weakest


def test_a_period_without_experiences_empties_the_steps(client, order_to_delivery):
    client.force_login(order_to_delivery["admin"])
    response = client.get("/journeys/order-to-delivery/?period=custom&start=2025-01-01&end=2025-01-02")
    assert response.context["map"].weakest is None
    assert "No experiences at this journey" in response.content.decode()


def test_step_export_lists_the_steps_in_order(client, order_to_delivery):
    client.force_login(order_to_delivery["admin"])
    body = b"".join(client.get("/journeys/order-to-delivery/?export=steps").streaming_content).decode()
    assert [line.split(",")[1] for line in body.splitlines()[1:]] == ["Website", "On-time delivery", "Clear invoice"]


def test_journey_page_needs_few_queries(client, order_to_delivery, django_assert_max_num_queries):
    client.force_login(order_to_delivery["manager"])
    with django_assert_max_num_queries(20):
        assert client.get("/journeys/order-to-delivery/").status_code == 200


def test_the_steps_emotions_are_read_from_the_touchpoint_index_alone(client, order_to_delivery):
    """Stage and emotion ride in the (touchpoint, occurred_at) index, so a step's latest experiences cost no
    read of the table however many there are (docs/performance.md). The planner is kept off the table as
    it would keep itself on a large one; on a handful of rows it would read the table whole."""
    client.force_login(order_to_delivery["admin"])
    with CaptureQueriesContext(connection) as captured:
        assert client.get("/journeys/order-to-delivery/").status_code == 200
    emotions = next(query["sql"] for query in captured.captured_queries if "x.emotion" in query["sql"])
    with connection.cursor() as cursor:
        cursor.execute("SET LOCAL enable_seqscan = off")
        cursor.execute("SET LOCAL enable_bitmapscan = off")
        cursor.execute("EXPLAIN " + emotions)
        plan = "\n".join(row[0] for row in cursor.fetchall())
    reads = [line for line in plan.splitlines() if " on experiences_experience_" in line]
    assert reads, plan
    assert all("Index Only Scan Backward using" in line and "touchpoint_id_occurred_at" in line for line in reads), plan


def test_segment_filter_narrows_every_step(client, order_to_delivery, django_capture_on_commit_callbacks):
    delivery = Touchpoint.objects.get(code="on-time-delivery")
    big = CustomerFactory(external_id="ENT-1", segment="enterprise")
    log(django_capture_on_commit_callbacks, experience(big, delivery, "positive", emotion="delighted"))
    client.force_login(order_to_delivery["admin"])
    everyone = steps_of(client)["on-time-delivery"]
    enterprise = steps_of(client, "/journeys/order-to-delivery/?segment=enterprise")
    assert (everyone.report.experiences, everyone.emotion) == (4, "Angry")
    assert (enterprise["on-time-delivery"].report.experiences, enterprise["on-time-delivery"].emotion) == (
        1,
        "Delighted",
    )
    assert enterprise["website"].report.experiences == 0


def test_experience_export_of_a_journey_follows_the_segment(
    client, order_to_delivery, django_capture_on_commit_callbacks
):
    big = CustomerFactory(external_id="ENT-1", segment="enterprise")
    log(django_capture_on_commit_callbacks, experience(big, Touchpoint.objects.get(code="website"), "positive"))
    client.force_login(order_to_delivery["admin"])
    response = client.get("/journeys/order-to-delivery/?segment=enterprise&export=experiences")
    rows = b"".join(response.streaming_content).decode().splitlines()[1:]
    assert [row.split(",")[1] for row in rows] == ["ENT-1"]
