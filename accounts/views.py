"""Where a person lands, and the second step of signing in."""

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse, HttpResponseBadRequest
from django.shortcuts import redirect, render
from django.utils import translation
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST
from django_otp import login as otp_login
from django_otp.plugins.otp_totp.models import TOTPDevice

from . import second_factor, services
from .forms import CodeForm, ProfileForm
from .models import Role, User
from .requests import AuthenticatedRequest


@login_required
def home(request: AuthenticatedRequest) -> HttpResponse:
    """Staff work their inbox (and log from there); managers and admins watch the dashboards."""
    user = request.user
    return redirect("inbox" if user.role == Role.STAFF and not user.is_cx_admin else "dashboards:company")


def _next_page(request: HttpRequest) -> str:
    target = request.POST.get("next") or request.GET.get("next") or ""
    safe = url_has_allowed_host_and_scheme(
        target, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    )
    return target if safe else "home"


def _signed_in_with(request: HttpRequest, device: TOTPDevice) -> HttpResponse:
    otp_login(request, device)
    request.session.pop(second_factor.SESSION_KEY, None)
    return redirect(_next_page(request))


@login_required
def verify(request: AuthenticatedRequest) -> HttpResponse:
    """Second step of signing in: the code of the authenticator app set up earlier."""
    device = TOTPDevice.objects.filter(user=request.user, confirmed=True).first()
    if device is None:  # an admin removed the app since sign-in
        if second_factor.must_set_up(request.user):
            return redirect("second-factor-setup")
        request.session.pop(second_factor.SESSION_KEY, None)
        return redirect(_next_page(request))
    form = CodeForm(request.POST or None)
    if form.is_valid():
        if device.verify_token(form.cleaned_data["code"]):
            return _signed_in_with(request, device)
        form.add_error("code", _("That code is not the current one. Codes change every 30 seconds: try the newest."))
    return render(request, "accounts/second_factor.html", {"form": form, "next": _next_page(request)})


@login_required
def set_up(request: AuthenticatedRequest) -> HttpResponse:
    """Set up an authenticator app: scan the QR code (or type the key), then confirm with a code."""
    if TOTPDevice.objects.filter(user=request.user, confirmed=True).exists():
        return redirect("second-factor")
    device = second_factor.pending_device(request.user)
    form = CodeForm(request.POST or None)
    if form.is_valid():
        if device.verify_token(form.cleaned_data["code"]):
            device.confirmed = True
            device.save(update_fields=["confirmed"])
            return _signed_in_with(request, device)
        form.add_error("code", _("That code does not match this key. Check the app's clock and try the newest code."))
    context = {
        "form": form,
        "next": _next_page(request),
        "secret": second_factor.secret_text(device),
        "qr_code": second_factor.qr_data_uri(device),
        "required": second_factor.must_set_up(request.user),
    }
    return render(request, "accounts/second_factor_setup.html", context)


def _remember_language(response: HttpResponse, language: str) -> HttpResponse:
    if language:
        response.set_cookie(settings.LANGUAGE_COOKIE_NAME, language, max_age=365 * 24 * 3600, samesite="Lax")
    else:
        response.delete_cookie(settings.LANGUAGE_COOKIE_NAME)
    return response


@require_POST
def set_language(request: HttpRequest) -> HttpResponse:
    """The language switch of the menu: kept on the person's profile, and in a cookie for visitors."""
    language = request.POST.get("language", "")
    if language not in dict(settings.LANGUAGES):
        return HttpResponseBadRequest(
            _("Choose one of: %(languages)s.") % {"languages": ", ".join(dict(settings.LANGUAGES))}
        )
    if isinstance(request.user, User):
        services.set_language(user=request.user, language=language)
    return _remember_language(redirect(_next_page(request)), language)


@login_required
def profile(request: AuthenticatedRequest) -> HttpResponse:
    """The person's own settings: language, and the authenticator app of the second factor."""
    form = ProfileForm(request.POST or None, initial={"language": request.user.language})
    if form.is_valid():
        try:
            services.set_language(user=request.user, language=form.cleaned_data["language"])
        except ValidationError as error:
            form.add_error("language", error)
        else:
            language = form.cleaned_data["language"]
            translation.activate(language or translation.get_language_from_request(request))
            messages.success(request, _("Your settings are saved."))
            return _remember_language(redirect("profile"), language)
    has_app = TOTPDevice.objects.filter(user=request.user, confirmed=True).exists()
    status = 400 if form.errors else 200
    return render(request, "accounts/profile.html", {"form": form, "has_authenticator": has_app}, status=status)
