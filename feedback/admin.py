"""Admin for surveys (with a bulk-invite action), invitations, answers, cases and ladder suggestions."""

import segno
from django.contrib import admin, messages
from django.shortcuts import render
from django.utils.html import format_html
from django.utils.safestring import mark_safe
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext

from . import services
from .forms import InviteForm
from .models import (
    Case,
    CaseComment,
    CaseEvent,
    Invitation,
    LadderSuggestion,
    Response,
    Survey,
    SurveyRule,
    SurveyTrigger,
)


@admin.register(Survey)
class SurveyAdmin(admin.ModelAdmin):
    list_display = ["name", "slug", "kind", "touchpoint", "active"]
    list_filter = ["kind", "active"]
    prepopulated_fields = {"slug": ["name"]}
    autocomplete_fields = ["touchpoint"]
    actions = ["invite_customers"]

    @admin.action(description=_("Invite customers to the selected survey"))
    def invite_customers(self, request, queryset):
        """Ask for a segment or a list of ids, then create and e-mail the invitations."""
        if queryset.count() != 1:
            self.message_user(request, _("Select exactly one survey to invite customers to."), messages.WARNING)
            return None
        survey = queryset.get()
        form = InviteForm(request.POST if "apply" in request.POST else None)
        if form.is_valid():
            try:
                batch = services.create_invitations(survey=survey, customers=form.cleaned_data["customers"])
            except services.FeedbackError as error:
                self.message_user(request, str(error), messages.WARNING)
                return None
            self.message_user(
                request,
                ngettext(
                    "%(n)d invitation created and queued for e-mail",
                    "%(n)d invitations created and queued for e-mail",
                    len(batch.created),
                )
                % {"n": len(batch.created)}
                + _("; %(open)d already invited, %(none)d without an e-mail address.")
                % {"open": batch.already_invited, "none": batch.without_email},
            )
            return None
        context = {**self.admin_site.each_context(request), "survey": survey, "form": form, "opts": self.model._meta}
        return render(request, "admin/feedback/invite.html", context)


@admin.register(SurveyRule)
class SurveyRuleAdmin(admin.ModelAdmin):
    """After an experience at the touchpoint, invite the customer (docs/feedback.md, "Triggered surveys")."""

    list_display = ["touchpoint", "survey", "delay_minutes", "sample_percent", "active"]
    list_filter = ["active"]
    autocomplete_fields = ["touchpoint"]
    readonly_fields = ["created_at"]  # only experiences stored after it trigger the survey


@admin.register(SurveyTrigger)
class SurveyTriggerAdmin(admin.ModelAdmin):
    """Why a customer was or was not asked after a moment of truth; written by the rules only."""

    list_display = ["experience", "rule", "outcome", "decided_at"]
    list_filter = ["outcome", "rule"]
    readonly_fields = ["experience", "rule", "outcome", "invitation", "decided_at"]

    def has_add_permission(self, request):
        return False


@admin.register(Invitation)
class InvitationAdmin(admin.ModelAdmin):
    list_display = [
        "survey",
        "customer",
        "channel",
        "created_at",
        "sent_at",
        "reminded_at",
        "expires_at",
        "answered_at",
    ]
    list_filter = ["survey", "channel"]
    search_fields = ["customer__external_id", "customer__name"]
    raw_id_fields = ["customer", "experience"]
    readonly_fields = ["personal_link", "qr_code", "rule", "created_at", "sent_at", "reminded_at", "answered_at"]

    class Media:
        js = ["feedback/copy-link.js"]

    @admin.display(description=_("Personal link"))
    def personal_link(self, invitation: Invitation) -> str:
        """The customer's link, to send through the company's own channel (SMS, helpdesk, receipt)."""
        if not invitation.pk:
            return "—"
        return format_html(
            '<input type="text" readonly size="60" value="{}" id="personal-link"> '
            '<button type="button" data-copy="personal-link">{}</button>',
            services.invitation_url(invitation),
            _("Copy link"),
        )

    @admin.display(description=_("QR code"))
    def qr_code(self, invitation: Invitation) -> str:
        """The same link as a QR code (SVG made on the server), to print on a receipt or show on a screen."""
        if not invitation.pk:
            return "—"
        return mark_safe(segno.make(services.invitation_url(invitation), error="m").svg_inline(scale=4))  # noqa: S308


@admin.register(Response)
class ResponseAdmin(admin.ModelAdmin):
    list_display = ["survey", "customer", "score", "follow_up_answer", "language", "sentiment", "flagged", "created_at"]
    list_filter = ["survey", "flagged"]
    readonly_fields = [f.name for f in Response._meta.fields]

    def has_add_permission(self, request):
        return False  # answers come from customers through their link


class CaseCommentInline(admin.TabularInline):
    model = CaseComment
    extra = 0
    fields = readonly_fields = ("written_by", "body", "sentiment", "created_at")

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("author", "api_key")

    @admin.display(description=_("by"))
    def written_by(self, comment: CaseComment) -> str:
        return _by(comment.author, comment.api_key)


class CaseEventInline(admin.TabularInline):
    """The case's history, with who took each step (a person or an API key); written by the services only."""

    model = CaseEvent
    extra = 0
    fields = readonly_fields = ("at", "kind", "taken_by", "department", "assignee", "note")
    can_delete = False

    def has_add_permission(self, request, obj=None) -> bool:
        return False

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("actor", "api_key", "department", "assignee")

    @admin.display(description=_("by"))
    def taken_by(self, event: CaseEvent) -> str:
        return _by(event.actor, event.api_key)


def _by(user, api_key) -> str:
    """Who did it, as the case page says it: the person's username or "API key <name>"."""
    if user is not None:
        return user.get_username()
    if api_key is not None:
        return _("API key %(name)s") % {"name": api_key.name}
    return "—"


@admin.register(Case)
class CaseAdmin(admin.ModelAdmin):
    list_display = ["pk", "department", "customer", "status", "due_at", "assignee", "escalated_at"]
    list_filter = ["status", "department"]
    raw_id_fields = ["experience", "customer", "assignee", "resolved_by"]
    readonly_fields = ["resolved_by_key"]
    inlines = [CaseEventInline, CaseCommentInline]


@admin.register(LadderSuggestion)
class LadderSuggestionAdmin(admin.ModelAdmin):
    list_display = ["customer", "from_level", "to_level", "reason", "status", "created_at"]
    list_filter = ["status", "reason"]
    raw_id_fields = ["customer", "decided_by"]
