"""The one entry point for telling people something happened, and the settings that steer it.

    notify("assessment.submitted", obj=assessment, actor=request.user)

Call `notify()` inside the transaction of the change: its rows commit or roll back with it, and the
delivery is queued only once they have committed (`transaction.on_commit`).
"""

from __future__ import annotations

import json
from urllib.parse import urlsplit

from django.conf import settings
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.serializers.json import DjangoJSONEncoder
from django.db import IntegrityError, transaction
from django.utils import timezone

from accounts.models import Membership
from audit.services import audit_record
from evidence.storage import encrypt

from . import events, transport
from .choices import TEAM_CHANNEL_KINDS, Channel, Delivery, OutboxStatus
from .models import Dispatch, Notification, OutboxMessage, Preference, TeamChannel

MIN_SECRET_LENGTH = 16


def _json_safe(context: dict) -> dict:
    return json.loads(json.dumps(context, cls=DjangoJSONEncoder, default=str))


def _may_see(people: list, team_id: int | None) -> list:
    """Only people who may see the object's team hear about it, whoever the caller named."""
    if team_id is None:
        return people
    members = set(Membership.objects.filter(team_id=team_id, user_id__in=[p.pk for p in people])
                  .values_list("user_id", flat=True))
    return [p for p in people if p.sees_everything or p.pk in members]


def _people(spec, obj, context, recipients, actor, team_id) -> list:
    chosen = recipients if recipients is not None else spec.recipients(obj, context)
    seen, people = set(), []
    for person in chosen:
        if person.pk in seen or not person.is_active or (actor is not None and person.pk == actor.pk):
            continue  # nobody is told about what they did themselves
        seen.add(person.pk)
        people.append(person)
    return _may_see(people, team_id)


def _create_dispatch(**fields) -> Dispatch | None:
    if fields.get("dedupe_key"):
        try:
            with transaction.atomic():
                return Dispatch.objects.create(**fields)
        except IntegrityError:
            return None  # already dispatched (a second run of a daily job, or two workers at once)
    return Dispatch.objects.create(**fields)


def notify(event: str, *, obj, actor=None, recipients=None, context: dict | None = None,
           dedupe_key: str | None = None) -> Dispatch | None:
    """Record that `event` happened to `obj` and queue its deliveries.

    `recipients` (users) replaces the event's default audience; inactive users, the actor and anyone
    who may not see `obj`'s team are dropped. Each person gets an in-portal notification, and an
    e-mail now, in their daily digest, or not at all (their preference); the team's channels that
    subscribe to the event get a message each. A `dedupe_key` already used makes this a no-op (None).
    """
    spec = events.get(event)
    context = _json_safe(dict(context or {}))
    title, body, path = spec.render(obj, context)  # the title is made one line below: it becomes a mail header
    team_id = events.team_id_of(obj, context)
    dispatch = _create_dispatch(
        event=event, team_id=team_id, object_type=obj._meta.label_lower if obj is not None else "",
        object_id=str(getattr(obj, "pk", "") or ""), actor=actor if getattr(actor, "pk", None) else None,
        title=" ".join(title.split())[:300], body=body[:8000], path=path[:500], context=context, dedupe_key=dedupe_key)
    if dispatch is None:
        return None
    people = _people(spec, obj, context, recipients, actor, team_id)
    Notification.objects.bulk_create([Notification(dispatch=dispatch, recipient=p) for p in people])
    chosen = dict(Preference.objects.filter(user__in=[p.pk for p in people], event=event)
                  .values_list("user_id", "delivery"))
    rows = []
    for person in people:
        delivery = chosen.get(person.pk, Delivery.IMMEDIATE)
        if person.email and delivery != Delivery.OFF:
            status = OutboxStatus.HELD if delivery == Delivery.DIGEST else OutboxStatus.PENDING
            rows.append(OutboxMessage(dispatch=dispatch, channel=Channel.EMAIL, recipient=person, status=status))
    if team_id is not None:
        for channel in TeamChannel.objects.filter(team_id=team_id, active=True):
            if channel.wants(event):
                rows.append(OutboxMessage(dispatch=dispatch, channel=channel.kind, team_channel=channel))
    if event.startswith("check.") and settings.MLSEC_WEBHOOK_URL:  # the operator's organisation-wide hook
        rows.append(OutboxMessage(dispatch=dispatch, channel=Channel.WEBHOOK))
    OutboxMessage.objects.bulk_create(rows)
    queue_delivery([m.pk for m in rows if m.status == OutboxStatus.PENDING])
    return dispatch


