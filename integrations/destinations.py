"""Where webhooks may be sent: public addresses only, unless on-premises receivers are allowed.

A subscription URL pointing at the app itself, the cloud's metadata service or a private
network would let anyone with `webhooks:manage` make the server send requests inside its own
network (SSRF). The URL's host is resolved and every address it resolves to must be public;
this is checked when the subscription is made and again before every delivery (DNS can change
in between), and deliveries follow no redirects. CXM_WEBHOOK_ALLOW_PRIVATE_DESTINATIONS=1
lifts the rule for receivers inside the company's own network.
"""

from __future__ import annotations

import ipaddress
import socket
import urllib.request
from urllib.parse import urlsplit

from django.conf import settings
from django.utils.translation import gettext as _

# Metadata services answer on link-local or private addresses, refused anyway; named for the message.
METADATA_ADDRESSES = {"169.254.169.254", "fd00:ec2::254", "100.100.100.200"}


class DestinationRefused(Exception):
    """The URL may not receive webhooks; the message says why."""


def refusal(address: str) -> str | None:
    """Why a resolved address may not receive webhooks, or None when it is public."""
    ip = ipaddress.ip_address(address.split("%")[0])
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped:
        ip = ip.ipv4_mapped
    if str(ip) in METADATA_ADDRESSES:
        return _("%(ip)s is a cloud metadata service") % {"ip": ip}
    if ip.is_loopback:
        return _("%(ip)s is this machine (loopback)") % {"ip": ip}
    if ip.is_link_local:
        return _("%(ip)s is a link-local address") % {"ip": ip}
    if not ip.is_global:
        return _("%(ip)s is a private or reserved address") % {"ip": ip}
    return None


def check(url: str, *, resolve_names: bool = True) -> None:
    """Raise DestinationRefused unless every address of the URL's host is public (or private ones are allowed).

    With `resolve_names=False` (when a subscription is made) only addresses written in the URL and
    the names of this machine (localhost) are judged; a host name is resolved and checked before
    each delivery, when it matters (DNS can change between the two anyway).
    """
    if settings.CXM_WEBHOOK_ALLOW_PRIVATE_DESTINATIONS:
        return
    parts = urlsplit(url)
    host = parts.hostname
    if not host:
        raise DestinationRefused(_("the URL has no host"))
    try:
        addresses = [ipaddress.ip_address(host).compressed]
    except ValueError:
        if host.rstrip(".").lower() == "localhost" or host.rstrip(".").lower().endswith(".localhost"):
            raise DestinationRefused(_("webhooks are not sent here: localhost is this machine")) from None
        if not resolve_names:
            return
        try:
            infos = socket.getaddrinfo(host, parts.port or 443, type=socket.SOCK_STREAM)
        except (OSError, UnicodeError):
            raise DestinationRefused(_("the host %(host)s does not resolve") % {"host": host}) from None
        addresses = sorted({str(info[4][0]) for info in infos})
    for address in addresses:
        reason = refusal(address)
        if reason:
            raise DestinationRefused(
                _(
                    "webhooks are not sent here: %(reason)s; only public addresses receive them "
                    "(an operator can allow on-premises receivers with CXM_WEBHOOK_ALLOW_PRIVATE_DESTINATIONS)"
                )
                % {"reason": reason}
            )


class _NoRedirects(urllib.request.HTTPRedirectHandler):
    """A redirect is answered as it came (a failed delivery), never followed to an unchecked host."""

    def redirect_request(self, req, fp, code, msg, headers, newurl):
        return None


opener = urllib.request.build_opener(_NoRedirects)
