"""The staff logging form at /log/: find the customer, log in seconds, see the score, keep input on errors."""

import re
from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from accounts.models import Role
from customers.models import Customer
from experiences.models import Experience
from scoring.models import CustomerScore
from touchpoints.models import TouchpointOwner

from .factories import CustomerFactory, DepartmentFactory, TouchpointFactory, UserFactory

LOG_URL = "/log/"


def entry(**fields):
    """What a clerk submits for a negative delivery at Acme, unless told otherwise."""
    return {
        "customer": "ACME-1",
        "touchpoint": "on-time-delivery",
        "valence": "negative",
        "intensity": "4",
        "emotion": "frustrated",
        "expectation": "missed",
        "outcome": "failed",
        "note": "Parcel came two days late",
        **fields,
    }


def checked(page: str, name: str) -> list[str]:
    """The values of the radio buttons of `name` that are checked on the page."""
    return re.findall(rf'<input type="radio" name="{name}" value="([^"]*)"[^>]*\bchecked\b', page)


@pytest.fixture
def other_touchpoint(db):
    billing = DepartmentFactory(code="billing", name="Billing")
    return TouchpointFactory(code="clear-invoice", name="Clear invoice", owner=billing)


@pytest.fixture
def staff_client(client, staff_user):
    client.force_login(staff_user)
    return client


def test_anonymous_user_is_sent_to_the_login_page(client, db):
    response = client.get(LOG_URL)

    assert response.status_code == 302
    assert response.url == f"{reverse('login')}?next={LOG_URL}"


def test_logged_experience_is_stored_with_what_was_entered(staff_client, staff_user, customer, touchpoint, department):
    response = staff_client.post(LOG_URL, entry())

    stored = Experience.objects.get()
    assert response.status_code == 302
    assert response.url == f"{LOG_URL}?recorded={stored.pk}"
    assert stored.customer == customer
    assert stored.touchpoint == touchpoint
    assert stored.department == department
    assert (stored.valence, stored.intensity) == (-1, 4)
    assert (stored.emotion, stored.expectation, stored.outcome) == ("frustrated", "missed", "failed")
    assert stored.note == "Parcel came two days late"
    assert stored.source == "form"
    assert stored.recorded_by == staff_user


def test_intensity_defaults_to_three_and_optional_fields_may_stay_empty(staff_client, customer, touchpoint):
    staff_client.post(
        LOG_URL, {"customer": "ACME-1", "touchpoint": "on-time-delivery", "valence": "positive", "intensity": "3"}
    )

    stored = Experience.objects.get()
    assert (stored.valence, stored.intensity, stored.emotion, stored.outcome, stored.note) == (1, 3, "", "", "")


def test_form_offers_intensity_three_already_chosen(staff_client, touchpoint):
    page = staff_client.get(LOG_URL).content.decode()

    assert checked(page, "intensity") == ["3"]


def test_confirmation_shows_what_was_recorded_with_an_empty_form(staff_client, customer, touchpoint):
    page = staff_client.post(LOG_URL, entry(), follow=True).content.decode()

    assert "Recorded" in page
    assert "On-time delivery" in page
    assert "Acme Ltd" in page
    assert 'name="customer" value=' not in page
    assert "Parcel came two days late" not in page


def test_score_is_being_computed_until_the_customer_is_rescored(staff_client, customer, touchpoint):
    earlier = timezone.now() - timedelta(days=1)
    CustomerScore.objects.create(customer=customer, index=80, recovery_debt=0, scored_at=earlier)

    page = staff_client.post(LOG_URL, entry(), follow=True).content.decode()

    assert "being computed" in page
    assert "Recovery debt" not in page