def queue_delivery(ids: list[int]) -> None:
    """Hand the rows to a worker once they are committed (the periodic sweep catches any that are missed)."""
    if not ids:
        return
    from .tasks import deliver_messages

    transaction.on_commit(lambda: deliver_messages.delay(ids))


# --- the in-portal list ---------------------------------------------------------------------------

def notifications_mark_read(*, user, ids: list[int] | None = None) -> int:
    """Mark the user's own notifications read (all unread ones when `ids` is None)."""
    rows = Notification.objects.visible_to(user).unread()
    if ids is not None:
        rows = rows.filter(pk__in=ids)
    return rows.update(read_at=timezone.now())


# --- preferences ----------------------------------------------------------------------------------

def preferences_for(user) -> list[dict]:
    chosen = dict(Preference.objects.filter(user=user).values_list("event", "delivery"))
    return [{"event": e.key, "label": e.label, "audience": e.audience,
             "delivery": chosen.get(e.key, Delivery.IMMEDIATE)} for e in events.EVENTS.values()]


@transaction.atomic(durable=True)
def preferences_update(*, user, choices: dict) -> list[dict]:
    """Set how `user` hears of each event: {"event": "immediate" | "digest" | "off"}. All or nothing."""
    if not isinstance(choices, dict) or not choices:
        raise ValidationError({"preferences": ["Give at least one event and how to deliver it."]})
    errors = {}
    for event, delivery in choices.items():
        if event not in events.EVENTS:
            errors[str(event)] = ["Unknown event."]
        elif delivery not in Delivery.values:
            errors[event] = [f"Choose one of: {', '.join(Delivery.values)}."]
    if errors:
        raise ValidationError(errors)
    before = dict(Preference.objects.filter(user=user, event__in=choices).values_list("event", "delivery"))
    for event, delivery in choices.items():
        Preference.objects.update_or_create(user=user, event=event, defaults={"delivery": delivery})
    changed = {e: d for e, d in choices.items() if before.get(e, Delivery.IMMEDIATE) != d}
    if changed:
        audit_record(actor=user, action="notifications.preferences", obj=user,
                     before={e: before.get(e, Delivery.IMMEDIATE) for e in changed}, after=changed)
    return preferences_for(user)


# --- team channels --------------------------------------------------------------------------------

def _url_hint(url: str) -> str:
    try:
        parts = urlsplit(url)
        return f"{parts.scheme}://{parts.hostname}{f':{parts.port}' if parts.port else ''}/…"
    except ValueError:  # url_refusal refuses such a URL before it is stored
        return "(an unreadable URL)"


def _validated_events(value) -> list[str]:
    if value in (None, ""):
        return []
    if not isinstance(value, list | tuple) or not all(isinstance(v, str) for v in value):
        raise ValidationError({"events": ["Give a list of event names (empty: every event)."]})
    unknown = sorted(set(value) - set(events.EVENTS))
    if unknown:
        raise ValidationError({"events": [f"Unknown event(s): {', '.join(unknown)}."]})
    return sorted(set(value))


def _channel_snapshot(channel: TeamChannel) -> dict:
    # Never the URL or the secret: the audit trail shows where in outline, and that a secret is set.
    return {"team": channel.team.slug, "kind": channel.kind, "name": channel.name, "url": channel.url_hint,
            "events": channel.events, "active": channel.active, "secret_set": channel.has_secret}


