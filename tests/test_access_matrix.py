"""Who gets what at every URL of the project, and which objects each reader sees there.

Two matrices. The status matrix walks every pattern × role from the URL resolver: a pattern that
it does not list fails `test_every_url_pattern_is_in_the_matrix`, so a new page or API route
cannot escape it. Roles: anonymous, staff (Logistics), a manager of another department
(Billing), the Logistics manager, a CX admin (also a Django superuser), and API keys. On API
patterns every scope is tried on its own; on pages, which take no API key, one key holding
every scope stands for them all and is treated like an anonymous visitor.

The object matrix is the table in docs/security.md (and, the same, in docs/dashboards.md): for
every list and detail (pages, API, CSV, partials), which of two customers' objects each reader
sees, asserted by what the answer shows, not only by its status.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from allauth.socialaccount.models import SocialAccount
from axes.models import AccessAttempt, AccessFailureLog, AccessLog
from django.contrib.admin import site as admin_site
from django.contrib.auth.models import Group
from django.contrib.contenttypes.models import ContentType
from django.urls import URLPattern, URLResolver, get_resolver
from django_otp.plugins.otp_totp.models import TOTPDevice
from rest_framework.test import APIClient

from accounts.models import User
from feedback.models import Case, LadderSuggestion, Response, Survey, SurveyRule, SurveyTrigger, Theme
from feedback.services import create_invitations, record_response
from feedback.tokens import invitation_token
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
    "feedback/surveyrule",
    "feedback/surveytrigger",
    "integrations/apikey",
    "integrations/webhooksubscription",
    "integrations/webhookdelivery",
    "privacy/auditentry",
    "axes/accessattempt",
    "axes/accesslog",
    "axes/accessfailurelog",
    "socialaccount/socialaccount",
    "otp_totp/totpdevice",
}
# Per admin model: the statuses the CX admin gets where not 200. Experiences enter only through the
# write path (the admin imports CSV instead), scores and deliveries are derived, answers come from
# customers, lock-out records from django-axes, and the audit log is never edited.
NO_ADD = {"add/": 403}
ADMIN_EXCEPTIONS = {
    "experiences/experience": NO_ADD,
    "scoring/customerscore": NO_ADD,
    "feedback/response": NO_ADD,
    "feedback/surveytrigger": NO_ADD,
    "integrations/webhookdelivery": NO_ADD,
    "axes/accessattempt": NO_ADD,
    "axes/accesslog": NO_ADD,
    "axes/accessfailurelog": NO_ADD,
    "otp_totp/totpdevice": NO_ADD,
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
    # A person's own settings; the language switch (no language posted: 400, for visitors too).
    "profile/": [("get", "/profile/", (L, 200, 200, 200, 200), None, None)],
    "language/": [("post", "/language/", (400, 400, 400, 400, 400), None, None)],
    # The second step of signing in: only for a logged-in person; with no app set up, the code page
    # sends on (to the home page, or to the set-up page where a code is required).
    "login/second-factor/": [("get", "/login/second-factor/", (L, 302, 302, 302, 302), None, None)],
    "login/second-factor/set-up/": [("get", "/login/second-factor/set-up/", (L, 200, 200, 200, 200), None, None)],
    # Company sign-in (django-allauth). With no provider configured its pages answer 404; the pages
    # around it hold nothing private.
    "accounts/login/": [("get", "/accounts/login/", (302, 302, 302, 302, 302), None, None)],
    "accounts/login/cancelled/": [("get", "/accounts/login/cancelled/", (200, 200, 200, 200, 200), None, None)],
    "accounts/login/error/": [("get", "/accounts/login/error/", (401, 401, 401, 401, 401), None, None)],
    "accounts/signup/": [("get", "/accounts/signup/", (302, 302, 302, 302, 302), None, None)],
    "accounts/": [("get", "/accounts/", (L, 200, 200, 200, 200), None, None)],
    "accounts/oidc/^(?P<provider_id>[^/]+)/login/": [
        ("get", "/accounts/oidc/company/login/", (404, 404, 404, 404, 404), None, None)
    ],
    "accounts/oidc/^(?P<provider_id>[^/]+)/login/callback/": [
        ("get", "/accounts/oidc/company/login/callback/", (404, 404, 404, 404, 404), None, None)
    ],
    "log/": [("get", "/log/", (L, 200, 200, 200, 200), None, None)],
    "log/customers/": [("get", "/log/customers/?customer=Acme", (L, 200, 200, 200, 200), None, None)],
    "log/recorded/<int:pk>/score/": [("get", "/log/recorded/{experience}/score/", (L, 200, 404, 404, 404), None, None)],
    "log/mine/": [("get", "/log/mine/", (L, 200, 200, 200, 200), None, None)],
    # Only the logger (within the window) and CX admins change an experience; its department's manager
    # sees it but may not (403); another department's manager does not see it (404).
    "log/mine/<int:pk>/correct/": [("get", "/log/mine/{experience}/correct/", (L, 200, 404, 403, 200), None, None)],
    "log/mine/<int:pk>/void/": [("post", "/log/mine/{experience}/void/", (L, 302, 404, 403, 302), None, None)],
    "dashboards/": [("get", "/dashboards/", (L, 302, 200, 200, 200), None, None)],  # staff: to their department
    "dashboards/<slug:code>/": [("get", "/dashboards/logistics/", (L, 200, 403, 200, 200), None, None)],
    "customers/<path:external_id>/": [("get", "/customers/ACME-1/", (L, 403, 404, 200, 200), None, None)],
    "journeys/<slug:slug>/": [("get", "/journeys/delivery-path/", (L, 403, 404, 200, 200), None, None)],
    "s/<str:token>/": [("get", "/s/{token}/", (200, 200, 200, 200, 200), None, None)],
    "inbox/": [("get", "/inbox/", (L, 200, 200, 200, 200), None, None)],
    "s/<str:token>/opt-out/": [("get", "/s/{token}/opt-out/", (200, 200, 200, 200, 200), None, None)],
    "cases/": [("get", "/cases/", (L, 403, 200, 200, 200), None, None)],
    # Opening by hand needs an experience or a customer: an empty post is refused (400) past the gate.
    "cases/open/": [("post", "/cases/open/", (L, 403, 400, 400, 400), None, None)],
    "cases/<int:pk>/": [("get", "/cases/{case}/", (L, 200, 404, 200, 200), None, None)],
    "cases/<int:pk>/assign/": [("post", "/cases/{case}/assign/", (L, 403, 404, 302, 302), None, None)],
    "cases/<int:pk>/transfer/": [("post", "/cases/{case}/transfer/", (L, 403, 404, 400, 400), None, None)],
    "cases/<int:pk>/comment/": [("post", "/cases/{case}/comment/", (L, 403, 404, 400, 400), None, None)],
    "cases/<int:pk>/resolve/": [("post", "/cases/{case}/resolve/", (L, 403, 404, 400, 400), None, None)],
    "cases/answers/": [("get", "/cases/answers/", (L, 403, 200, 200, 200), None, None)],
    # Themes are the company's vocabulary; the comments behind one are filtered to the reader's departments.
    "cases/themes/<int:pk>/": [("get", "/cases/themes/{theme}/", (L, 403, 200, 200, 200), None, None)],
    "cases/answers/<int:pk>/reviewed/": [
        ("post", "/cases/answers/{response}/reviewed/", (L, 403, 404, 302, 302), None, None)
    ],
    "ladder/": [("get", "/ladder/", (L, 403, 200, 200, 200), None, None)],
    # Posted without a decision: past the access gate, the request itself is refused (400); the
    # suggestion is about a customer of Logistics, so it does not exist for the Billing manager.
    "ladder/<int:pk>/decide/": [("post", "/ladder/{suggestion}/decide/", (L, 403, 404, 400, 400), None, None)],
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
    "api/v1/^customers/$": [("get", "/api/v1/customers/", (401, 403, 200, 200, 200), Scope.CUSTOMERS_READ, 200)],
    "api/v1/^customers\\.(?P<format>[a-z0-9]+)/?$": [
        ("get", "/api/v1/customers.json", (401, 403, 200, 200, 200), Scope.CUSTOMERS_READ, 200)
    ],
    # Customers in the API as on the pages: staff none, a manager of another department has no ACME-1
    # (it never dealt with their departments), for reading and for changing alike.
    "api/v1/^customers/(?P<external_id>[^/]+)/$": [
        ("get", "/api/v1/customers/ACME-1/", (401, 403, 404, 200, 200), Scope.CUSTOMERS_READ, 200),
        ("patch", "/api/v1/customers/ACME-1/", (401, 403, 404, 200, 200), Scope.CUSTOMERS_WRITE, 200),
    ],
    "api/v1/^customers/(?P<external_id>[^/]+)\\.(?P<format>[a-z0-9]+)/?$": [
        ("get", "/api/v1/customers/ACME-1.json", (401, 403, 404, 200, 200), Scope.CUSTOMERS_READ, 200)
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
    # Working a case: as the case page, managers of its department and admins; keys with cases:write
    # (limited to their departments). The checks send no body: the caller who may is told what is missing.
    "api/v1/^cases/(?P<pk>[0-9]{1,18})/assign/$": [
        ("post", "/api/v1/cases/{case}/assign/", (401, 403, 404, 400, 400), Scope.CASES_WRITE, 400)
    ],
    "api/v1/^cases/(?P<pk>[0-9]{1,18})/assign\\.(?P<format>[a-z0-9]+)/?$": [
        ("post", "/api/v1/cases/{case}/assign.json", (401, 403, 404, 400, 400), Scope.CASES_WRITE, 400)
    ],
    "api/v1/^cases/(?P<pk>[0-9]{1,18})/comments/$": [
        ("post", "/api/v1/cases/{case}/comments/", (401, 403, 404, 400, 400), Scope.CASES_WRITE, 400)
    ],
    "api/v1/^cases/(?P<pk>[0-9]{1,18})/comments\\.(?P<format>[a-z0-9]+)/?$": [
        ("post", "/api/v1/cases/{case}/comments.json", (401, 403, 404, 400, 400), Scope.CASES_WRITE, 400)
    ],
    "api/v1/^cases/(?P<pk>[0-9]{1,18})/resolve/$": [
        ("post", "/api/v1/cases/{case}/resolve/", (401, 403, 404, 400, 400), Scope.CASES_WRITE, 400)
    ],
    "api/v1/^cases/(?P<pk>[0-9]{1,18})/resolve\\.(?P<format>[a-z0-9]+)/?$": [
        ("post", "/api/v1/cases/{case}/resolve.json", (401, 403, 404, 400, 400), Scope.CASES_WRITE, 400)
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
    # Managers change the texts of their departments' touchpoints' surveys (an empty PATCH changes nothing).
    "api/v1/^surveys/(?P<slug>[-a-zA-Z0-9_]+)/$": [
        ("get", "/api/v1/surveys/delivery-nps/", (401, 200, 200, 200, 200), Scope.CATALOGUE_READ, 200),
        ("patch", "/api/v1/surveys/delivery-nps/", (401, 403, 403, 200, 200), Scope.SURVEYS_WRITE, 200),
    ],
    "api/v1/^surveys/(?P<slug>[-a-zA-Z0-9_]+)\\.(?P<format>[a-z0-9]+)/?$": [
        ("get", "/api/v1/surveys/delivery-nps.json", (401, 200, 200, 200, 200), Scope.CATALOGUE_READ, 200)
    ],
    # Managers invite to the surveys of their departments' touchpoints; an empty body is then refused (400).
    "api/v1/^surveys/(?P<slug>[-a-zA-Z0-9_]+)/invitations/$": [
        ("post", "/api/v1/surveys/delivery-nps/invitations/", (401, 403, 403, 400, 400), Scope.SURVEYS_WRITE, 400)
    ],
    "api/v1/^surveys/(?P<slug>[-a-zA-Z0-9_]+)/invitations\\.(?P<format>[a-z0-9]+)/?$": [
        ("post", "/api/v1/surveys/delivery-nps/invitations.json", (401, 403, 403, 400, 400), Scope.SURVEYS_WRITE, 400)
    ],
    # Survey rules: managers see and change those of their departments' touchpoints only.
    "api/v1/^survey-rules/$": [("get", "/api/v1/survey-rules/", (401, 403, 200, 200, 200), Scope.SURVEYS_WRITE, 200)],
    "api/v1/^survey-rules\\.(?P<format>[a-z0-9]+)/?$": [
        ("get", "/api/v1/survey-rules.json", (401, 403, 200, 200, 200), Scope.SURVEYS_WRITE, 200)
    ],
    "api/v1/^survey-rules/(?P<touchpoint>[-a-zA-Z0-9_]+)/$": [
        ("get", "/api/v1/survey-rules/on-time-delivery/", (401, 403, 404, 200, 200), Scope.SURVEYS_WRITE, 200)
    ],
    "api/v1/^survey-rules/(?P<touchpoint>[-a-zA-Z0-9_]+)\\.(?P<format>[a-z0-9]+)/?$": [
        ("get", "/api/v1/survey-rules/on-time-delivery.json", (401, 403, 404, 200, 200), Scope.SURVEYS_WRITE, 200)
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
    "admin/accounts/user/import/": [("get", "/admin/accounts/user/import/", (A, A, A, A, 200), None, None)],
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
    invoice = TouchpointFactory(code="clear-invoice", name="Clear invoice", owner=billing)
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
    beta = CustomerFactory(external_id="BETA-1", name="Beta Corp")
    log(django_capture_on_commit_callbacks, experience(beta, invoice, "negative", intensity=5))
    journey = Journey.objects.create(slug="delivery-path", name="Delivery")
    JourneyStep.objects.create(journey=journey, touchpoint=delivery, stage=delivery.stage, position=1)
    survey = Survey.objects.create(slug="delivery-nps", name="Delivery NPS", kind="nps", touchpoint=delivery)
    rule = SurveyRule.objects.create(touchpoint=delivery, survey=survey)
    SurveyTrigger.objects.create(
        experience=acme.experiences.get(), rule=rule, outcome="sampled_out", decided_at=rule.created_at
    )
    theme = Theme.objects.create(phrase="late", language="en")
    with django_capture_on_commit_callbacks(execute=True):
        create_invitations(survey=survey, customers=[acme, CustomerFactory(external_id="ACME-2")])
        record_response(invitation=acme.invitations.get(), score=2, comment="Late again")
    suggestion, beta_suggestion = (
        LadderSuggestion.objects.create(
            customer=customer, from_level="communication", to_level="conversation", reason="earned"
        )
        for customer in (acme, beta)
    )
    webhook = WebhookSubscription.objects.create(url="http://127.0.0.1:9/", events=["case.opened"], secret="s3cret")
    WebhookDelivery.objects.create(subscription=webhook, event="case.opened", payload={})
    Group.objects.create(name="Auditors")
    SocialAccount.objects.create(user=users["staff"], provider="company", uid="sam")
    TOTPDevice.objects.create(user=users["staff"], name="phone", confirmed=False)
    lockout = {"username": "sam", "ip_address": "203.0.113.7", "user_agent": "test", "path_info": "/login/"}
    AccessAttempt.objects.create(**lockout, failures_since_start=1, get_data="", post_data="", http_accept="")
    AccessLog.objects.create(**lockout, http_accept="")
    AccessFailureLog.objects.create(**lockout, http_accept="", locked_out=False)
    create_api_key(name="crm", scopes=[Scope.CATALOGUE_READ])
    AuditEntry.objects.create(action="export", customer=acme, subject="ACME-1", actor_label="ada", via="admin")
    import_job = ImportJob.objects.create(uploaded_by=users["admin"], file_name="experiences.csv", rows_total=1)
    pending = next(i for i in survey.invitations.all() if i.answered_at is None)
    values = {
        "experience": acme.experiences.earliest("id").pk,
        "case": Case.objects.order_by("pk").first().pk,
        "response": Response.objects.get().pk,
        "suggestion": suggestion.pk,
        "theme": theme.pk,
        "token": invitation_token(pending),
        "webhook": webhook.pk,
        "import_job": import_job.pk,
        "customer": acme.pk,
        "customer_type": ContentType.objects.get_for_model(acme).pk,
        "staff": users["staff"].pk,
        "case:acme": Case.objects.filter(customer=acme).earliest("pk").pk,
        "case:beta": Case.objects.get(customer=beta).pk,
        "suggestion:beta": beta_suggestion.pk,
        "experience:acme": acme.experiences.earliest("id").pk,
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


# The object matrix --------------------------------------------------------------------------

DOCS = Path(__file__).resolve().parent.parent / "docs"
TABLE = re.compile(r"<!-- access-table.*?-->\n(.*?)<!-- /access-table -->", re.S)
COLUMNS = ("staff", "manager", "other_manager", "admin", "key", "key billing")
TRACES = {"acme": ("ACME-1", "Acme Ltd"), "beta": ("BETA-1", "Beta Corp")}  # how each customer shows


def access_table(doc: str) -> str:
    found = TABLE.search((DOCS / doc).read_text())
    assert found, f"docs/{doc} has no access table between <!-- access-table --> markers"
    return found[1]


def object_rows() -> list[tuple[str, str, str, dict[str, str], tuple[str, ...]]]:
    """(what, method, path, form fields, cells by COLUMNS) for every row of the table in docs/security.md."""
    rows = []
    for line in access_table("security.md").splitlines()[2:]:
        what, request, *cells = [cell.strip() for cell in line.strip("|").split("|")]
        method, path, *fields = request.strip("`").split()
        assert len(cells) == len(COLUMNS), f"{request}: {len(cells)} cells for {len(COLUMNS)} readers"
        rows.append((what, method.lower(), path, dict(f.split("=", 1) for f in fields), tuple(cells)))
    return rows


def object_client(column: str, world: dict):
    if column == "key":
        return key_client(*Scope.values)
    if column == "key billing":
        api_key, key = create_api_key(name="billing only", scopes=Scope.values, departments=["billing"])
        client = APIClient()
        client.credentials(HTTP_AUTHORIZATION=f"Api-Key {key}")
        return client
    client = APIClient()
    client.force_login(world["users"][column])
    return client


def seen(response) -> set[str]:
    body = b"".join(response.streaming_content) if response.streaming else response.content
    text = body.decode()
    return {label for label, traces in TRACES.items() if any(trace in text for trace in traces)}


def test_the_docs_show_one_access_table():
    assert access_table("dashboards.md") == access_table("security.md")


def test_the_access_table_covers_every_reader_and_both_customers():
    rows = object_rows()
    cells = {cell for *_, row_cells in rows for cell in row_cells}
    assert {"acme", "beta", "acme, beta", "—", "404", "403"} <= cells
    assert any(path.startswith("/api/") for _, _, path, _, _ in rows) and any("csv" in w.lower() for w, *_ in rows)


@pytest.mark.parametrize("column", COLUMNS)
def test_each_reader_sees_the_objects_the_access_table_says(world, column):
    mismatches = []
    for what, method, path, fields, cells in object_rows():
        cell = cells[COLUMNS.index(column)]
        url = re.sub(r"\{([^}]+)\}", lambda m: str(world["values"][m[1]]), path)
        client = object_client(column, world)
        if method == "get":
            response = client.get(url)
        elif url.startswith("/api/"):
            response = getattr(client, method)(url, fields, format="json")
        else:
            response = getattr(client, method)(url, fields)
        got = response.status_code
        if cell == "login":
            ok = got == 302 and response["Location"].startswith("/login/")
        elif cell.isdigit():
            ok = got == int(cell)
        else:
            wanted = set() if cell == "—" else {label.strip() for label in cell.split(",")}
            ok = got in (200, 201) and seen(response) == wanted
            got = f"{got} showing {sorted(seen(response)) if got in (200, 201) else '-'}"
        if not ok:
            mismatches.append(f"{what}: {method.upper()} {url}: the table says {cell}, got {got}")

    assert not mismatches, f"{column}:\n" + "\n".join(mismatches)
