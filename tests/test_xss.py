"""Script and HTML typed into any user-editable text field is shown as text on every page that
shows it, in headless Chromium, under the Content-Security-Policy: nothing executes, nothing is
injected into the page, and no page (the admin and the API docs included) breaks the policy."""

import pytest
from django.urls import reverse

from experiences.models import Experience
from feedback.models import Case, LadderSuggestion, Survey
from feedback.services import comment_on_case, create_invitations, record_response, resolve_case
from feedback.tokens import invitation_token
from integrations.models import WebhookSubscription
from journeys.models import Journey, JourneyStep
from tests.dashboard_data import experience, log
from tests.factories import CustomerFactory, DepartmentFactory, TouchpointFactory, UserFactory

pytestmark = pytest.mark.browser
PASSWORD = "correct-horse-battery"
WATCH = """
window.__xss = [];
window.__csp = [];
document.addEventListener("securitypolicyviolation", e => window.__csp.push(`${e.violatedDirective} ${e.blockedURI}`));
"""
INJECTED = (
    "img[src='x'], svg[onload], iframe, [onerror], [onload], "
    "script:not([src]):not([nonce]):not([type='application/json'])"  # json_script data is not run
)
SHOWN = """() => document.body.innerText.includes("<img src=x")
    || [...document.querySelectorAll("input, textarea, option")]
        .some(f => (f.value + f.textContent).includes("<img src=x"))"""


def payload(field: str, limit: int = 200) -> str:
    """Markup that, if it ever reached the page unescaped, would record `field` in window.__xss."""
    text = (
        f"{field}<img src=x onerror=\"__xss.push('{field}')\"><script>__xss.push('{field}')</script>"
        f"\"'><svg onload=__xss.push('{field}')>"
    )
    return text[:limit]


@pytest.fixture
def hostile(transactional_db, django_capture_on_commit_callbacks):
    """Every free-text field a person can fill, filled with markup; returns the pages that show them."""
    department = DepartmentFactory(code="logistics", name=payload("dept", 120))
    touchpoint = TouchpointFactory(code="on-time-delivery", name=payload("touchpoint", 160), owner=department)
    touchpoint.description = payload("description", 400)
    touchpoint.save()
    UserFactory(
        username="ada", role="admin", is_staff=True, is_superuser=True, departments=[department], password=PASSWORD
    )
    acme = CustomerFactory(external_id="ACME-1", name="Acme " + payload("customer"), segment=payload("segment", 60))
    log(
        django_capture_on_commit_callbacks,
        experience(acme, touchpoint, "negative", intensity=5, note=payload("note", 4000)),
        experience(acme, touchpoint, "negative", intensity=5, days_ago=2, note=payload("note2", 4000)),
    )
    first, second = Case.objects.order_by("pk")
    admin = first.experience.recorded_by or UserFactory(username="ada")
    comment_on_case(case=first, author=admin, body=payload("case-comment", 4000))
    resolve_case(case=second, by=admin, resolution=payload("resolution", 4000))
    journey = Journey.objects.create(slug="delivery-path", name=payload("journey", 120))
    JourneyStep.objects.create(journey=journey, touchpoint=touchpoint, stage=touchpoint.stage, position=1)
    survey = Survey.objects.create(
        slug="delivery-nps",
        name=payload("survey"),
        kind="nps",
        touchpoint=touchpoint,
        question=payload("question", 300),
    )
    other = CustomerFactory(external_id="ACME-2", name="Acme " + payload("other-customer"))
    with django_capture_on_commit_callbacks(execute=True):
        create_invitations(survey=survey, customers=[acme, other])
        record_response(invitation=acme.invitations.get(), score=1, comment=payload("survey-comment", 2000))
    LadderSuggestion.objects.create(customer=acme, from_level="communication", to_level="conversation", reason="earned")
    WebhookSubscription.objects.create(
        url="http://127.0.0.1:9/", events=["case.opened"], secret="x", description=payload("webhook", 200)
    )
    return [
        "/log/",
        f"/log/?recorded={Experience.objects.filter(source='form').earliest('pk').pk}",
        "/log/customers/?customer=Acme",
        "/dashboards/",
        "/dashboards/logistics/",
        "/customers/ACME-1/",
        "/journeys/delivery-path/",
        "/cases/",
        f"/cases/{first.pk}/",
        f"/cases/{second.pk}/",
        "/cases/answers/",
        "/ladder/",
        "/ladder/share-of-wallet/",
        reverse("survey-answer", args=[invitation_token(other.invitations.get())]),
        "/admin/customers/customer/",
        f"/admin/customers/customer/{acme.pk}/change/",
        "/admin/experiences/experience/",
        "/admin/touchpoints/touchpoint/",
        f"/admin/touchpoints/touchpoint/{touchpoint.pk}/change/",
        "/admin/touchpoints/department/",
        "/admin/journeys/journey/",
        "/admin/feedback/case/",
        "/admin/feedback/response/",
        "/admin/feedback/survey/",
        f"/admin/integrations/webhooksubscription/{WebhookSubscription.objects.get().pk}/change/",
    ]


def visit(page, path: str) -> dict:
    response = page.goto(path)
    page.wait_for_load_state("networkidle")
    return {
        "status": response.status,
        "executed": page.evaluate("window.__xss"),
        "injected": page.evaluate(f"[...document.querySelectorAll({INJECTED!r})].map(e => e.outerHTML.slice(0, 120))"),
        "violations": page.evaluate("window.__csp"),
        "shown": page.evaluate(SHOWN),
    }


def test_markup_in_every_text_field_is_shown_as_text_and_never_runs(hostile, page, log_in):
    page.context.add_init_script(WATCH)
    log_in("ada", PASSWORD)
    problems = []
    for path in hostile:
        seen = visit(page, path)
        if seen["status"] != 200 or seen["executed"] or seen["injected"] or seen["violations"]:
            problems.append(f"{path}: {seen}")
        elif not seen["shown"] and path != "/log/":
            problems.append(f"{path}: the payload is not shown as text")

    assert not problems, "\n".join(problems)


def test_customer_search_as_you_type_inserts_names_as_text(hostile, page, log_in):
    page.context.add_init_script(WATCH)
    log_in("ada", PASSWORD)
    page.goto("/log/")

    page.get_by_label("Customer").press_sequentially("Acme", delay=50)
    page.wait_for_load_state("networkidle")
    page.wait_for_timeout(500)

    assert page.evaluate("window.__xss") == []
    assert page.evaluate(f"document.querySelectorAll({INJECTED!r}).length") == 0
    assert page.evaluate(SHOWN)
    assert page.evaluate("window.__csp") == []


def test_the_api_docs_run_under_the_policy(hostile, page, log_in):
    page.context.add_init_script(WATCH)
    log_in("ada", PASSWORD)

    page.goto("/api/v1/docs/")
    page.wait_for_selector(".swagger-ui .info .title")
    page.wait_for_load_state("networkidle")

    assert "CXM API" in page.inner_text(".swagger-ui .info .title")
    assert page.evaluate("window.__csp") == []