def _set_url_and_secret(channel: TeamChannel, url: str | None, secret: str | None, errors: dict) -> None:
    if url is not None:
        refusal = transport.url_refusal(url)
        if refusal:
            errors["url"] = [refusal]
        else:
            channel.url_encrypted, channel.url_hint = encrypt(url.encode()), _url_hint(url)
    if secret is not None and secret != "":
        if len(secret) < MIN_SECRET_LENGTH:
            errors["secret"] = [f"Use a signing secret of at least {MIN_SECRET_LENGTH} characters."]
        else:
            channel.secret_encrypted = encrypt(secret.encode())
    if channel.kind == Channel.WEBHOOK and not channel.secret_encrypted and "secret" not in errors:
        errors["secret"] = ["A JSON webhook needs a signing secret (the receiver checks the HMAC)."]


@transaction.atomic(durable=True)
def team_channel_create(*, actor, team, kind: str, name: str, url: str, secret: str = "",
                        events: list | None = None, active: bool = True) -> TeamChannel:
    """A lead of the team, an officer or an administrator adds a Slack, Teams or signed JSON webhook."""
    if not TeamChannel.can_be_managed_by(actor, team):
        raise PermissionDenied("Only the team's leads and security officers can set its notification channels.")
    errors: dict = {}
    if kind not in TEAM_CHANNEL_KINDS:
        errors["kind"] = [f"Choose one of: {', '.join(TEAM_CHANNEL_KINDS)}."]
    if not (name or "").strip():
        errors["name"] = ["Name the channel."]
    channel = TeamChannel(team=team, kind=kind, name=(name or "").strip()[:80], created_by=actor, active=bool(active))
    try:
        channel.events = _validated_events(events)
    except ValidationError as exc:
        errors.update(exc.message_dict)
    _set_url_and_secret(channel, url or "", secret, errors)
    if errors:
        raise ValidationError(errors)
    channel.save()
    audit_record(actor=actor, action="notifications.channel_create", obj=channel, after=_channel_snapshot(channel))
    return channel


@transaction.atomic(durable=True)
def team_channel_update(*, actor, channel: TeamChannel, **fields) -> TeamChannel:
    """Rename, re-point, re-key, switch on or off, or change the events of a channel."""
    channel = TeamChannel.objects.select_for_update().select_related("team").get(pk=channel.pk)
    if not TeamChannel.can_be_managed_by(actor, channel.team):
        raise PermissionDenied("Only the team's leads and security officers can set its notification channels.")
    before, errors = _channel_snapshot(channel), {}
    if "name" in fields:
        if not (fields["name"] or "").strip():
            errors["name"] = ["Name the channel."]
        channel.name = (fields["name"] or "").strip()[:80]
    if "events" in fields:
        try:
            channel.events = _validated_events(fields["events"])
        except ValidationError as exc:
            errors.update(exc.message_dict)
    if "active" in fields:
        channel.active = bool(fields["active"])
    _set_url_and_secret(channel, fields.get("url") or None, fields.get("secret"), errors)
    if errors:
        raise ValidationError(errors)
    channel.save()
    after = _channel_snapshot(channel)
    changed = {k: v for k, v in after.items() if before[k] != v}
    if "url" in fields or fields.get("secret"):
        changed["credentials"] = "replaced"
    if changed:
        audit_record(actor=actor, action="notifications.channel_update", obj=channel,
                     before={k: before.get(k) for k in changed if k in before}, after=changed)
    return channel


@transaction.atomic(durable=True)
def team_channel_delete(*, actor, channel: TeamChannel) -> None:
    if not TeamChannel.can_be_managed_by(actor, channel.team):
        raise PermissionDenied("Only the team's leads and security officers can set its notification channels.")
    audit_record(actor=actor, action="notifications.channel_delete", obj=channel, before=_channel_snapshot(channel))
    channel.delete()
