"""Which URLs a webhook may post to.

A webhook makes the registry send requests on an administrator's behalf; pointed at
127.0.0.1, a cloud metadata address or a database on the private network, it would be a
way in (server-side request forgery). As MLflow does by default, only http(s) URLs whose
host resolves to public addresses are accepted, unless REGISTRUM_WEBHOOK_ALLOW_PRIVATE_URLS
is set (a registry and its receivers on one private network, and tests). The check runs
when a webhook is saved and again before every request (DNS may have changed since), and
redirects are never followed.
"""

from __future__ import annotations

import asyncio
import ipaddress
import socket
from urllib.parse import urlsplit


class UrlRefused(ValueError):
    """A URL a webhook may not post to; the message says why."""


def check_form(url: str) -> str:
    """The host of an http(s) URL with a host, else UrlRefused."""
    if not isinstance(url, str) or not url.strip():
        raise UrlRefused("a webhook URL is required")
    try:
        parts = urlsplit(url.strip())
        host = parts.hostname
        _ = parts.port  # raises on a port that is not a number
    except ValueError as exc:
        raise UrlRefused(f"invalid webhook URL {url!r}: {exc}") from None
    if parts.scheme not in ("http", "https"):
        raise UrlRefused(f"a webhook URL is http or https, not {parts.scheme or 'none'!r}")
    if not host:
        raise UrlRefused(f"the webhook URL {url!r} names no host")
    return host


async def check(url: str, allow_private: bool) -> None:
    """UrlRefused unless url may receive deliveries now (its form, and where it resolves)."""
    host = check_form(url)
    if allow_private:
        return
    try:
        found = await asyncio.get_running_loop().getaddrinfo(host, None, type=socket.SOCK_STREAM)
    except OSError as exc:
        raise UrlRefused(f"the webhook host {host!r} does not resolve: {exc}") from None
    for *_, address in found:
        ip = ipaddress.ip_address(address[0])
        mapped = getattr(ip, "ipv4_mapped", None) or ip
        if not mapped.is_global:
            raise UrlRefused(
                f"the webhook host {host!r} resolves to {ip}, which is not a public address "
                "(REGISTRUM_WEBHOOK_ALLOW_PRIVATE_URLS allows it)"
            )
