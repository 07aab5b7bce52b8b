"""`customer.at_risk` deliveries are written by one INSERT … SELECT, in the API's shape of a customer."""

from datetime import datetime
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
from django.db.models import F

from customers.models import Customer
from customers.serializers import CustomerSerializer
from integrations.models import WebhookDelivery, WebhookSubscription
from integrations.services import publish_customers_at_risk
from scoring.models import CustomerScore

from .factories import CustomerFactory


def at_risk(customer: Customer, **score) -> Customer:
    defaults = {
        "index": 31.25,
        "balance": -7.1,
        "recovery_debt": 4,
        "positive_mass": 0.30000000000000004,
        "negative_mass": 1.5,
        "positives": 1,
        "neutrals": 0,
        "negatives": 2,
        "scored_at": datetime(2026, 7, 1, 12, 30, tzinfo=ZoneInfo("UTC")),
    }
    CustomerScore.objects.create(customer=customer, **(defaults | score))
    return Customer.objects.select_related("score").get(pk=customer.pk)


@pytest.mark.parametrize(
    "fields, score",
    [
        ({"category_spend": Decimal("1200.00"), "our_revenue": Decimal("300.50"), "segment": "smb"}, {}),
        ({"category_spend": None, "our_revenue": Decimal("10.00")}, {"index": None}),
        ({}, {"scored_at": datetime(2026, 1, 15, 23, 59, 59, 123456, tzinfo=ZoneInfo("UTC"))}),
    ],
)
def test_the_payload_is_the_customer_as_the_api_shows_it(db, fields, score):
    customer = at_risk(CustomerFactory(**fields), **score)
    WebhookSubscription.objects.create(url="https://crm.example/hooks", events=["customer.at_risk"], secret="s" * 32)

    assert publish_customers_at_risk(customer_ids=[customer.pk]) == 1

    assert WebhookDelivery.objects.get().payload == CustomerSerializer(customer).data


def test_one_statement_writes_a_delivery_per_customer_and_subscriber(db, django_assert_num_queries):
    customers = [at_risk(CustomerFactory()) for _ in range(30)]
    for n in range(3):
        WebhookSubscription.objects.create(url=f"https://crm{n}.example/", events=["customer.at_risk"], secret="s" * 32)
    WebhookSubscription.objects.create(url="https://other.example/", events=["case.opened"], secret="s" * 32)

    with django_assert_num_queries(2):  # are there subscribers? then the INSERT … SELECT
        written = publish_customers_at_risk(customer_ids=[c.pk for c in customers])

    assert written == WebhookDelivery.objects.count() == 90
    assert WebhookDelivery.objects.filter(next_attempt_at__lte=F("created_at")).count() == 90
