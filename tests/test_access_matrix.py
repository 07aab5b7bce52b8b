"""Who gets what at every URL of the project: each pattern × each role, walked from the URL resolver.

A pattern that the matrix does not list fails `test_every_url_pattern_is_in_the_matrix`, so a new
page cannot escape it. Roles: anonymous, staff (Logistics), a manager of another department
(Billing), the Logistics manager, a CX admin (also a Django superuser), and API keys. On API
patterns every scope is tried on its own; on pages, which take no API key, one key holding
every scope stands for them all and is treated like an anonymous visitor.
"""

from __future__ import annotations

import re

import pytest
from axes.models import AccessAttempt, AccessFailureLog, AccessLog
from django.contrib.admin import site as admin_site
from django.contrib.auth.models import Group
from django.contrib.contenttypes.models import ContentType
from django.urls import URLPattern, URLResolver, get_resolver
from rest_framework.test import APIClient
from rest_framework_api_key.models import APIKey

from accounts.models import User
from feedback.models import Case, LadderSuggestion, Response, Survey
from feedback.services import create_invitations, invitation_token, record_response
from integrations.models import ImportJob, Scope, WebhookDelivery, WebhookSubscription
from integrations.services import create_api_key
from journeys.models import Journey, JourneyStep
from privacy.models import AuditEntry
from tests.api import key_client
from tests.dashboard_data import experience, log
from tests.factories import CustomerFactory, DepartmentFactory, TouchpointFactory

ROLES = ("anonymous", "staff", "other_manager", "manager", "admin")
KEY_ROLES = tuple(f"key {scope}" for scope in Scope.values)
L = 302  # to a log-in page
APP_LIST = "admin/<an app's model list>"  # its pattern lists every app label: it changes as apps are added
A = L  # the admin's own log-in page, for everyone who is not staff of the Django admin
# Django admin URLs of each registered model; these are the models the matrix knows.
ADMIN_MODELS = {
    "auth/group",
    "rest_framework_api_key/apikey",
    "accounts/user",
    "touchpoints/department",
    "touchpoints/touchpoint",
    "customers/customer",
    "experiences/experience",
    "journeys/journey",
    "scoring/customerscore",
    "feedback/survey",
    "feedback/invitation",
    "feedback/response",
    "feedback/case",
    "feedback/laddersuggestion",
    "integrations/apikey",
    "integrations/webhooksubscription",
    "integrations/webhookdelivery",
    "privacy/auditentry",
    "axes/accessattempt",
    "axes/accesslog",
    "axes/accessfailurelog",
}
# Per admin model: the statuses the CX admin gets where not 200. Experiences enter only through the
# write path (the admin imports CSV instead), scores and deliveries are derived, answers come from
# customers, lock-out records from django-axes, and the audit log is never edited.
NO_ADD = {"add/": 403}
ADMIN_EXCEPTIONS = {
    "experiences/experience": NO_ADD,
    "scoring/customerscore": NO_ADD,
    "feedback/response": NO_ADD,
    "integrations/webhookdelivery": NO_ADD,
    "axes/accessattempt": NO_ADD,
    "axes/accesslog": NO_ADD,
    "axes/accessfailurelog": NO_ADD,
    "privacy/auditentry": {**NO_ADD, "<path:object_id>/delete/": 403},
}
ADMIN_SUFFIXES = {
    "": "",
    "add/": "add/",
    "<path:object_id>/history/": "{pk}/history/",
    "<path:object_id>/delete/": "{pk}/delete/",
    "<path:object_id>/change/": "{pk}/change/",
    "<path:object_id>/": "{pk}/",
}

