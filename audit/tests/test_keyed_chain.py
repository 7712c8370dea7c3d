"""A database writer without MLSEC_AUDIT_KEY cannot re-forge the trail; legacy SHA-256 events stay verifiable.

The forger below is what someone with write access to the table does: change history, then
recompute every later hash (plain SHA-256 over the canonical content, the only hash they can
compute) and move the chain head so that everything links up again.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import importlib
import json
import secrets
from types import SimpleNamespace

import pytest
from django.db import connection
from django.utils import timezone

from assessments import services
from audit.models import GENESIS_HASH, AuditChainHead, AuditEvent
from audit.services import audit_alone, verify_chain
from audit.tests.test_trail import bypassing_the_database_guard

UNKEYED = 1  # chain version of plain SHA-256 events


def chain():
    from audit import chain as module  # imported late: the forgery tests also run against the unkeyed code

    return module


@pytest.fixture
def trail(org):
    project = services.project_create(actor=org.lead, team=org.team, name="Chargeback predictor", slug="chargebacks")
    services.project_update(actor=org.lead, project=project, risk_tier="high")
    assessment = services.assessment_start(actor=org.member, project=project, cycle="2026-Q4")
    for answer in assessment.answers.all()[:3]:
        services.answer_update(actor=org.member, answer=answer, level=2)
    events = list(AuditEvent.objects.order_by("seq"))
    assert len(events) >= 6 and verify_chain().ok
    return events


def columns() -> set[str]:
    with connection.cursor() as cursor:
        return {c.name for c in connection.introspection.get_table_description(cursor, "audit_auditevent")}


def sha256_of(event: AuditEvent) -> str:
    """The plain SHA-256 chain hash, computed as anyone without the key can."""
    content = {
        "seq": event.seq, "at": event.at.isoformat(timespec="microseconds"), "actor_id": event.actor_id,
        "actor_username": event.actor_username, "action": event.action, "object_type": event.object_type,
        "object_id": event.object_id, "object_repr": event.object_repr, "changes": event.changes, "ip": event.ip,
        "request_id": event.request_id, "prev_hash": event.prev_hash,
    }
    body = json.dumps(content, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(body.encode()).hexdigest()


def rechain(cursor, from_seq: int, hasher=sha256_of) -> None:
    """Recompute every hash from `from_seq` on, relink, and move the head to the new tip."""
    unkeyed = "chain_version" in columns() and hasher is sha256_of
    prev = AuditEvent.objects.filter(seq__lt=from_seq).order_by("-seq").values_list("hash", flat=True).first()
    prev = prev or GENESIS_HASH
    for event in AuditEvent.objects.filter(seq__gte=from_seq).order_by("seq"):
        event.prev_hash = prev
        if unkeyed:
            event.chain_version = UNKEYED
        new_hash = hasher(event)
        sets, params = "prev_hash = %s, hash = %s", [prev, new_hash]
        if unkeyed:
            sets += ", chain_version = 1, key_id = ''"
        cursor.execute(f"UPDATE audit_auditevent SET {sets} WHERE seq = %s", [*params, event.seq])
        prev = new_hash
    last = AuditEvent.objects.order_by("-seq").first()
    cursor.execute("UPDATE audit_auditchainhead SET last_seq = %s, last_hash = %s WHERE id = 1",
                   [last.seq if last else 0, prev])


def forge_edit(cursor, trail):
    victim = trail[2]
    cursor.execute("UPDATE audit_auditevent SET object_repr = %s WHERE seq = %s", ["Harmless rename", victim.seq])
    rechain(cursor, victim.seq)


def forge_deletion(cursor, trail):
    victim = trail[2]
    cursor.execute("DELETE FROM audit_auditevent WHERE seq = %s", [victim.seq])
    for event in trail[3:]:
        cursor.execute("UPDATE audit_auditevent SET seq = %s WHERE seq = %s", [event.seq - 1, event.seq])
    rechain(cursor, victim.seq)


def forge_insertion(cursor, trail):
    last = trail[-1]
    names = sorted(columns() - {"id"})
    values = {
        "seq": last.seq + 1, "at": timezone.now(), "actor_id": None, "actor_username": "officer",
        "action": "assessment.approve", "object_type": "assessments.assessment", "object_id": "1",
        "object_repr": "Chargeback predictor 2026-Q4", "changes": json.dumps({"after": {"status": "approved"}}),
        "ip": None, "request_id": "", "prev_hash": last.hash, "hash": secrets.token_hex(32),
        "chain_version": 1, "key_id": "", "entry_mac": "",
    }
    cursor.execute(f"INSERT INTO audit_auditevent ({', '.join(names)}) VALUES ({', '.join(['%s'] * len(names))})",
                   [values[n] for n in names])
    rechain(cursor, last.seq + 1)


@pytest.mark.parametrize("forge", [forge_edit, forge_deletion, forge_insertion], ids=["edit", "deletion", "insertion"])
def test_a_chain_re_forged_without_the_key_fails_verification(trail, forge):
    with bypassing_the_database_guard() as cursor:
        forge(cursor, trail)
    report = verify_chain()
    assert not report.ok, "a re-chained forgery passed verification"


def test_a_chain_re_forged_with_a_guessed_key_fails_verification(trail):
    guessed = b"not-the-audit-key-" * 3

    def hmac_with_guess(event):
        return chain().event_hash(event, {event.key_id: guessed})

    with bypassing_the_database_guard() as cursor:
        cursor.execute("UPDATE audit_auditevent SET object_repr = 'x' WHERE seq = %s", [trail[1].seq])
        rechain(cursor, trail[1].seq, hasher=hmac_with_guess)
    report = verify_chain()
    assert not report.ok and report.first_broken_seq == trail[1].seq and "altered" in report.reason


def test_removing_the_newest_events_and_moving_the_head_back_is_detected(trail):
    survivor = trail[-3]
    with bypassing_the_database_guard() as cursor:
        cursor.execute("DELETE FROM audit_auditevent WHERE seq > %s", [survivor.seq])
        cursor.execute("UPDATE audit_auditchainhead SET last_seq = %s, last_hash = %s WHERE id = 1",
                       [survivor.seq, survivor.hash])
    report = verify_chain()
    assert not report.ok and "head" in report.reason


def make_legacy_trail(n: int) -> list[AuditEvent]:
    """Events as the portal wrote them before the chain was keyed: plain SHA-256, no key id."""
    prev, events = GENESIS_HASH, []
    start = timezone.now() - dt.timedelta(days=30)
    for seq in range(1, n + 1):
        event = AuditEvent(seq=seq, at=start + dt.timedelta(hours=seq), actor_username="system",
                           action="project.update", object_type="assessments.project", object_id=str(seq),
                           object_repr=f"project {seq}", changes={"after": {"risk_tier": "high"}}, ip="192.0.2.10",
                           request_id="", prev_hash=prev, chain_version=UNKEYED, key_id="")
        event.hash = sha256_of(event)
        event.save(force_insert=True)
        prev = event.hash
        events.append(event)
    AuditChainHead.objects.update_or_create(pk=1, defaults={"last_seq": n, "last_hash": prev, "mac": "", "key_id": ""})
    return events


@pytest.fixture
def legacy_trail(db):
    """A database as it stood before the upgrade (inside the test's transaction: rolled back after)."""
    with bypassing_the_database_guard() as cursor:
        cursor.execute("DELETE FROM audit_auditevent")
    return make_legacy_trail(4)


def seal():
    from django.apps import apps

    migration = importlib.import_module("audit.migrations.0004_key_the_chain_with_hmac")
    migration.seal_legacy_chain(apps, SimpleNamespace(connection=connection))


def test_events_written_before_the_chain_was_keyed_still_verify_once_sealed(legacy_trail, org):
    seal()
    sealing = AuditEvent.objects.get(action=chain().SEAL_ACTION)
    assert sealing.seq == 5 and sealing.prev_hash == legacy_trail[-1].hash
    assert sealing.chain_version == chain().CHAIN_HMAC
    assert sealing.changes["extra"]["legacy_events"] == 4
    services.project_update(actor=org.lead, project=org.project, name="Card fraud scorer v2")
    report = verify_chain()
    assert report.ok and report.checked == 6
    seal()  # a second run of the migration adds nothing
    assert AuditEvent.objects.filter(action=chain().SEAL_ACTION).count() == 1


def test_an_unsealed_legacy_chain_is_not_trusted(legacy_trail):
    report = verify_chain()
    assert not report.ok and "seals" in report.reason


def test_rewriting_the_sealed_legacy_events_is_detected(legacy_trail):
    seal()
    with bypassing_the_database_guard() as cursor:
        cursor.execute("UPDATE audit_auditevent SET object_repr = 'renamed' WHERE seq = 2")
        for event in AuditEvent.objects.filter(seq__gte=2, seq__lte=4).order_by("seq"):
            prev = AuditEvent.objects.get(seq=event.seq - 1).hash
            event.prev_hash = prev
            cursor.execute("UPDATE audit_auditevent SET prev_hash = %s, hash = %s WHERE seq = %s",
                           [prev, sha256_of(event), event.seq])
    report = verify_chain()
    assert not report.ok and report.first_broken_seq == 5


def test_dropping_the_seal_to_pass_off_an_unkeyed_chain_is_detected(legacy_trail):
    seal()
    with bypassing_the_database_guard() as cursor:
        cursor.execute("DELETE FROM audit_auditevent WHERE seq = 5")
        cursor.execute("UPDATE audit_auditchainhead SET last_seq = 4, last_hash = %s, mac = '' WHERE id = 1",
                       [legacy_trail[-1].hash])
    assert not verify_chain().ok


def test_unkeyed_events_after_keyed_ones_are_refused(trail):
    with bypassing_the_database_guard() as cursor:
        rechain(cursor, trail[-1].seq)  # only the newest event, rehashed as SHA-256
    report = verify_chain()
    assert not report.ok and report.first_broken_seq == trail[-1].seq and "unkeyed" in report.reason


def test_a_rotated_key_keeps_older_events_verifiable_and_retiring_it_is_noticed(org, settings):
    session, old, new = settings.MLSEC_AUDIT_KEYS[0], secrets.token_urlsafe(48), secrets.token_urlsafe(48)
    settings.MLSEC_AUDIT_KEYS = [old, session]
    first = audit_alone(actor=org.admin, action="test.before_rotation")
    settings.MLSEC_AUDIT_KEYS = [new, old, session]
    second = audit_alone(actor=org.admin, action="test.after_rotation")
    assert first.key_id != second.key_id
    assert verify_chain().ok
    settings.MLSEC_AUDIT_KEYS = [new, session]
    report = verify_chain()
    assert not report.ok and first.key_id in report.reason


def test_an_event_under_a_retired_key_after_the_rotation_is_refused(org, settings):
    """A leaked old key forges nothing after the rotation: events never go back to an older key."""
    session, old, new = settings.MLSEC_AUDIT_KEYS[0], secrets.token_urlsafe(48), secrets.token_urlsafe(48)
    settings.MLSEC_AUDIT_KEYS = [new, old, session]
    audit_alone(actor=org.admin, action="test.rotated")
    settings.MLSEC_AUDIT_KEYS = [old, session]
    audit_alone(actor=org.admin, action="test.forged_with_the_old_key")
    settings.MLSEC_AUDIT_KEYS = [new, old, session]
    report = verify_chain()
    assert not report.ok and "retired" in report.reason


def test_verification_follows_events_appended_while_it_runs(trail, monkeypatch):
    """An event appended between the walk and the head read is verified, not reported as tampering."""
    from audit import services as audit_services

    read_head, appended = audit_services._read_head, []

    def a_writer_appends_first():
        if not appended:
            appended.append(audit_alone(actor=None, action="test.concurrent"))
        return read_head()

    monkeypatch.setattr(audit_services, "_read_head", a_writer_appends_first)
    report = verify_chain()
    assert report.ok and report.checked == len(trail) + 1
