"""Concurrent audited writes on PostgreSQL (issue 19): no writer waits on the chain head while another
transaction holds it, and the chain still comes out strictly ordered, gap-free and verifiable.

A writer that finds the head locked writes its event unchained (with an entry MAC) and carries on; the
transaction holding the head, or any later one, seals the waiting events in order after its commit.
Each thread below runs in its own database connection, as concurrent requests and check workers do.
"""

from __future__ import annotations

import threading
import time

import pytest
from django.db import DatabaseError, close_old_connections, connection, transaction

from audit.models import AuditChainHead, AuditEvent
from audit.services import audit_alone, audit_record, seal_pending, verify_chain
from audit.tests.test_trail import bypassing_the_database_guard
from conftest import require

pytestmark = pytest.mark.django_db(transaction=True)
HOLD_S = 3.0


@pytest.fixture(autouse=True)
def postgresql():
    require(connection.vendor == "postgresql", "row locks that writers could wait on exist on PostgreSQL only "
            "(SQLite serialises every write transaction anyway)")


def in_thread(target, *args):
    errors: list[BaseException] = []

    def run():
        try:
            target(*args)
        except BaseException as exc:  # noqa: BLE001 - re-raised in the test's thread
            errors.append(exc)
        finally:
            close_old_connections()
            connection.close()

    thread = threading.Thread(target=run)
    thread.start()
    return thread, errors


def assert_strict_chain() -> list[AuditEvent]:
    """The whole chain is gap-free and verifies; returns this test's own events (`test.*`) in chain order."""
    events = list(AuditEvent.objects.order_by("seq"))
    assert all(e.seq is not None for e in events), "events left waiting"
    assert [e.seq for e in events] == list(range(1, len(events) + 1))
    assert all(b.prev_hash == a.hash for a, b in zip(events, events[1:], strict=False))
    report = verify_chain()
    assert report.ok and report.checked == len(events) and report.waiting == 0, report
    return [e for e in events if e.action.startswith("test.")]


def test_a_writer_never_waits_for_a_transaction_that_holds_the_chain_head():
    holding, release = threading.Event(), threading.Event()

    def long_transaction():
        with transaction.atomic():
            audit_record(actor=None, action="test.long", object_type="test", object_id="long")
            holding.set()
            release.wait(HOLD_S * 3)  # a slow request or check worker, still inside its transaction

    holder, holder_errors = in_thread(long_transaction)
    assert holding.wait(30)
    timings: list[float] = []

    def quick_write():
        started = time.monotonic()
        with transaction.atomic():
            audit_record(actor=None, action="test.quick", object_type="test", object_id="quick")
        timings.append(time.monotonic() - started)

    quick, quick_errors = in_thread(quick_write)
    quick.join(HOLD_S * 2)
    try:
        assert not quick.is_alive(), "the second writer waited for the first transaction's head lock"
        assert not quick_errors, quick_errors
        assert timings[0] < HOLD_S / 2, timings  # the insert only, never the other transaction
        waiting = AuditEvent.objects.get(action="test.quick")
        assert waiting.seq is None and waiting.hash is None and waiting.entry_mac  # committed, not yet chained
        assert verify_chain().waiting == 1
    finally:
        release.set()
        holder.join(30)
    assert not holder_errors, holder_errors
    events = assert_strict_chain()  # the holder sealed the waiting event after its own commit
    assert [e.action for e in events] == ["test.long", "test.quick"]


def test_many_concurrent_writers_give_one_strict_chain():
    threads = []
    start = threading.Barrier(6)

    def writer(index):
        start.wait(30)
        for n in range(15):
            with transaction.atomic():
                audit_record(actor=None, action="test.concurrent", object_type="test", object_id=f"{index}-{n}")
                time.sleep(0.005)  # the rest of the transaction's work, head held or not

    for index in range(6):
        threads.append(in_thread(writer, index))
    for thread, errors in threads:
        thread.join(120)
        assert not errors, errors
    seal_pending()  # what the periodic task does for anything a racing sealer left (usually nothing)
    events = assert_strict_chain()
    assert sorted(e.object_id for e in events) == sorted(f"{i}-{n}" for i in range(6) for n in range(15))
    head = AuditChainHead.objects.get(pk=1)
    assert head.last_seq == AuditEvent.objects.count() and head.last_hash == events[-1].hash