# pattern -> checks: (method, path, statuses of ROLES, API scope or None, status for a key with the scope)
# For pages (scope None) every API key gets the anonymous status.
MATRIX: dict[str, list[tuple]] = {
    "": [("get", "/", (L, 302, 302, 302, 302), None, None)],
    "favicon.ico": [("get", "/favicon.ico", (301, 301, 301, 301, 301), None, None)],
    "healthz": [("get", "/healthz", (200, 200, 200, 200, 200), None, None)],
    "readyz": [("get", "/readyz", (200, 200, 200, 200, 200), None, None)],
    "login/": [("get", "/login/", (200, 302, 302, 302, 302), None, None)],
    "logout/": [("post", "/logout/", (302, 302, 302, 302, 302), None, None)],
    "log/": [("get", "/log/", (L, 200, 200, 200, 200), None, None)],
    "log/customers/": [("get", "/log/customers/?q=Acme", (L, 200, 200, 200, 200), None, None)],
    "log/recorded/<int:pk>/score/": [("get", "/log/recorded/{experience}/score/", (L, 200, 404, 404, 404), None, None)],
    "dashboards/": [("get", "/dashboards/", (L, 302, 200, 200, 200), None, None)],  # staff: to their department
    "dashboards/<slug:code>/": [("get", "/dashboards/logistics/", (L, 200, 404, 200, 200), None, None)],
    "customers/<path:external_id>/": [("get", "/customers/ACME-1/", (L, 403, 404, 200, 200), None, None)],
    "journeys/<slug:slug>/": [("get", "/journeys/delivery-path/", (L, 403, 404, 200, 200), None, None)],
    "s/<str:token>/": [("get", "/s/{token}/", (200, 200, 200, 200, 200), None, None)],
    "cases/": [("get", "/cases/", (L, 403, 200, 200, 200), None, None)],
    "cases/<int:pk>/": [("get", "/cases/{case}/", (L, 403, 404, 200, 200), None, None)],
    "cases/<int:pk>/assign/": [("post", "/cases/{case}/assign/", (L, 403, 404, 302, 302), None, None)],
    "cases/<int:pk>/comment/": [("post", "/cases/{case}/comment/", (L, 403, 404, 400, 400), None, None)],
    "cases/<int:pk>/resolve/": [("post", "/cases/{case}/resolve/", (L, 403, 404, 400, 400), None, None)],
    "cases/answers/": [("get", "/cases/answers/", (L, 403, 200, 200, 200), None, None)],
    "cases/answers/<int:pk>/reviewed/": [
        ("post", "/cases/answers/{response}/reviewed/", (L, 403, 404, 302, 302), None, None)
    ],
    "ladder/": [("get", "/ladder/", (L, 403, 200, 200, 200), None, None)],
    # The ladder is company-wide for managers; an empty decision goes back to the list with a message.
    # Posted without a decision: past the permission gate, the request itself is refused (400).
    "ladder/<int:pk>/decide/": [("post", "/ladder/{suggestion}/decide/", (L, 403, 400, 400, 400), None, None)],
    "ladder/share-of-wallet/": [("get", "/ladder/share-of-wallet/", (L, 403, 200, 200, 200), None, None)],
    # The REST API: 401 without credentials; a session user by role (integrations/permissions.py).
    # The schema and its docs describe the API and hold no data: public. The browsable root is for people.
    "api/v1/schema/": [("get", "/api/v1/schema/", (200, 200, 200, 200, 200), "any", 200)],
    "api/v1/docs/": [("get", "/api/v1/docs/", (200, 200, 200, 200, 200), "any", 200)],
    "api/v1/": [("get", "/api/v1/", (401, 200, 200, 200, 200), "any", 403)],
    "api/v1/<drf_format_suffix:format>": [("get", "/api/v1/.json", (401, 200, 200, 200, 200), "any", 403)],
    "api/v1/^experiences/$": [
        ("get", "/api/v1/experiences/", (401, 200, 200, 200, 200), Scope.EXPERIENCES_READ, 200),
        ("post", "/api/v1/experiences/", (401, 403, 403, 403, 400), Scope.EXPERIENCES_WRITE, 400),
    ],
    "api/v1/^experiences/(?P<pk>[0-9]{1,18})/$": [
        ("get", "/api/v1/experiences/{experience}/", (401, 200, 404, 200, 200), Scope.EXPERIENCES_READ, 200)
    ],
    "api/v1/^experiences/(?P<pk>[0-9]{1,18})\\.(?P<format>[a-z0-9]+)/?$": [
        ("get", "/api/v1/experiences/{experience}.json", (401, 200, 404, 200, 200), Scope.EXPERIENCES_READ, 200)
    ],
    "api/v1/^experiences\\.(?P<format>[a-z0-9]+)/?$": [
        ("get", "/api/v1/experiences.json", (401, 200, 200, 200, 200), Scope.EXPERIENCES_READ, 200)
    ],
    "api/v1/^customers/$": [("get", "/api/v1/customers/", (401, 200, 200, 200, 200), Scope.CUSTOMERS_READ, 200)],
    "api/v1/^customers\\.(?P<format>[a-z0-9]+)/?$": [
        ("get", "/api/v1/customers.json", (401, 200, 200, 200, 200), Scope.CUSTOMERS_READ, 200)
    ],
    # Customers are company-wide in the API (docs/api.md), unlike the timeline page (docs/security.md).
    "api/v1/^customers/(?P<external_id>[^/]+)/$": [
        # A manager of another department has no customer ACME-1 (it never dealt with their departments).
        ("get", "/api/v1/customers/ACME-1/", (401, 200, 404, 200, 200), Scope.CUSTOMERS_READ, 200),
        ("patch", "/api/v1/customers/ACME-1/", (401, 403, 403, 200, 200), Scope.CUSTOMERS_WRITE, 200),
    ],
    "api/v1/^customers/(?P<external_id>[^/]+)\\.(?P<format>[a-z0-9]+)/?$": [
        ("get", "/api/v1/customers/ACME-1.json", (401, 200, 404, 200, 200), Scope.CUSTOMERS_READ, 200)
    ],
    "api/v1/^touchpoints/$": [("get", "/api/v1/touchpoints/", (401, 200, 200, 200, 200), Scope.CATALOGUE_READ, 200)],
    "api/v1/^touchpoints\\.(?P<format>[a-z0-9]+)/?$": [
        ("get", "/api/v1/touchpoints.json", (401, 200, 200, 200, 200), Scope.CATALOGUE_READ, 200)
    ],
    "api/v1/^departments/$": [("get", "/api/v1/departments/", (401, 200, 200, 200, 200), Scope.CATALOGUE_READ, 200)],
    "api/v1/^departments\\.(?P<format>[a-z0-9]+)/?$": [
        ("get", "/api/v1/departments.json", (401, 200, 200, 200, 200), Scope.CATALOGUE_READ, 200)
    ],
    "api/v1/^departments/(?P<code>[-a-zA-Z0-9_]+)/report/$": [
        ("get", "/api/v1/departments/logistics/report/", (401, 403, 403, 200, 200), Scope.REPORTS_READ, 200)
    ],
    "api/v1/^departments/(?P<code>[-a-zA-Z0-9_]+)/report\\.(?P<format>[a-z0-9]+)/?$": [
        ("get", "/api/v1/departments/logistics/report.json", (401, 403, 403, 200, 200), Scope.REPORTS_READ, 200)
    ],
    "api/v1/^webhooks/$": [("get", "/api/v1/webhooks/", (401, 403, 403, 403, 200), Scope.WEBHOOKS_MANAGE, 200)],
    "api/v1/^webhooks\\.(?P<format>[a-z0-9]+)/?$": [
        ("get", "/api/v1/webhooks.json", (401, 403, 403, 403, 200), Scope.WEBHOOKS_MANAGE, 200)
    ],
    # A subscription belongs to the key that made it: another key (here: any key) is answered 404.
    "api/v1/^webhooks/(?P<pk>[0-9]{1,18})/$": [
        ("get", "/api/v1/webhooks/{webhook}/", (401, 403, 403, 403, 200), Scope.WEBHOOKS_MANAGE, 404)
    ],
    "api/v1/^webhooks/(?P<pk>[0-9]{1,18})\\.(?P<format>[a-z0-9]+)/?$": [
        ("get", "/api/v1/webhooks/{webhook}.json", (401, 403, 403, 403, 200), Scope.WEBHOOKS_MANAGE, 404)
    ],
    "api/v1/^webhooks/(?P<pk>[0-9]{1,18})/deliveries/$": [
        ("get", "/api/v1/webhooks/{webhook}/deliveries/", (401, 403, 403, 403, 200), Scope.WEBHOOKS_MANAGE, 404)
    ],
    "api/v1/^webhooks/(?P<pk>[0-9]{1,18})/deliveries\\.(?P<format>[a-z0-9]+)/?$": [
        ("get", "/api/v1/webhooks/{webhook}/deliveries.json", (401, 403, 403, 403, 200), Scope.WEBHOOKS_MANAGE, 404)
    ],
    "api/v1/^webhooks/(?P<pk>[0-9]{1,18})/ping/$": [
        ("post", "/api/v1/webhooks/{webhook}/ping/", (401, 403, 403, 403, 202), Scope.WEBHOOKS_MANAGE, 404)
    ],
    "api/v1/^webhooks/(?P<pk>[0-9]{1,18})/ping\\.(?P<format>[a-z0-9]+)/?$": [
        ("post", "/api/v1/webhooks/{webhook}/ping.json", (401, 403, 403, 403, 202), Scope.WEBHOOKS_MANAGE, 404)
    ],
    "api/v1/^webhooks/(?P<pk>[0-9]{1,18})/rotate-secret/$": [
        ("post", "/api/v1/webhooks/{webhook}/rotate-secret/", (401, 403, 403, 403, 200), Scope.WEBHOOKS_MANAGE, 404)
    ],
    "api/v1/^webhooks/(?P<pk>[0-9]{1,18})/rotate-secret\\.(?P<format>[a-z0-9]+)/?$": [
        ("post", "/api/v1/webhooks/{webhook}/rotate-secret.json", (401, 403, 403, 403, 200), Scope.WEBHOOKS_MANAGE, 404)
    ],
    "api/v1/^webhooks/(?P<pk>[0-9]{1,18})/deliveries/(?P<delivery_id>[0-9]{1,18})/redeliver/$": [
        (
            "post",
            "/api/v1/webhooks/{webhook}/deliveries/999999/redeliver/",
            (401, 403, 403, 403, 404),
            Scope.WEBHOOKS_MANAGE,
            404,
        )
    ],
    "api/v1/^webhooks/(?P<pk>[0-9]{1,18})/deliveries/(?P<delivery_id>[0-9]{1,18})/redeliver"
    "\\.(?P<format>[a-z0-9]+)/?$": [
        (
            "post",
            "/api/v1/webhooks/{webhook}/deliveries/999999/redeliver.json",
            (401, 403, 403, 403, 404),
            Scope.WEBHOOKS_MANAGE,
            404,
        )
    ],
    # Cases as on the case pages: staff no; a manager of another department does not see this one.
    "api/v1/^cases/$": [("get", "/api/v1/cases/", (401, 403, 200, 200, 200), Scope.CASES_READ, 200)],
    "api/v1/^cases\\.(?P<format>[a-z0-9]+)/?$": [
        ("get", "/api/v1/cases.json", (401, 403, 200, 200, 200), Scope.CASES_READ, 200)
    ],
    "api/v1/^cases/(?P<pk>[0-9]{1,18})/$": [
        ("get", "/api/v1/cases/{case}/", (401, 403, 404, 200, 200), Scope.CASES_READ, 200)
    ],
    "api/v1/^cases/(?P<pk>[0-9]{1,18})\\.(?P<format>[a-z0-9]+)/?$": [
        ("get", "/api/v1/cases/{case}.json", (401, 403, 404, 200, 200), Scope.CASES_READ, 200)
    ],
    # Survey answers: keys with responses:read and CX admins all; managers their departments' surveys.
    "api/v1/^responses/$": [("get", "/api/v1/responses/", (401, 403, 200, 200, 200), Scope.RESPONSES_READ, 200)],
    "api/v1/^responses\\.(?P<format>[a-z0-9]+)/?$": [
        ("get", "/api/v1/responses.json", (401, 403, 200, 200, 200), Scope.RESPONSES_READ, 200)
    ],
    "api/v1/^responses/(?P<pk>[0-9]{1,18})/$": [
        ("get", "/api/v1/responses/{response}/", (401, 403, 404, 200, 200), Scope.RESPONSES_READ, 200)
    ],
    "api/v1/^responses/(?P<pk>[0-9]{1,18})\\.(?P<format>[a-z0-9]+)/?$": [
        ("get", "/api/v1/responses/{response}.json", (401, 403, 404, 200, 200), Scope.RESPONSES_READ, 200)
    ],
    "api/v1/^surveys/$": [("get", "/api/v1/surveys/", (401, 200, 200, 200, 200), Scope.CATALOGUE_READ, 200)],
    "api/v1/^surveys\\.(?P<format>[a-z0-9]+)/?$": [
        ("get", "/api/v1/surveys.json", (401, 200, 200, 200, 200), Scope.CATALOGUE_READ, 200)
    ],
    # Managers invite to the surveys of their departments' touchpoints; an empty body is then refused (400).
    "api/v1/^surveys/(?P<slug>[-a-zA-Z0-9_]+)/invitations/$": [
        ("post", "/api/v1/surveys/delivery-nps/invitations/", (401, 403, 403, 400, 400), Scope.SURVEYS_WRITE, 400)
    ],
    "api/v1/^surveys/(?P<slug>[-a-zA-Z0-9_]+)/invitations\\.(?P<format>[a-z0-9]+)/?$": [
        ("post", "/api/v1/surveys/delivery-nps/invitations.json", (401, 403, 403, 400, 400), Scope.SURVEYS_WRITE, 400)
    ],
    "api/v1/^(?P<rest>[\\s\\S]*)$": [("get", "/api/v1/no-such-thing/", (404, 404, 404, 404, 404), "any", 404)],
    # The Django admin, for superusers only; its own pages beside the models' pages below.
    "admin/": [("get", "/admin/", (A, A, A, A, 200), None, None)],
    "admin/login/": [("get", "/admin/login/", (200, 200, 200, 200, 302), None, None)],
    "admin/logout/": [("post", "/admin/logout/", (302, 302, 302, 302, 302), None, None)],
    "admin/password_change/": [("get", "/admin/password_change/", (A, A, A, A, 200), None, None)],
    "admin/password_change/done/": [("get", "/admin/password_change/done/", (A, A, A, A, 200), None, None)],
    "admin/autocomplete/": [("get", "/admin/autocomplete/", (A, A, A, A, 403), None, None)],
    "admin/jsi18n/": [("get", "/admin/jsi18n/", (A, A, A, A, 200), None, None)],
    "admin/r/<path:content_type_id>/<path:object_id>/": [
        ("get", "/admin/r/{customer_type}/{customer}/", (A, A, A, A, 404), None, None)
    ],
    "admin/accounts/user/<id>/password/": [
        ("get", "/admin/accounts/user/{staff}/password/", (A, A, A, A, 200), None, None)
    ],
    "admin/experiences/experience/import/": [
        ("get", "/admin/experiences/experience/import/", (A, A, A, A, 200), None, None)
    ],
    "admin/experiences/experience/import/<int:pk>/": [
        ("get", "/admin/experiences/experience/import/{import_job}/", (A, A, A, A, 200), None, None)
    ],
    "admin/experiences/experience/import/<int:pk>/progress/": [
        ("get", "/admin/experiences/experience/import/{import_job}/progress/", (A, A, A, A, 200), None, None)
    ],
    APP_LIST: [("get", "/admin/customers/", (A, A, A, A, 200), None, None)],
    "admin/(?P<url>.*)$": [("get", "/admin/no-such-page/", (A, A, A, A, 404), None, None)],
}


