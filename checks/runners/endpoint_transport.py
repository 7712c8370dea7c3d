"""``endpoint-transport``: the serving endpoint speaks HTTPS with a sound certificate.

Fails on: a plain ``http://`` URL; a certificate that does not verify against
the system store plus the configured CA bundle (expired, not yet valid,
self-signed, unknown CA, wrong host — the reason comes from OpenSSL's
``verify_code``); a certificate expiring within 14 days of the (injectable)
clock; a negotiated protocol older than TLS 1.2, or a server that only
completes a handshake with a legacy protocol.  An endpoint that cannot be
reached (refused, DNS, timeout, handshake failure unrelated to the
certificate) is *error*: the check could not decide.

Only a TLS handshake is made; no HTTP request is sent.  The host is resolved
and vetted by :mod:`checks.runners.netguard` before anything connects (internal
addresses are refused unless allowed), each handshake goes to the vetted address
with the host name for SNI, and each is bounded by a total deadline.
"""

from __future__ import annotations

import logging
import ssl
from datetime import UTC, datetime, timedelta

from .base import CheckContext, CheckResult, Finding
from .common import EndpointCheck
from .netguard import Deadline, GuardError, Resolved, open_tls, parse_networks, resolve_allowed
from .netutil import (
    Endpoint,
    describe_network_error,
    unverified_context,
    verify_reason,
    verifying_context,
)

log = logging.getLogger(__name__)
EXPIRY_WARNING = timedelta(days=14)
LEGACY_VERSIONS = {"SSLv2", "SSLv3", "TLSv1", "TLSv1.1"}


class EndpointTransportCheck(EndpointCheck):
    key = "endpoint-transport"
    title = "Endpoint transport security"
    practices = ("MLS-01", "MLS-07", "MLS-22")
    default_schedule = "5 1 * * *"
    time_limit_s = 60
    description = (
        "Connects to the serving endpoint and inspects its TLS handshake and certificate. Fails on plain HTTP, "
        "a certificate that does not verify (expired, self-signed, wrong host, untrusted) or expires within "
        "14 days, and TLS older than 1.2; an unreachable endpoint is an error."
    )

    def run_endpoint(self, ctx: CheckContext, endpoint: Endpoint) -> CheckResult:
        data: dict = {"endpoint": endpoint.display, "scheme": endpoint.scheme}
        if endpoint.scheme == "http":
            return CheckResult("failed", "endpoint uses plain HTTP: traffic and credentials travel unencrypted",
                               [Finding("high", "plain HTTP endpoint",
                                        "the endpoint URL is http://; serve it over HTTPS (TLS 1.2 or later)",
                                        endpoint.display)], data)
        try:
            context = verifying_context(ctx.ca_bundle)
        except (OSError, ssl.SSLError) as exc:
            return CheckResult("error", f"the configured CA bundle could not be loaded ({type(exc).__name__})",
                               data=data)
        try:
            resolved = resolve_allowed(endpoint.host, endpoint.port, parse_networks(ctx.allowed_networks))
        except GuardError as exc:
            log.info("endpoint-transport refused %s: %s", endpoint.display, exc.reason)
            return CheckResult("error", f"unreachable: {exc.public}", data=data)
        try:
            version, cipher, der = _handshake(resolved, context, ctx.timeout_s)
        except ssl.SSLCertVerificationError as exc:
            reason = verify_reason(exc)
            data["verified"] = False
            data["verify_error"] = reason
            info = _unverified_certificate(resolved, ctx.timeout_s)
            data.update(info)
            detail = reason
            if info.get("not_after"):
                detail += f"; notAfter {info['not_after']}; issuer {info.get('issuer', '?')}"
            return CheckResult("failed", f"certificate not trusted: {reason}",
                               [Finding("high", f"certificate verification failed: {reason}", detail,
                                        endpoint.display)], data)
        except GuardError as exc:
            log.info("endpoint-transport could not reach %s: %s", endpoint.display, exc.reason)
            return CheckResult("error", f"unreachable: {describe_network_error(exc)}", data=data)
        except (ssl.SSLError, ConnectionResetError) as exc:
            legacy = _legacy_probe(resolved, ctx.timeout_s)
            if legacy in LEGACY_VERSIONS:
                data["tls_version"] = legacy
                return CheckResult("failed", f"endpoint only offers {legacy}",
                                   [Finding("high", f"legacy protocol {legacy} only",
                                            "the server refused TLS 1.2+ and completed a handshake with "
                                            f"{legacy}", endpoint.display)], data)
            log.info("endpoint-transport handshake with %s failed: %s", endpoint.display, type(exc).__name__)
            return CheckResult("error", f"unreachable: {describe_network_error(exc)}", data=data)
        except OSError as exc:
            log.info("endpoint-transport could not reach %s: %s", endpoint.display, type(exc).__name__)
            return CheckResult("error", f"unreachable: {describe_network_error(exc)}", data=data)

        data.update({"verified": True, "tls_version": version, "cipher": cipher})
        data.update(certificate_info(der))
        findings: list[Finding] = []
        if version in LEGACY_VERSIONS:
            findings.append(Finding("high", f"legacy protocol {version} negotiated",
                                    "configure the server for TLS 1.2 or later only", endpoint.display))
        now = ctx.clock()
        not_after = _parse_time(data.get("not_after"))
        if not_after is not None:
            left = not_after - now
            data["days_left"] = left.days
            if left <= timedelta(0):
                findings.append(Finding("high", "certificate has expired",
                                        f"notAfter {data['not_after']}", endpoint.display))
            elif left < EXPIRY_WARNING:
                findings.append(Finding("high", f"certificate expires in {left.days} day(s)",
                                        f"notAfter {data['not_after']}; renew it now", endpoint.display))
        if findings:
            return CheckResult("failed", findings[0].title, findings, data)
        return CheckResult("passed", f"{version}, trusted certificate valid for {data.get('days_left', '?')} more "
                                     "days", findings, data)


