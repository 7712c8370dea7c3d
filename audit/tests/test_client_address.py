"""The client address in an event is an IP address in canonical form, or nothing; never a 500, never a broken chain."""

import ipaddress

import pytest

from audit.models import AuditEvent
from audit.services import audit_alone, verify_chain
from mlsec_portal import context

CASES = [
    ("203.0.113.9", "203.0.113.9"),
    ("::ffff:198.51.100.7", "198.51.100.7"),  # IPv4-mapped: the IPv4 client
    ("2001:DB8::1", "2001:db8::1"),
    ("fe80::1%eth0", "fe80::1"),  # the zone id means nothing outside this host
    ("::1.2.3.4", "::102:304"),  # PostgreSQL prints this one back as ::1.2.3.4
    ("not-an-address", None),
    ("not:an:address", None),
    ("198.51.100.7:8080", None),
    ("203.0.113.9, 10.0.0.1", None),
    ("x" * 300, None),
    ("", None),
]


def canonical(value: str | None) -> str | None:
    """The address as a value, whatever text the database prints it as."""
    return None if value is None else str(ipaddress.ip_address(value))


@pytest.mark.parametrize("remote_addr,stored", CASES, ids=[c[0][:24] or "empty" for c in CASES])
def test_the_client_address_is_normalised_and_an_invalid_one_is_dropped(org, client, remote_addr, stored):
    client.force_login(org.lead)
    response = client.post(f"/projects/{org.project.pk}/edit/", {
        "name": "Card fraud scorer v2", "risk_tier": "high", "lifecycle": "production", "data_classification": "internal",
    }, REMOTE_ADDR=remote_addr)
    assert response.status_code == 302
    event = AuditEvent.objects.get(action="project.update")
    assert canonical(event.ip) == stored and (event.ip is None) == (stored is None)
    report = verify_chain()
    assert report.ok, report.reason


@pytest.mark.parametrize("value", [["10.0.0.1"], 3232235777, b"10.0.0.1", "10.0.0.1\n", "\u0661.2.3.4"])
def test_whatever_a_caller_passes_as_the_address_the_event_is_written_and_verifies(org, value):
    token = context.activate(context.RequestContext(request_id="r1", ip=value))
    try:
        event = audit_alone(actor=org.lead, action="test.address", after={"x": 1})
    finally:
        context.deactivate(token)
    event.refresh_from_db()
    assert event.ip in (None, "10.0.0.1", "192.168.1.1")
    assert verify_chain().ok
