"""A survey link's token: the invitation's id signed with SECRET_KEY, so it can be neither guessed nor altered."""

from __future__ import annotations

from django.core import signing

from .models import Invitation

# Part of every link already sent: changing it would break them all.
SALT = "feedback.invitation"


def invitation_token(invitation: Invitation) -> str:
    """The token of the invitation's personal link (and of its opt-out page)."""
    return signing.Signer(salt=SALT).sign(str(invitation.pk))


def invitation_id(token: str) -> int | None:
    """The id a token was made for; None when it was altered, signed with another key, or is no token."""
    try:
        return int(signing.Signer(salt=SALT).unsign(token))
    except (signing.BadSignature, ValueError):
        return None
