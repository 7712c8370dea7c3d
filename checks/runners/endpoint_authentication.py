"""``endpoint-authentication``: an unauthenticated request must be refused.

Sends a ``GET`` and a ``HEAD`` (never a method that changes anything), without
any credential or cookie, without following redirects, within a total deadline
per request, with the ``MLSecPortal-check/1`` User-Agent.  The host is resolved
and vetted by :mod:`checks.runners.netguard` first: a URL that points at the
worker's own or another internal network is refused before anything is sent,
unless an administrator allowed that network.  Each answer is classified:

* refused — 401, 403, or a redirect to a login page (another host, or a
  path that looks like a login); only the target host is reported, never the
  full URL, which may carry tokens;
* not applicable — 404, 405, 501 (the method is not served at that URL);
* accepted — any 2xx: the endpoint serves anonymous callers;
* undecided — 5xx, other 4xx, a redirect without ``Location`` or one that
  stays on the same host without looking like a login (HTTPS upgrade,
  trailing slash, moved API), or no answer at all.

Any accepted → failed; else any undecided → error; else at least one refused
→ passed; both not applicable → error (wrong URL?).  An endpoint served only
to ``POST`` answers 405 to both and therefore reads as "cannot decide": sending
a ``POST`` to someone's model would act on it, which a check must not do.  For HTTPS the
certificate must verify (system store + CA bundle): if it does not, this check
cannot decide and says so, pointing to the transport check.
"""

from __future__ import annotations

import logging
import re
import ssl
from urllib.parse import urlsplit

from .base import CheckContext, CheckResult, Finding
from .common import EndpointCheck
from .netguard import AddressRefused, parse_networks, request
from .netutil import (
    USER_AGENT,
    Endpoint,
    describe_network_error,
    verifying_context,
)

log = logging.getLogger(__name__)
METHODS = ("GET", "HEAD")

_LOGIN_HINT = re.compile(r"log-?in|sign-?in|auth|sso|saml|openid|oidc|idp|session|account|/cas\b", re.IGNORECASE)
REFUSED, NOT_APPLICABLE, ACCEPTED, UNDECIDED = "refused", "not-applicable", "accepted", "undecided"


class EndpointAuthenticationCheck(EndpointCheck):
    key = "endpoint-authentication"
    title = "Endpoint authentication"
    practices = ("MLS-02", "MLS-04", "MLS-07")
    default_schedule = "25 1 * * *"
    time_limit_s = 60
    description = (
        "Sends an unauthenticated GET and HEAD to the serving endpoint without credentials, cookies or "
        "redirect following, after refusing internal addresses. Fails when either is answered with 2xx; passes "
        "when they are refused (401/403 or a redirect to a login page); 5xx or an unreachable endpoint is an "
        "error."
    )

    def run_endpoint(self, ctx: CheckContext, endpoint: Endpoint) -> CheckResult:
        context = None
        if endpoint.scheme == "https":
            try:
                context = verifying_context(ctx.ca_bundle)
            except (OSError, ssl.SSLError) as exc:
                return CheckResult("error", f"the configured CA bundle could not be loaded ({type(exc).__name__})")
        data: dict = {"endpoint": endpoint.display}
        findings: list[Finding] = []
        verdicts: dict[str, str] = {}
        networks = parse_networks(ctx.allowed_networks)
        for method in METHODS:
            try:
                status, location = _request(endpoint, method, context, ctx.timeout_s, networks)
            except ssl.SSLCertVerificationError:
                return CheckResult("error", "cannot decide: the endpoint's certificate does not verify; fix "
                                            "endpoint-transport first (or configure the CA bundle)", data=data)
            except AddressRefused as exc:
                log.info("endpoint-authentication refused %s: %s", endpoint.display, exc.reason)
                return CheckResult("error", f"unreachable: {exc.public}", data=data)
            except (OSError, ValueError) as exc:
                log.info("endpoint-authentication %s %s failed: %s", method, endpoint.display,
                         getattr(exc, "reason", type(exc).__name__))
                reason = describe_network_error(exc)
                data[method.lower()] = {"error": reason}
                verdicts[method] = UNDECIDED
                findings.append(Finding("medium", f"{method}: no answer", f"unreachable: {reason}", endpoint.display))
                continue
            verdict, note = classify(endpoint, status, location)
            verdicts[method] = verdict
            data[method.lower()] = {"status": status, "verdict": verdict}
            if location:
                data[method.lower()]["redirect_host"] = note
            findings.append(_finding(method, status, verdict, note, endpoint.display))

        values = set(verdicts.values())
        if ACCEPTED in values:
            methods = " and ".join(m for m, v in verdicts.items() if v == ACCEPTED)
            return CheckResult("failed", f"endpoint answers unauthenticated requests ({methods})", findings, data)
        if UNDECIDED in values:
            if all("error" in data.get(m.lower(), {}) for m in verdicts):
                reason = data["get"]["error"]
                return CheckResult("error", f"unreachable: {reason}", findings, data)
            return CheckResult("error", "cannot decide whether unauthenticated requests are refused", findings, data)
        if REFUSED in values:
            return CheckResult("passed", "unauthenticated requests are refused "
                                         f"(GET {data['get']['status']}, HEAD {data['head']['status']})",
                               findings, data)
        return CheckResult("error", "neither GET nor HEAD is served at this URL (404/405): check the endpoint URL",
                           findings, data)


