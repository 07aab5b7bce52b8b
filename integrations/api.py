"""What every endpoint of the REST API shares, and the webhook subscriptions endpoint."""

from __future__ import annotations

from typing import TYPE_CHECKING

from django_filters.rest_framework import DjangoFilterBackend
from drf_spectacular.utils import extend_schema, extend_schema_view
from rest_framework import status, viewsets
from rest_framework.authentication import SessionAuthentication
from rest_framework.exceptions import ValidationError
from rest_framework.response import Response
from rest_framework.views import exception_handler

from accounts.access import Reader, reader_of

from .authentication import ApiKeyAuthentication
from .models import Scope, WebhookSubscription
from .permissions import HasScope
from .serializers import WebhookSubscriptionCreatedSerializer, WebhookSubscriptionSerializer
from .services import new_webhook_secret
from .throttling import PerKeyRateThrottle


def api_exception_handler(exc, context):
    """Field errors always come as {"errors": {field: [what to fix]}}, other errors as {"detail": ...}."""
    response = exception_handler(exc, context)
    if response is not None and isinstance(exc, ValidationError):
        detail = response.data if isinstance(response.data, dict) else {"non_field_errors": response.data}
        response.data = {"errors": detail}
    return response


# DRF's browsable API page carries exactly two style attributes; these hashes allow those two
# and nothing else, on those pages only (the policy elsewhere has no exception).
BROWSABLE_API_STYLES = {
    "style-src": [
        "'unsafe-hashes'",
        "'sha256-1kn+agGaGZdaFPNbx228buXQB9KXcy9RVE6NMUiW4SQ='",
        "'sha256-OfgyIBrd+/vP79JdFMYP+re4T+fIenvkrHPD2HZ8/cs='",
    ]
}


if TYPE_CHECKING:  # the mixin is only ever mixed into DRF's generic views
    from rest_framework.generics import GenericAPIView as _ApiView
else:
    _ApiView = object


class ApiMixin(_ApiView):
    """API key or session, scope per method (`scopes`), throttling per key."""

    authentication_classes = [ApiKeyAuthentication, SessionAuthentication]
    permission_classes = [HasScope]
    throttle_classes = [PerKeyRateThrottle]
    filter_backends = [DjangoFilterBackend]
    scopes: dict[str, str] = {}

    def get_exception_handler(self):
        return api_exception_handler

    def finalize_response(self, request, response, *args, **kwargs):
        response = super().finalize_response(request, response, *args, **kwargs)
        if getattr(request, "accepted_media_type", "") == "text/html":
            response._csp_update = BROWSABLE_API_STYLES
        return response

    @property
    def reader(self) -> Reader:
        """The caller as the access gate sees it; every queryset of the API starts from it."""
        return reader_of(self.request)


@extend_schema_view(
    list=extend_schema(summary="List webhook subscriptions"),
    retrieve=extend_schema(summary="Read a webhook subscription"),
    create=extend_schema(
        summary="Subscribe a URL to events",
        description="The response carries the signing secret; it is not shown again.",
        responses={201: WebhookSubscriptionCreatedSerializer},
    ),
    update=extend_schema(summary="Replace a webhook subscription"),
    partial_update=extend_schema(summary="Change a webhook subscription"),
    destroy=extend_schema(summary="Remove a webhook subscription"),
)
class WebhookSubscriptionViewSet(ApiMixin, viewsets.ModelViewSet):
    """Subscriptions for outbound webhooks (scope webhooks:manage)."""

    queryset = WebhookSubscription.objects.all()
    serializer_class = WebhookSubscriptionSerializer
    pagination_class = None
    scopes = {m: Scope.WEBHOOKS_MANAGE for m in ("GET", "POST", "PUT", "PATCH", "DELETE")}

    def create(self, request, *args, **kwargs) -> Response:
        serializer = self.get_serializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        secret = serializer.validated_data.pop("secret", None) or new_webhook_secret()
        subscription = serializer.save(secret=secret)
        return Response(WebhookSubscriptionCreatedSerializer(subscription).data, status=status.HTTP_201_CREATED)
