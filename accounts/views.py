"""Where a person lands, and the second step of signing in."""

from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django_otp import login as otp_login
from django_otp.plugins.otp_totp.models import TOTPDevice

from . import second_factor
from .forms import CodeForm
from .models import Role


@login_required
def home(request: HttpRequest) -> HttpResponse:
    """Staff log experiences; managers and admins watch the dashboards."""
    user = request.user
    return redirect("log-experience" if user.role == Role.STAFF and not user.is_cx_admin else "dashboards:company")


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
def verify(request: HttpRequest) -> HttpResponse:
    """Second step of signing in: the code of the authenticator app set up earlier."""
    device = TOTPDevice.objects.filter(user=request.user, confirmed=True).first()
    if device is None:
        return redirect("second-factor-setup")
    form = CodeForm(request.POST or None)
    if form.is_valid():
        if device.verify_token(form.cleaned_data["code"]):
            return _signed_in_with(request, device)
        form.add_error("code", _("That code is not the current one. Codes change every 30 seconds: try the newest."))
    return render(request, "accounts/second_factor.html", {"form": form, "next": _next_page(request)})


@login_required
def set_up(request: HttpRequest) -> HttpResponse:
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