def forged_waiting_event(**overrides) -> int:
    values = {"at": "2026-12-02T06:00:00+00:00", "actor_username": "officer", "action": "assessment.approve",
              "object_type": "assessments.assessment", "object_id": "1", "object_repr": "forged", "changes": "{}",
              "request_id": "", "prev_hash": "", "chain_version": 2, "key_id": "0" * 16, "entry_mac": "0" * 64}
    values.update(overrides)
    names = sorted(values)
    with connection.cursor() as cursor:
        cursor.execute(f"INSERT INTO audit_auditevent ({', '.join(names)}) VALUES ({', '.join(['%s'] * len(names))}) "
                       "RETURNING id", [values[n] for n in names])
        return cursor.fetchone()[0]


def test_a_waiting_event_forged_in_the_database_is_never_chained_and_is_reported():
    audit_alone(actor=None, action="test.real", object_type="test", object_id="1")
    forged = forged_waiting_event()
    assert seal_pending() == 0
    assert AuditEvent.objects.get(pk=forged).seq is None  # never given a place in the chain
    report = verify_chain()
    assert not report.ok and f"id {forged}" in report.reason and "forged" in report.reason


def test_a_waiting_event_edited_before_sealing_is_not_chained():
    holding, release = threading.Event(), threading.Event()

    def hold():
        with transaction.atomic():
            AuditChainHead.objects.select_for_update().get(pk=1)
            holding.set()
            release.wait(30)

    holder, _ = in_thread(hold)
    assert holding.wait(30)
    try:
        event = audit_alone(actor=None, action="evidence.accept", object_type="test", object_id="2")
        assert event.seq is None
        with connection.cursor() as cursor:  # INSERTs are allowed; changing the waiting row is not
            with pytest.raises(DatabaseError, match="append-only"), transaction.atomic():
                cursor.execute("UPDATE audit_auditevent SET action = 'evidence.reject' WHERE id = %s", [event.id])
    finally:
        release.set()
        holder.join(30)
    with bypassing_the_database_guard() as cursor:
        cursor.execute("UPDATE audit_auditevent SET action = 'evidence.reject' WHERE id = %s", [event.id])
    assert seal_pending() == 0
    assert not verify_chain().ok


def test_sealing_sets_the_chain_columns_once_and_nothing_else():
    audit_alone(actor=None, action="test.one", object_type="test", object_id="1")
    event = AuditEvent.objects.get(action="test.one")
    with connection.cursor() as cursor:
        for statement in ("UPDATE audit_auditevent SET seq = seq + 10 WHERE id = %s",  # re-sealing a sealed event
                          "UPDATE audit_auditevent SET seq = NULL, hash = NULL WHERE id = %s"):
            with pytest.raises(DatabaseError, match="append-only"), transaction.atomic():
                cursor.execute(statement, [event.id])


def test_reordered_sealed_events_are_detected():
    for n in range(4):
        audit_alone(actor=None, action="test.order", object_type="test", object_id=str(n))
    events = assert_strict_chain()
    second, third = events[1].seq, events[2].seq
    with bypassing_the_database_guard() as cursor:  # swap the places of two of them
        cursor.execute("UPDATE audit_auditevent SET seq = 0 WHERE seq = %s", [second])
        cursor.execute("UPDATE audit_auditevent SET seq = %s WHERE seq = %s", [second, third])
        cursor.execute("UPDATE audit_auditevent SET seq = %s WHERE seq = 0", [third])
    report = verify_chain()
    assert not report.ok and report.first_broken_seq == second, report
