"""Admin for API keys (shown once on creation), webhook subscriptions and the delivery log."""

from __future__ import annotations

from django import forms
from django.contrib import admin, messages
from django.utils.translation import gettext_lazy as _
from rest_framework_api_key.admin import APIKeyModelAdmin
from rest_framework_api_key.models import APIKey

from . import destinations, services, signing
from .models import SUBSCRIBABLE_EVENTS, ApiKey, Scope, WebhookDelivery, WebhookSubscription


class ApiKeyForm(forms.ModelForm):
    scopes = forms.MultipleChoiceField(choices=Scope.choices, widget=forms.CheckboxSelectMultiple)

    class Meta:
        model = ApiKey
        fields = ["name", "scopes", "departments", "expiry_date", "throttle_rate", "revoked"]
        widgets = {"departments": forms.CheckboxSelectMultiple}


# The library registers its own key model, which the project does not use: one "API keys" in the admin.
if admin.site.is_registered(APIKey):
    admin.site.unregister(APIKey)


@admin.register(ApiKey)
class ApiKeyAdmin(APIKeyModelAdmin):
    form = ApiKeyForm
    list_display = (*APIKeyModelAdmin.list_display, "scopes")  # type: ignore[assignment]  # one column more
    list_filter = ("revoked", "created")  # type: ignore[assignment]


class WebhookSubscriptionForm(forms.ModelForm):
    url = forms.URLField(max_length=500, assume_scheme="https")
    events = forms.MultipleChoiceField(choices=SUBSCRIBABLE_EVENTS, widget=forms.CheckboxSelectMultiple)
    secret = forms.RegexField(
        regex=signing.SECRET_PATTERN,
        required=False,
        max_length=100,
        help_text=_("whsec_ and the base64 of 24 to 62 random bytes. Leave empty to generate one; it is shown once."),
        widget=forms.PasswordInput(render_value=False),
    )

    def clean_url(self) -> str:
        url = self.cleaned_data["url"]
        try:
            destinations.check(url, resolve_names=False)
        except destinations.DestinationRefused as refused:
            raise forms.ValidationError(str(refused)) from None
        return url

    class Meta:
        model = WebhookSubscription
        fields = ["url", "events", "secret", "description", "active"]


@admin.register(WebhookSubscription)
class WebhookSubscriptionAdmin(admin.ModelAdmin):
    form = WebhookSubscriptionForm
    list_display = ["url", "events", "active", "created_at"]
    list_filter = ["active"]

    def save_model(self, request, obj: WebhookSubscription, form, change: bool) -> None:
        secret = form.cleaned_data.get("secret")
        if secret:
            obj.secret = secret
        elif not change:
            obj.secret = services.new_webhook_secret()
            messages.warning(
                request,
                _("The signing secret is %(secret)s; store it now, it is not shown again.") % {"secret": obj.secret},
            )
        services.save_webhook_subscription(subscription=obj)


@admin.register(WebhookDelivery)
class WebhookDeliveryAdmin(admin.ModelAdmin):
    """The delivery log: what was sent where, how often, and what the receiver answered."""

    list_display = [
        "id",
        "event",
        "subscription",
        "status",
        "attempts",
        "response_status",
        "created_at",
        "delivered_at",
    ]
    list_filter = ["status", "event"]
    list_select_related = ["subscription"]
    readonly_fields = [f.name for f in WebhookDelivery._meta.fields]
    actions = ["send_again"]

    def has_add_permission(self, request) -> bool:
        return False

    @admin.action(description=_("Send the selected deliveries again"))
    def send_again(self, request, queryset) -> None:
        count = services.send_again(deliveries=queryset)
        messages.info(request, _("%(count)d deliveries queued.") % {"count": count})
