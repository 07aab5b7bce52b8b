"""What every endpoint of the REST API shares, and the webhook subscriptions endpoint."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import django_filters
from django.conf import settings
from django.core.exceptions import RequestDataTooBig
from django.core.exceptions import ValidationError as DjangoValidationError
from django.db import transaction
from django.shortcuts import get_object_or_404
from django.utils.translation import gettext as _
from django_filters.rest_framework import DjangoFilterBackend
from drf_spectacular.utils import extend_schema, extend_schema_view
from drf_spectacular.views import SpectacularSwaggerView
from rest_framework import status, viewsets
from rest_framework.authentication import SessionAuthentication
from rest_framework.decorators import action
from rest_framework.exceptions import APIException, NotFound, ValidationError
from rest_framework.pagination import CursorPagination
from rest_framework.parsers import JSONParser
from rest_framework.response import Response
from rest_framework.views import exception_handler

from accounts.access import Reader, reader_of
from cxm.text import text_problem

from .authentication import ApiKeyAuthentication
from .models import ApiKey, Scope, WebhookSubscription
from .permissions import HasScope
from .serializers import (
    WebhookDeliverySerializer,
    WebhookSubscriptionCreatedSerializer,
    WebhookSubscriptionSerializer,
)
from .services import new_webhook_secret, ping, redeliver, rotate_webhook_secret, save_webhook_subscription
from .throttling import PerKeyRateThrottle


class PayloadTooLarge(APIException):
    status_code = status.HTTP_413_REQUEST_ENTITY_TOO_LARGE
    default_code = "payload_too_large"


class Conflict(APIException):
    """The request is well formed but the object's state refuses it (e.g. resolving a resolved case)."""

    status_code = status.HTTP_409_CONFLICT
    default_code = "conflict"


def body_too_large() -> PayloadTooLarge:
    return PayloadTooLarge(
        _("The body is larger than %(size)d bytes; send at most 1 MB per request.")
        % {"size": settings.CXM_API_MAX_BODY_BYTES}
    )


def api_exception_handler(exc, context):
    """Every error has one envelope: {"detail": "what went wrong", "errors": {field: [what to fix]}}.

    `detail` is always there; `errors` only for invalid fields.
    """
    if isinstance(exc, RequestDataTooBig):
        exc = body_too_large()
    response = exception_handler(exc, context)
    if response is None:
        return None
    if isinstance(exc, ValidationError):
        errors = response.data if isinstance(response.data, dict) else {"non_field_errors": response.data}
        response.data = {"detail": _("Some fields are invalid; see errors."), "errors": errors}
    elif not isinstance(response.data, dict) or "detail" not in response.data:
        response.data = {"detail": str(response.data)}
    return response


class CheckedTextJSONParser(JSONParser):
    """JSON whose every string (and key) can be stored: NUL or a lone surrogate is a 400 naming where it is."""

    def parse(self, stream, media_type=None, parser_context=None) -> Any:
        data = super().parse(stream, media_type, parser_context)
        found = _text_problem_in(data, "")
        if found is not None:
            where, problem = found
            raise ValidationError({where or "non_field_errors": [problem]})
        return data


def _text_problem_in(value: Any, where: str) -> tuple[str, str] | None:
    """The first string in a parsed JSON document that cannot be stored, with its path (`a.0.b`)."""
    if isinstance(value, str):
        problem = text_problem(value)
        return (where, problem) if problem else None
    items: Any
    if isinstance(value, dict):
        items = value.items()
    elif isinstance(value, list):
        items = enumerate(value)
    else:
        return None
    for key, child in items:
        path = f"{where}.{key}" if where else str(key)
        if isinstance(key, str) and text_problem(key):
            return where or "non_field_errors", _("a field name %(problem)s") % {"problem": text_problem(key)}
        found = _text_problem_in(child, path)
        if found is not None:
            return found
    return None


