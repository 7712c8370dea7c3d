"""Two officers approving at the same moment, for real: threads with their own database connections.

The first approval is held open inside its transaction while the second one runs. Without the lock
on the project row the second commits beside the first (on PostgreSQL, where writers do not queue),
leaving two approved assessments counting. With it, the second waits, then sees the first.
SQLite serialises writers by itself (IMMEDIATE transactions), so the same test passes there for that
reason; CI runs it on PostgreSQL.
"""

import threading
from unittest import mock

import pytest
from django.core.exceptions import ValidationError
from django.db import connection

from assessments import services
from assessments.choices import AssessmentStatus
from assessments.models import Assessment
from assessments.tests.factories import make_assessment
from audit.models import AuditEvent

pytestmark = pytest.mark.django_db(transaction=True)

HOLD_SECONDS = 1.5  # how long the first approval keeps its transaction open while the second runs


def _in_thread(target, outcome: dict, key: str) -> threading.Thread:
    def run():
        try:
            outcome[key] = target()
        except Exception as exc:  # the test inspects what each officer got
            outcome[key] = exc
        finally:
            connection.close()

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    return thread


def _race(first_approval, second_approval) -> dict:
    """Run `first_approval` with its transaction held open until `second_approval` ends (or HOLD_SECONDS).

    An approval is a top-level action (durable): no outer transaction may wrap it, so the first one is
    held from inside its own, once it has written its audit event.
    """
    outcome: dict = {}
    first_done, release, second_done = threading.Event(), threading.Event(), threading.Event()
    holder = threading.local()
    record = services.audit_record

    def record_then_hold(**fields):
        event = record(**fields)
        if getattr(holder, "first", False):
            first_done.set()
            release.wait(timeout=10)
        return event

    def first():
        holder.first = True
        return first_approval()

    def second():
        try:
            return second_approval()
        finally:
            second_done.set()

    with mock.patch.object(services, "audit_record", record_then_hold):
        one = _in_thread(first, outcome, "first")
        assert first_done.wait(timeout=10), outcome
        two = _in_thread(second, outcome, "second")
        second_done.wait(timeout=HOLD_SECONDS)
        release.set()
        one.join(timeout=30)
        two.join(timeout=30)
    assert not one.is_alive() and not two.is_alive()
    return outcome


def test_two_concurrent_approvals_of_two_cycles_leave_exactly_one_counting(org):
    older = make_assessment(org.project, cycle="2026-Q3", levels=1, status=AssessmentStatus.SUBMITTED)
    newer = make_assessment(org.project, cycle="2026-Q4", levels=3, status=AssessmentStatus.SUBMITTED)
    outcome = _race(lambda: services.assessment_approve(actor=org.officer, assessment=older),
                    lambda: services.assessment_approve(actor=org.officer, assessment=newer))
    assert isinstance(outcome["first"], Assessment) and isinstance(outcome["second"], Assessment), outcome
    current = list(Assessment.objects.filter(project=org.project, status="approved", superseded_at__isnull=True).values_list("cycle", flat=True))
    assert current == ["2026-Q4"]
    older.refresh_from_db()
    newer.refresh_from_db()
    assert older.status == newer.status == AssessmentStatus.APPROVED
    assert older.superseded_at == newer.reviewed_at


def test_a_newer_cycle_approved_first_still_counts_when_an_older_one_is_approved_at_the_same_time(org):
    older = make_assessment(org.project, cycle="2026-Q3", levels=1, status=AssessmentStatus.SUBMITTED)
    newer = make_assessment(org.project, cycle="2026-Q4", levels=3, status=AssessmentStatus.SUBMITTED)
    outcome = _race(lambda: services.assessment_approve(actor=org.officer, assessment=newer),
                    lambda: services.assessment_approve(actor=org.officer, assessment=older))
    assert isinstance(outcome["second"], Assessment), outcome
    current = list(Assessment.objects.filter(project=org.project, status="approved", superseded_at__isnull=True).values_list("cycle", flat=True))
    assert current == ["2026-Q4"]


def test_a_double_click_on_approve_approves_once(org):
    submitted = make_assessment(org.project, levels=2, status=AssessmentStatus.SUBMITTED)
    outcome = _race(lambda: services.assessment_approve(actor=org.officer, assessment=submitted),
                    lambda: services.assessment_approve(actor=org.officer, assessment=submitted))
    assert isinstance(outcome["first"], Assessment)
    assert isinstance(outcome["second"], ValidationError) and "it is approved" in str(outcome["second"])
    assert AuditEvent.objects.filter(action="assessment.approve", object_id=str(submitted.pk)).count() == 1
