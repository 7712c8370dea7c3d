"""The one function that decides a request's client address.

Lock-out (django-axes' `AXES_CLIENT_IP_CALLABLE`), throttling (the API throttles' `get_ident`) and the
audit trail (the request context) all call `client_ip`, so they always agree on who is asking.
"""

from __future__ import annotations

import ipaddress

from django.conf import settings


def _parsed(value: str) -> str | None:
    """`value` as a normalised address, or None when it is not one (never an exception)."""
    value = (value or "").strip()
    if value.startswith("[") and "]" in value:  # "[2001:db8::1]:443" as some proxies write it
        value = value[1:value.index("]")]
    try:
        address = ipaddress.ip_address(value)
    except ValueError:
        return None
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        address = address.ipv4_mapped  # ::ffff:198.51.100.7 is 198.51.100.7
    return str(address)


def client_ip(request) -> str | None:
    """The address of the client that sent `request`.

    Without `MLSEC_TRUST_PROXY` it is the address of the peer (REMOTE_ADDR): an `X-Forwarded-For` sent
    by a client is ignored. With it, it is the last entry of `X-Forwarded-For`, the one the documented
    reverse proxy writes (it overwrites the header with the address it sees, docs/deployment.md); a
    value that is not an address is ignored and the peer's address used instead.
    """
    meta = getattr(request, "META", {})
    if getattr(settings, "MLSEC_TRUST_PROXY", False):
        forwarded = meta.get("HTTP_X_FORWARDED_FOR", "")
        if forwarded:
            address = _parsed(forwarded.split(",")[-1])
            if address is not None:
                return address
    return _parsed(meta.get("REMOTE_ADDR", ""))
