"""The one door through which remediation actions and campaigns tell people something.

`emit()` records the event in the audit trail (who is told what, about which object), logs it, and hands
it to the notifications outbox (`notifications.services.notify`), which delivers it by each person's
preference and to the team's channels.
"""

from __future__ import annotations

import logging

from audit.services import audit_record

logger = logging.getLogger("mlsec.events")


def emit(event_name: str, *, obj, actor, recipients, context: dict | None = None) -> None:
    """Tell `recipients` (users) about `event_name` on `obj`; call it inside the transaction of the change."""
    people = sorted({user.pk: user for user in recipients if user is not None}.values(), key=lambda u: u.pk)
    audit_record(actor=actor, action=f"event.{event_name}", obj=obj,
                 after={"event": event_name, "recipients": [u.pk for u in people], **(context or {})})
    logger.info("event %s on %s #%s to %s", event_name, obj._meta.label_lower, obj.pk,
                ",".join(u.username for u in people) or "nobody")
    from notifications.services import notify

    notify(event_name, obj=obj, actor=actor, recipients=people, context=context)
