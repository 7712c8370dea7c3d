"""notify(): who is told, whoever the caller names; unknown events fail loudly; a reminder is sent once."""

from __future__ import annotations

import pytest

from notifications.models import Dispatch, Notification
from notifications.services import notify

from .helpers import note_evidence


def test_named_recipients_outside_the_objects_team_are_dropped(org):
    evidence = note_evidence(org)
    notify("evidence.reviewed", obj=evidence, recipients=[org.other_lead, org.member, org.auditor, org.nobody])
    assert set(Notification.objects.values_list("recipient__username", flat=True)) == {"member", "auditor"}


def test_the_actor_and_inactive_people_are_not_told(org):
    org.member.is_active = False
    org.member.save(update_fields=["is_active"])
    notify("evidence.reviewed", obj=note_evidence(org), actor=org.lead)
    assert not Notification.objects.exists()


def test_an_unregistered_event_is_an_error_not_silence(org):
    with pytest.raises(ValueError, match="unknown notification event"):
        notify("assessment.submited", obj=org.project)
    assert not Dispatch.objects.exists()


def test_a_dedupe_key_makes_a_second_call_a_no_op(org):
    evidence = note_evidence(org)
    assert notify("evidence.expired", obj=evidence, dedupe_key=f"evidence.expired:{evidence.pk}") is not None
    assert notify("evidence.expired", obj=evidence, dedupe_key=f"evidence.expired:{evidence.pk}") is None
    assert Dispatch.objects.count() == 1 and Notification.objects.count() == 2