def test_confirmation_shows_index_and_recovery_debt_once_scored(
    staff_client, customer, touchpoint, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        response = staff_client.post(LOG_URL, entry(intensity="3", outcome=""))

    page = staff_client.get(response.url).content.decode()
    assert "being computed" not in page
    assert "Customer index" in page
    # one negative of intensity 3 and nothing else: index 0, five standard positives owed
    assert "<strong>0</strong> / 100" in page
    assert "<strong>5</strong>" in page
    assert "at risk" in page


def test_validation_error_keeps_what_was_typed(staff_client, customer, touchpoint):
    response = staff_client.post(LOG_URL, entry(valence=""))

    page = response.content.decode()
    assert response.status_code == 200
    assert Experience.objects.count() == 0
    assert "Choose positive, neutral or negative." in page
    assert 'value="ACME-1"' in page
    assert "Parcel came two days late" in page
    assert checked(page, "intensity") == ["4"]
    assert checked(page, "expectation") == ["missed"]
    assert '<option value="frustrated" selected>' in page


def test_unknown_customer_without_a_name_asks_to_pick_or_create(staff_client, touchpoint):
    page = staff_client.post(LOG_URL, entry(customer="NOBODY-9")).content.decode()

    assert "No customer “NOBODY-9”" in page
    assert "New customer" in page
    assert Experience.objects.count() == 0


def test_new_customer_is_created_inline(staff_client, touchpoint):
    staff_client.post(LOG_URL, entry(customer="NEW-77", new_customer_name="Zed Corp", new_customer_email="z@zed.test"))

    created = Customer.objects.get(external_id="NEW-77")
    assert (created.name, created.email) == ("Zed Corp", "z@zed.test")
    assert Experience.objects.get().customer == created


def test_new_customer_name_does_not_rename_an_existing_customer(staff_client, customer, touchpoint):
    staff_client.post(LOG_URL, entry(new_customer_name="Someone Else"))

    customer.refresh_from_db()
    assert customer.name == "Acme Ltd"
    assert Experience.objects.get().customer == customer


def test_customer_may_be_typed_by_exact_name(staff_client, customer, touchpoint):
    staff_client.post(LOG_URL, entry(customer="acme ltd"))

    assert Experience.objects.get().customer == customer


def test_staff_see_their_touchpoints_first_then_others_by_owning_department(staff_client, touchpoint, other_touchpoint):
    other_touchpoint.description = "The invoice is right the first time.\nMore detail that stays off the list."
    other_touchpoint.save()

    page = staff_client.get(LOG_URL).content.decode()

    assert page.index("Your departments") < page.index("On-time delivery") < page.index('label="Billing"')
    assert "Clear invoice — The invoice is right the first time." in page
    assert "More detail" not in page


def test_staff_report_at_another_departments_touchpoint_and_that_department_answers(
    staff_client, staff_user, customer, department, other_touchpoint
):
    response = staff_client.post(LOG_URL, entry(touchpoint="clear-invoice"))

    assert response.status_code == 302
    logged = Experience.objects.get()
    assert (logged.department.code, logged.reported_from_department, logged.recorded_by) == (
        "billing",
        department,
        staff_user,
    )


def test_an_inactive_touchpoint_cannot_be_logged(staff_client, customer, other_touchpoint):
    other_touchpoint.active = False
    other_touchpoint.save()

    response = staff_client.post(LOG_URL, entry(touchpoint="clear-invoice"))

    assert response.status_code == 200
    assert "Choose one of the active touchpoints in the list" in response.content.decode()
    assert Experience.objects.count() == 0


def test_admin_may_log_for_any_touchpoint(client, customer, other_touchpoint):
    client.force_login(UserFactory(username="root", role=Role.ADMIN))

    client.post(LOG_URL, entry(touchpoint="clear-invoice"))

    assert Experience.objects.get().department.code == "billing"


def test_experience_is_answered_by_the_users_own_owning_department(client, customer, touchpoint):
    service = DepartmentFactory(code="customer-service")
    TouchpointOwner.objects.create(touchpoint=touchpoint, department=service, primary=False)
    client.force_login(UserFactory(username="bea", departments=[service]))

    client.post(LOG_URL, entry())

    assert Experience.objects.get().department == service


def test_customer_text_is_escaped_on_the_page(staff_client, touchpoint):
    staff_client.post(LOG_URL, entry(customer="X-1", new_customer_name="<script>alert(1)</script>"), follow=True)

    page = staff_client.get(f"{LOG_URL}?recorded={Experience.objects.get().pk}").content.decode()
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page
    assert "<script>alert(1)" not in page


def test_another_users_experience_is_not_confirmed(client, staff_client, customer, touchpoint, department):
    response = staff_client.post(LOG_URL, entry())
    client.force_login(UserFactory(username="carl", departments=[department]))

    page = client.get(response.url).content.decode()

    assert "Acme Ltd" not in page


def test_customer_search_ranks_an_exact_customer_number_first(staff_client, db):
    CustomerFactory(external_id="AC-10", name="Acorn Bakery")
    CustomerFactory(external_id="AC-1", name="Zeta Acoustics")

    page = staff_client.get(reverse("customer-search"), {"customer": "ac-1"}).content.decode()

    assert page.index('value="AC-1"') < page.index('value="AC-10"')
    assert "Zeta Acoustics" in page


def test_customer_search_finds_by_name_or_whole_email_and_never_shows_an_email(staff_client, db):
    CustomerFactory(external_id="C-1", name="Northwind Traders", email="buyer@northwind.test")
    CustomerFactory(external_id="C-2", name="Fabrikam", email="orders@fabrikam.test")

    by_name = staff_client.get(reverse("customer-search"), {"customer": "wind"}).content.decode()
    by_email = staff_client.get(reverse("customer-search"), {"customer": "orders@fabrikam.test"}).content.decode()
    by_part = staff_client.get(reverse("customer-search"), {"customer": "orders@"}).content.decode()

    assert 'value="C-1"' in by_name and 'value="C-2"' not in by_name
    assert 'value="C-2"' in by_email and 'value="C-1"' not in by_email
    assert 'value="C-2"' not in by_part
    assert "northwind.test" not in by_name and "fabrikam.test" not in by_email


def test_customer_search_returns_at_most_ten_suggestions(staff_client, db):
    CustomerFactory.create_batch(15, name="Contoso branch")

    page = staff_client.get(reverse("customer-search"), {"customer": "contoso"}).content.decode()

    assert page.count("<option") == 10


def test_customer_search_says_when_nothing_matches(staff_client, db):
    page = staff_client.get(reverse("customer-search"), {"customer": "zzz"}).content.decode()

    assert "No customer matches “zzz”" in page


def test_score_being_computed_is_asked_for_again_for_at_most_thirty_seconds(staff_client, customer, touchpoint):
    response = staff_client.post(LOG_URL, entry())
    pk = Experience.objects.get().pk
    score_url = reverse("recorded-score", args=[pk])

    first = staff_client.get(score_url, {"attempt": "1"}).content.decode()
    last = staff_client.get(score_url, {"attempt": "15"}).content.decode()

    assert response.status_code == 302
    assert f'hx-get="{score_url}?attempt=2"' in first
    assert "hx-get" not in last
    assert "Reload the page in a moment" in last


def test_score_of_another_users_experience_is_not_found(client, staff_client, customer, touchpoint, department):
    staff_client.post(LOG_URL, entry())
    client.force_login(UserFactory(username="carl", departments=[department]))

    response = client.get(reverse("recorded-score", args=[Experience.objects.get().pk]))

    assert response.status_code == 404


def submission_of(page: str) -> str:
    return re.search(r'name="submission" value="([0-9a-f]{32})"', page).group(1)


def test_double_submit_of_one_page_logs_one_experience(client, staff_user, touchpoint, customer):
    client.force_login(staff_user)
    token = submission_of(client.get(LOG_URL).content.decode())
    first = client.post(LOG_URL, entry(submission=token))
    second = client.post(LOG_URL, entry(submission=token))
    assert Experience.objects.count() == 1
    assert first.status_code == second.status_code == 302
    assert first["Location"] == second["Location"]


def test_each_new_page_logs_a_new_experience(client, staff_user, touchpoint, customer):
    client.force_login(staff_user)
    for _ in range(2):
        client.post(LOG_URL, entry(submission=submission_of(client.get(LOG_URL).content.decode())))
    assert Experience.objects.count() == 2
    assert Experience.objects.filter(recorded_by=staff_user).count() == 2


def test_a_page_resent_with_other_values_asks_to_check_and_gets_a_fresh_token(client, staff_user, touchpoint, customer):
    client.force_login(staff_user)
    token = submission_of(client.get(LOG_URL).content.decode())
    client.post(LOG_URL, entry(submission=token))
    page = client.post(LOG_URL, entry(submission=token, note="Something else")).content.decode()
    assert "already sent with other values" in page
    assert "Something else" in page
    fresh = submission_of(page)
    assert fresh != token
    client.post(LOG_URL, entry(submission=fresh, note="Something else"))
    assert Experience.objects.count() == 2


def test_a_valid_post_reads_neither_the_touchpoint_list_nor_the_owners(
    staff_client, customer, touchpoint, other_touchpoint, django_assert_num_queries
):
    """The session, the user, the customer, the logger's departments and the write: the touchpoint is checked
    and the owner chosen from the catalogue the write path keeps in memory (read by the first post)."""
    staff_client.post(LOG_URL, entry())
    with django_assert_num_queries(5):
        response = staff_client.post(LOG_URL, entry(touchpoint="clear-invoice"))
    assert response.status_code == 302
    assert Experience.objects.order_by("pk").last().department.code == "billing"
