"""DRF's throttles, identifying anonymous clients by `client_ip` instead of DRF's own reading of headers.

DRF's `get_ident` trusts `X-Forwarded-For` whenever `NUM_PROXIES` is unset, so a client that sends a
new header value with every request is never throttled. These classes ask the portal's one function.
"""

from __future__ import annotations

from rest_framework import throttling

from .clientip import client_ip


class ClientAddressIdentMixin:
    def get_ident(self, request) -> str:
        return client_ip(request) or "unknown"


class AnonRateThrottle(ClientAddressIdentMixin, throttling.AnonRateThrottle):
    pass


class UserRateThrottle(ClientAddressIdentMixin, throttling.UserRateThrottle):
    pass


class ScopedRateThrottle(ClientAddressIdentMixin, throttling.ScopedRateThrottle):
    pass