def url_patterns(resolver: URLResolver | None = None, prefix: str = "") -> list[str]:
    """Every pattern of the project, as its route text with its parents' prefixes."""
    found = []
    for entry in (resolver or get_resolver()).url_patterns:
        if isinstance(entry, URLResolver):
            found += url_patterns(entry, prefix + str(entry.pattern))
        elif isinstance(entry, URLPattern):
            found.append(prefix + str(entry.pattern))
    return found


def admin_model_checks(pattern: str) -> list[tuple] | None:
    """The checks of a ModelAdmin's URL, or None when the pattern is not one."""
    for model in ADMIN_MODELS:
        head = f"admin/{model}/"
        if pattern.startswith(head) and pattern[len(head) :] in ADMIN_SUFFIXES:
            suffix = pattern[len(head) :]
            admin_status = ADMIN_EXCEPTIONS.get(model, {}).get(suffix, 302 if suffix == "<path:object_id>/" else 200)
            path = "/" + head + ADMIN_SUFFIXES[suffix].replace("{pk}", "{" + model + "}")
            return [("get", path, (A, A, A, A, admin_status), None, None)]
    return None


def checks_of(pattern: str) -> list[tuple] | None:
    if pattern.startswith("admin/^(?P<app_label>"):
        pattern = APP_LIST
    return MATRIX.get(pattern) or admin_model_checks(pattern)