def _handshake(resolved: Resolved, context: ssl.SSLContext, timeout: float) -> tuple[str, str, bytes]:
    """One TLS handshake with a vetted address, finished within ``timeout`` seconds in total."""
    with Deadline(timeout) as deadline, open_tls(resolved, context, deadline) as tls:
        cipher = tls.cipher()
        return tls.version() or "", cipher[0] if cipher else "", tls.getpeercert(binary_form=True) or b""


def _unverified_certificate(resolved: Resolved, timeout: float) -> dict:
    """Read the presented certificate without trusting it, to report what is wrong with it."""
    try:
        _, _, der = _handshake(resolved, unverified_context(), timeout)
        return certificate_info(der)
    except (OSError, ValueError):
        return {}


def _legacy_probe(resolved: Resolved, timeout: float) -> str:
    try:
        version, _, _ = _handshake(resolved, unverified_context(legacy=True), timeout)
        return version
    except (OSError, ValueError):
        return ""


def certificate_info(der: bytes) -> dict:
    """Subject, issuer, validity and SANs of a DER certificate (via ``cryptography``)."""
    if not der:
        return {}
    from cryptography import x509

    cert = x509.load_der_x509_certificate(der)
    info = {
        "subject": cert.subject.rfc4514_string(),
        "issuer": cert.issuer.rfc4514_string(),
        "not_before": cert.not_valid_before_utc.isoformat(),
        "not_after": cert.not_valid_after_utc.isoformat(),
        "serial": format(cert.serial_number, "x"),
    }
    try:
        san = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
        info["san"] = [str(v) for v in san.get_values_for_type(x509.DNSName)] + \
                      [str(v) for v in san.get_values_for_type(x509.IPAddress)]
    except x509.ExtensionNotFound:
        info["san"] = []
    return info


def _parse_time(value: object) -> datetime | None:
    if not isinstance(value, str):
        return None
    parsed = datetime.fromisoformat(value)
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)
