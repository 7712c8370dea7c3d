"""DRF's throttles, identifying anonymous clients by `client_ip` instead of DRF's own reading of headers.

DRF's `get_ident` trusts `X-Forwarded-For` whenever `NUM_PROXIES` is unset, so a client that sends a
new header value with every request is never throttled. These classes ask the portal's one function.

The counts live in the cache (Redis in production). When it cannot be reached, DRF's throttles raise and
every API request would be a 500. Instead the request rates of signed-in and anonymous callers are not
enforced for as long as the outage lasts (logged as a warning each time; sign-in lockouts are kept in the
database by django-axes and still hold), while exchanging a password for a token, the one endpoint whose
rate limit guards credentials, answers 503 until the counts can be kept again.
"""

from __future__ import annotations

import logging

from redis.exceptions import RedisError
from rest_framework import status, throttling
from rest_framework.exceptions import APIException

from .clientip import client_ip

log = logging.getLogger(__name__)
FAIL_CLOSED_SCOPES = frozenset({"token"})


class RateUncountable(APIException):
    status_code = status.HTTP_503_SERVICE_UNAVAILABLE
    default_detail = "Signing in through the API is unavailable for a moment: try again shortly."
    default_code = "throttle_unavailable"


class ClientAddressIdentMixin:
    def get_ident(self, request) -> str:
        return client_ip(request) or "unknown"

    def allow_request(self, request, view) -> bool:
        try:
            return super().allow_request(request, view)
        except (RedisError, OSError):  # the shared cache unreachable or timing out; a bug still raises
            scope = getattr(self, "scope", None)
            log.warning("throttle counts unavailable (scope %s): %s", scope,
                        "refusing" if scope in FAIL_CLOSED_SCOPES else "not enforced", exc_info=True)
            if scope in FAIL_CLOSED_SCOPES:
                raise RateUncountable from None
            return True


class AnonRateThrottle(ClientAddressIdentMixin, throttling.AnonRateThrottle):
    pass


class UserRateThrottle(ClientAddressIdentMixin, throttling.UserRateThrottle):
    pass


class ScopedRateThrottle(ClientAddressIdentMixin, throttling.ScopedRateThrottle):
    pass
