"""The REST API, mounted at /api/v1/ (docs/api.md)."""

from django.http import JsonResponse
from django.urls import path, re_path
from django.utils.translation import gettext as _
from django.views.decorators.csrf import csrf_exempt
from drf_spectacular.views import SpectacularAPIView
from rest_framework.routers import DefaultRouter

from customers.api import CustomerViewSet
from experiences.api import ExperienceViewSet
from feedback.api import CaseViewSet, SurveyResponseViewSet, SurveyRuleViewSet, SurveyViewSet
from touchpoints.api import DepartmentViewSet, TouchpointViewSet

from .api import ApiDocsView, WebhookSubscriptionViewSet

router = DefaultRouter()
router.register("experiences", ExperienceViewSet, basename="experience")
router.register("customers", CustomerViewSet, basename="customer")
router.register("touchpoints", TouchpointViewSet, basename="touchpoint")
router.register("departments", DepartmentViewSet, basename="department")
router.register("webhooks", WebhookSubscriptionViewSet, basename="webhook")
router.register("surveys", SurveyViewSet, basename="survey")
router.register("survey-rules", SurveyRuleViewSet, basename="survey-rule")
router.register("cases", CaseViewSet, basename="case")
router.register("responses", SurveyResponseViewSet, basename="response")


@csrf_exempt
def no_such_endpoint(request, rest: str) -> JsonResponse:
    """Everything under /api/v1/ answers in JSON, a mistyped path or id too."""
    return JsonResponse({"detail": _("No such endpoint or object; see /api/v1/docs/.")}, status=404)


urlpatterns = [
    path("schema/", SpectacularAPIView.as_view(), name="api-schema"),
    path("docs/", ApiDocsView.as_view(url_name="api-schema"), name="api-docs"),
    *router.urls,
    re_path(r"^(?P<rest>[\s\S]*)$", no_such_endpoint),  # a newline in the path too
]