def _request(endpoint: Endpoint, method: str, context: ssl.SSLContext | None, timeout: float,
             networks: list) -> tuple[int, str]:
    """One guarded request; a refused address raises before anything is sent."""
    answer = request(f"{endpoint.scheme}://{_host(endpoint)}:{endpoint.port}{endpoint.path}", method,
                     allowed=networks, timeout=timeout, context=context, max_body=64 * 1024,
                     headers={"User-Agent": USER_AGENT, "Accept": "application/json, */*;q=0.1"})
    return answer.status, answer.headers.get("location", "")


def _host(endpoint: Endpoint) -> str:
    return f"[{endpoint.host}]" if ":" in endpoint.host else endpoint.host


def classify(endpoint: Endpoint, status: int, location: str) -> tuple[str, str]:
    """(verdict, note) for one answer; the note is the redirect host only."""
    if 200 <= status < 300:
        return ACCEPTED, ""
    if status in (401, 403):
        return REFUSED, ""
    if status in (404, 405, 501):
        return NOT_APPLICABLE, ""
    if 300 <= status < 400:
        if not location:
            return UNDECIDED, ""
        target = urlsplit(location)
        host = target.hostname or endpoint.host
        if host != endpoint.host or _LOGIN_HINT.search(target.path or ""):
            return REFUSED, host  # an identity provider elsewhere, or a login page here
        # same host, not a login page: HTTPS upgrade, trailing-slash or moved-API redirects say nothing
        return UNDECIDED, host
    return UNDECIDED, ""


def _finding(method: str, status: int, verdict: str, note: str, ref: str) -> Finding:
    if verdict == ACCEPTED:
        return Finding("critical", f"{method} answered {status} without credentials",
                       "the endpoint serves unauthenticated callers", ref)
    if verdict == REFUSED:
        detail = f"redirected to a login on host {note}" if note else "refused as expected"
        return Finding("info", f"{method} refused ({status})", detail, ref)
    if verdict == NOT_APPLICABLE:
        return Finding("info", f"{method} not served ({status})", "method not available at this URL", ref)
    if 300 <= status < 400:
        detail = (f"redirect within {note} that is not a login page; configure the final URL" if note
                  else "redirect without a Location header")
        return Finding("medium", f"{method} redirected ({status})", detail, ref)
    return Finding("medium", f"{method} answered {status}", "this answer neither grants nor refuses access", ref)
