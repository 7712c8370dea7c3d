"""Reminders on the right days: the beat task run once a day, with the clock moved (time-machine)."""

import datetime as dt

import pytest
import time_machine
from django.utils import timezone

from actions.models import Action
from actions.tasks import send_action_reminders
from audit.models import AuditEvent
from mlsec_portal.schedules import default_schedules

from .factories import approve_with

pytestmark = pytest.mark.django_db


def run_beat_on(day: dt.date):
    """What the beat schedule does at 06:00 UTC that day: run the task."""
    with time_machine.travel(dt.datetime.combine(day, dt.time(6, 0), tzinfo=dt.UTC), tick=False):
        return send_action_reminders.apply().get()


def events(name):
    return list(AuditEvent.objects.filter(action=f"event.{name}").order_by("seq"))


def test_the_reminder_task_is_scheduled_daily():
    assert ("Remediation action reminders", "actions.tasks.send_action_reminders", "0 6 * * *", []) in default_schedules()


def test_due_fires_seven_days_before_once_and_overdue_the_day_after_to_owner_and_lead(org):
    start = timezone.localdate()
    due = start + dt.timedelta(days=20)
    approve_with(org, org.project, answers={"MLS-03": {"level": 1, "target_level": 3, "due_date": due,
                                                       "owner_user": org.member}})
    action = Action.objects.get()
    fired = {}
    for offset in range(0, 25):
        day = start + dt.timedelta(days=offset)
        run_beat_on(day)
        for name in ("action.due", "action.overdue"):
            if events(name) and name not in fired:
                fired[name] = day
    assert fired == {"action.due": due - dt.timedelta(days=7), "action.overdue": due + dt.timedelta(days=1)}
    (due_event,) = events("action.due")
    (overdue_event,) = events("action.overdue")
    assert due_event.object_id == str(action.pk)
    assert due_event.changes["after"]["recipients"] == [org.member.pk]
    assert set(overdue_event.changes["after"]["recipients"]) == {org.member.pk, org.lead.pk}
    assert overdue_event.changes["after"]["path"] == f"/actions/{action.pk}/"


def test_a_closed_action_is_never_reminded_and_a_new_date_reminds_again(org):
    from actions import services

    start = timezone.localdate()
    approve_with(org, org.project, answers={"MLS-03": {"level": 1, "target_level": 3,
                                                       "due_date": start + dt.timedelta(days=3)},
                                            "MLS-04": {"level": 1, "target_level": 3,
                                                       "due_date": start + dt.timedelta(days=3)}})
    closed = Action.objects.get(practice__code="MLS-04")
    Action.objects.filter(pk=closed.pk).update(status="done")
    run_beat_on(start)
    assert [e.object_id for e in events("action.due")] == [str(Action.objects.get(practice__code="MLS-03").pk)]
    moved = Action.objects.get(practice__code="MLS-03")
    services.action_update(actor=org.lead, action=moved, due_on=start + dt.timedelta(days=5))
    run_beat_on(start)
    assert len(events("action.due")) == 2
    run_beat_on(start)  # and never twice for the same date
    assert len(events("action.due")) == 2