class ApiCursorPagination(CursorPagination):
    """A cursor that cannot be decoded, or a page size that is not 1 to 1,000, is the caller's mistake: 400."""

    page_size = 100
    page_size_query_param = "page_size"
    max_page_size = 1000

    def get_page_size(self, request) -> int:
        value = request.query_params.get(self.page_size_query_param)
        if value is None:
            return self.page_size
        if not value.isascii() or not value.isdigit() or not 1 <= int(value) <= self.max_page_size:
            raise ValidationError(
                {
                    self.page_size_query_param: [
                        _("must be a whole number from 1 to %(max)d") % {"max": self.max_page_size}
                    ]
                }
            )
        return int(value)

    def decode_cursor(self, request):
        try:
            return super().decode_cursor(request)
        except NotFound:
            raise invalid_cursor() from None

    def paginate_queryset(self, queryset, request, view=None):
        """A decodable cursor can still carry a position its ordering cannot compare (a forged one)."""
        try:
            return super().paginate_queryset(queryset, request, view)
        except (DjangoValidationError, ValueError):
            raise invalid_cursor() from None

    def get_schema_operation_parameters(self, view) -> list[dict]:
        parameters = super().get_schema_operation_parameters(view)
        for parameter in parameters:
            if parameter["name"] == self.page_size_query_param:
                parameter["schema"] |= {"minimum": 1, "maximum": self.max_page_size, "default": self.page_size}
            if parameter["name"] == self.cursor_query_param:
                parameter["schema"]["format"] = "cursor"
                parameter["description"] = "Opaque: the `next` or `previous` link of a page, as it was given."
        return parameters


def invalid_cursor() -> ValidationError:
    return ValidationError(
        {"cursor": [_("invalid cursor; use the `next` or `previous` link of a page as it was given")]}
    )


class StrictFilterBackend(DjangoFilterBackend):
    """A filter value its type does not allow is a 400, never silently ignored (`?at_risk=maybe`)."""

    def get_filterset(self, request, queryset, view):
        filterset = super().get_filterset(request, queryset, view)
        if filterset is None:
            return None
        problems = {}
        for name, declared in filterset.filters.items():
            for value in request.query_params.getlist(name):
                if isinstance(declared, django_filters.BooleanFilter) and value not in ("true", "false"):
                    problems[name] = [_("must be true or false")]
                elif value == "" and not isinstance(declared, django_filters.CharFilter):
                    problems[name] = [_("must not be empty; leave the parameter out instead")]
        if problems:
            raise ValidationError(problems)
        return filterset


class ApiDocsView(SpectacularSwaggerView):
    """The interactive docs are a public page: no credentials are read, so a bad key cannot break it."""

    authentication_classes: list = []


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
    filter_backends = [StrictFilterBackend]
    parser_classes = [CheckedTextJSONParser]  # JSON only: a form would turn every type into text
    scopes: dict[str, str] = {}

    def get_exception_handler(self):
        return api_exception_handler

    def initial(self, request, *args, **kwargs) -> None:
        """A body over the limit is refused before it is read; a path or query with NUL is a 400."""
        try:
            length = int(request.META.get("CONTENT_LENGTH") or 0)
        except ValueError:
            length = 0
        if length > settings.CXM_API_MAX_BODY_BYTES:
            raise body_too_large()
        problems = {
            name: [problem]
            for name, value in [*kwargs.items(), *request.query_params.items()]
            if isinstance(value, str) and (problem := text_problem(value))
        }
        if problems:
            raise ValidationError(problems)
        super().initial(request, *args, **kwargs)

    def finalize_response(self, request, response, *args, **kwargs):
        response = super().finalize_response(request, response, *args, **kwargs)
        for name, value in getattr(request, "rate_limit_headers", {}).items():
            response[name] = value
        if getattr(request, "accepted_media_type", "") == "text/html":
            response._csp_update = BROWSABLE_API_STYLES
        return response

    @property
    def reader(self) -> Reader:
        """The caller as the access gate sees it; every queryset of the API starts from it."""
        return reader_of(self.request)


class WebhookPagination(ApiCursorPagination):
    ordering = ("id",)


class DeliveryPagination(ApiCursorPagination):
    ordering = ("-id",)