@pytest.fixture
def world(db, django_capture_on_commit_callbacks) -> dict:
    """One real object behind every path parameter: Logistics's customer, case, journey, answer…"""
    logistics = DepartmentFactory(code="logistics", name="Logistics")
    billing = DepartmentFactory(code="billing", name="Billing")
    delivery = TouchpointFactory(code="on-time-delivery", name="On-time delivery", owner=logistics)
    TouchpointFactory(code="clear-invoice", name="Clear invoice", owner=billing)
    users = {
        "staff": User.objects.create(username="sam", role="staff"),
        "other_manager": User.objects.create(username="bea", role="manager"),
        "manager": User.objects.create(username="mia", role="manager"),
        "admin": User.objects.create(username="ada", role="admin", is_staff=True, is_superuser=True),
    }
    users["staff"].departments.set([logistics])
    users["manager"].departments.set([logistics])
    users["other_manager"].departments.set([billing])
    acme = CustomerFactory(external_id="ACME-1", name="Acme Ltd")
    log(django_capture_on_commit_callbacks, experience(acme, delivery, "negative", intensity=5), user=users["staff"])
    journey = Journey.objects.create(slug="delivery-path", name="Delivery")
    JourneyStep.objects.create(journey=journey, touchpoint=delivery, stage=delivery.stage, position=1)
    survey = Survey.objects.create(slug="delivery-nps", name="Delivery NPS", kind="nps", touchpoint=delivery)
    with django_capture_on_commit_callbacks(execute=True):
        create_invitations(survey=survey, customers=[acme, CustomerFactory(external_id="ACME-2")])
        record_response(invitation=acme.invitations.get(), score=2, comment="Late again")
    suggestion = LadderSuggestion.objects.create(
        customer=acme, from_level="communication", to_level="conversation", reason="earned"
    )
    webhook = WebhookSubscription.objects.create(url="http://127.0.0.1:9/", events=["case.opened"], secret="s3cret")
    WebhookDelivery.objects.create(subscription=webhook, event="case.opened", payload={})
    Group.objects.create(name="Auditors")
    lockout = {"username": "sam", "ip_address": "203.0.113.7", "user_agent": "test", "path_info": "/login/"}
    AccessAttempt.objects.create(**lockout, failures_since_start=1, get_data="", post_data="", http_accept="")
    AccessLog.objects.create(**lockout, http_accept="")
    AccessFailureLog.objects.create(**lockout, http_accept="", locked_out=False)
    APIKey.objects.create_key(name="legacy")
    create_api_key(name="crm", scopes=[Scope.CATALOGUE_READ])
    AuditEntry.objects.create(action="export", customer=acme, subject="ACME-1", actor_label="ada", via="admin")
    import_job = ImportJob.objects.create(uploaded_by=users["admin"], file_name="experiences.csv", rows_total=1)
    pending = next(i for i in survey.invitations.all() if i.answered_at is None)
    values = {
        "experience": acme.experiences.earliest("id").pk,
        "case": Case.objects.order_by("pk").first().pk,
        "response": Response.objects.get().pk,
        "suggestion": suggestion.pk,
        "token": invitation_token(pending),
        "webhook": webhook.pk,
        "import_job": import_job.pk,
        "customer": acme.pk,
        "customer_type": ContentType.objects.get_for_model(acme).pk,
        "staff": users["staff"].pk,
    }
    for model in admin_site._registry:
        label = f"{model._meta.app_label}/{model._meta.model_name}"
        first = model._default_manager.order_by("pk").first()
        assert first is not None, f"the access matrix needs one {label} in its world"
        values[label] = first.pk
    return {"users": users, "values": values}


