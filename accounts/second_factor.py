"""The second factor (TOTP through django-otp): who must confirm a sign-in with a code.

At sign-in (password or company provider) the step still owed is written into the session, so
that the middleware can hold every other page back without a query per request.
"""

from __future__ import annotations

import base64

import qrcode
import qrcode.image.svg
from django.conf import settings
from django_otp import DEVICE_ID_SESSION_KEY
from django_otp.plugins.otp_totp.models import TOTPDevice

from .models import Role, User

SESSION_KEY = "cxm_second_factor"
VERIFY = "verify"
SET_UP = "set-up"


def must_set_up(user: User) -> bool:
    """Managers and admins see every customer of their departments: a code is required of them."""
    return settings.CXM_REQUIRE_TOTP and (user.role in (Role.MANAGER, Role.ADMIN) or user.is_superuser)


def step_owed(user: User) -> str | None:
    if TOTPDevice.objects.filter(user=user, confirmed=True).exists():
        return VERIFY
    return SET_UP if must_set_up(user) else None


def note_step_owed(sender, request, user, **kwargs) -> None:
    """user_logged_in receiver: what this session still has to show before it may do anything."""
    session = getattr(request, "session", None)
    if session is None or DEVICE_ID_SESSION_KEY in session:
        return
    step = step_owed(user)
    if step:
        session[SESSION_KEY] = step
    else:
        session.pop(SESSION_KEY, None)


def pending_device(user: User) -> TOTPDevice:
    """The authenticator being set up: one unconfirmed device per user, kept until confirmed."""
    device = TOTPDevice.objects.filter(user=user, confirmed=False).first()
    return device or TOTPDevice.objects.create(user=user, name="authenticator app", confirmed=False)


def secret_text(device: TOTPDevice) -> str:
    """The key in base32, in groups of four, for typing into an app by hand."""
    secret = base64.b32encode(device.bin_key).decode().rstrip("=")
    return " ".join(secret[i : i + 4] for i in range(0, len(secret), 4))


def qr_data_uri(device: TOTPDevice) -> str:
    """The otpauth:// link as an SVG QR code in a data URI (the CSP allows data: images only)."""
    image = qrcode.make(device.config_url, image_factory=qrcode.image.svg.SvgPathImage, box_size=8)
    return "data:image/svg+xml;base64," + base64.b64encode(image.to_string()).decode()