@extend_schema_view(
    list=extend_schema(summary="List webhook subscriptions (this key's; CX admins see all)"),
    retrieve=extend_schema(summary="Read a webhook subscription"),
    create=extend_schema(
        summary="Subscribe a URL to events",
        description=(
            "The response carries the signing secret (`whsec_…`); it is not shown again. The URL must reach "
            "a public address: loopback, private, link-local and metadata addresses are refused."
        ),
        responses={201: WebhookSubscriptionCreatedSerializer},
    ),
    update=extend_schema(summary="Replace a webhook subscription"),
    partial_update=extend_schema(
        summary="Change a webhook subscription", description="`active: false` cancels its pending deliveries."
    ),
    destroy=extend_schema(summary="Remove a webhook subscription"),
    rotate_secret=extend_schema(
        summary="Rotate the signing secret",
        description="The new secret is shown once; the old one keeps signing beside it for the overlap "
        "(CXM_WEBHOOK_SECRET_OVERLAP_HOURS, default 24).",
        request=None,
        responses={200: WebhookSubscriptionCreatedSerializer},
    ),
    deliveries=extend_schema(
        summary="List the subscription's deliveries, newest first", responses=WebhookDeliverySerializer(many=True)
    ),
    redeliver=extend_schema(
        summary="Send a delivery's event again", request=None, responses={202: WebhookDeliverySerializer}
    ),
    ping=extend_schema(summary="Send a test delivery", request=None, responses={202: WebhookDeliverySerializer}),
)
class WebhookSubscriptionViewSet(ApiMixin, viewsets.ModelViewSet):
    """Subscriptions for outbound webhooks (scope webhooks:manage); a key sees and changes only its own."""

    serializer_class = WebhookSubscriptionSerializer
    pagination_class = WebhookPagination
    lookup_value_regex = "[0-9]{1,18}"
    scopes = {m: Scope.WEBHOOKS_MANAGE for m in ("GET", "POST", "PUT", "PATCH", "DELETE")}

    def get_queryset(self):
        subscriptions = WebhookSubscription.objects.all()
        if isinstance(self.request.auth, ApiKey):
            return subscriptions.filter(owner=self.request.auth)
        return subscriptions

    def create(self, request, *args, **kwargs) -> Response:
        serializer = self.get_serializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        secret = serializer.validated_data.pop("secret", None) or new_webhook_secret()
        owner = request.auth if isinstance(request.auth, ApiKey) else None
        subscription = serializer.save(secret=secret, owner=owner)
        return Response(WebhookSubscriptionCreatedSerializer(subscription).data, status=status.HTTP_201_CREATED)

    def perform_update(self, serializer) -> None:
        subscription = serializer.instance
        for name, value in serializer.validated_data.items():
            setattr(subscription, name, value)
        save_webhook_subscription(subscription=subscription)

    @action(detail=True, methods=["post"], url_path="rotate-secret")
    def rotate_secret(self, request, pk=None, format=None) -> Response:
        subscription = self.get_object()
        rotate_webhook_secret(subscription=subscription)
        return Response(WebhookSubscriptionCreatedSerializer(subscription).data)

    @action(
        detail=True, methods=["get"], serializer_class=WebhookDeliverySerializer, pagination_class=DeliveryPagination
    )
    def deliveries(self, request, pk=None, format=None) -> Response:
        page = self.paginate_queryset(self.get_object().deliveries.all())
        return self.get_paginated_response(WebhookDeliverySerializer(page, many=True).data)

    @action(
        detail=True,
        methods=["post"],
        url_path=r"deliveries/(?P<delivery_id>[0-9]{1,18})/redeliver",
        serializer_class=WebhookDeliverySerializer,
    )
    def redeliver(self, request, pk=None, delivery_id=None, format=None) -> Response:
        delivery = get_object_or_404(self.get_object().deliveries, pk=delivery_id)
        with transaction.atomic():
            again = redeliver(delivery=delivery)
        return Response(WebhookDeliverySerializer(again).data, status=status.HTTP_202_ACCEPTED)

    @action(detail=True, methods=["post"], serializer_class=WebhookDeliverySerializer)
    def ping(self, request, pk=None, format=None) -> Response:
        with transaction.atomic():
            delivery = ping(subscription=self.get_object())
        return Response(WebhookDeliverySerializer(delivery).data, status=status.HTTP_202_ACCEPTED)