def client_for(role: str, world: dict):
    if role == "anonymous":
        return APIClient()
    if role.startswith("key "):
        return key_client(role.removeprefix("key "))
    client = APIClient()
    client.force_login(world["users"][role])
    return client


def expected(check: tuple, role: str) -> int:
    method, path, statuses, scope, key_status = check
    if not role.startswith("key "):
        return statuses[ROLES.index(role)]
    if scope is None:
        return statuses[0]
    return key_status if scope == "any" or role == f"key {scope}" else 403


def test_every_url_pattern_is_in_the_matrix():
    unlisted = [p for p in url_patterns() if checks_of(p) is None]

    assert not unlisted, f"add these URL patterns to tests/test_access_matrix.py: {unlisted}"


def test_every_admin_model_is_in_the_matrix():
    registered = {f"{m._meta.app_label}/{m._meta.model_name}" for m in admin_site._registry}

    assert registered == ADMIN_MODELS


@pytest.mark.parametrize("role", ROLES + KEY_ROLES)
def test_each_url_answers_the_role_as_the_matrix_says(world, role):
    mismatches = []
    for pattern in url_patterns():
        for check in checks_of(pattern) or []:
            method, path, statuses, scope, _ = check
            if role.startswith("key ") and scope is None and role != KEY_ROLES[0]:
                continue  # pages take no API key: one key stands for all
            url = re.sub(r"\{([^}]+)\}", lambda m: str(world["values"][m[1]]), path)
            client = client_for(role, world)
            response = getattr(client, method)(
                url, {} if method == "get" else None, format=None if method == "get" else "json"
            )
            if response.status_code != expected(check, role):
                mismatches.append(
                    f"{method.upper()} {url}: expected {expected(check, role)}, got {response.status_code}"
                )

    assert not mismatches, f"{role}:\n" + "\n".join(mismatches)
