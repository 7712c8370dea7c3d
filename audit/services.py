"""Writing and verifying the audit trail."""

from __future__ import annotations

import datetime as dt
import decimal
import hmac
import logging
import uuid
from collections.abc import Iterable
from dataclasses import dataclass

from django.conf import settings
from django.db import models, transaction
from django.utils import timezone

from mlsec_portal import context

from . import chain
from .models import GENESIS_HASH, AuditChainHead, AuditEvent
from .redaction import model_secrets, redact_event

log = logging.getLogger(__name__)


def _json_safe(value):
    if isinstance(value, dt.datetime):
        return value.isoformat()
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, (decimal.Decimal, uuid.UUID)):
        return str(value)
    if isinstance(value, float):
        # Stored as text so the canonical JSON is byte-identical after a database round trip.
        return repr(value)
    if isinstance(value, dict):
        return {str(k): _json_safe(v) for k, v in value.items()}
    if isinstance(value, (list, tuple, set)):
        return [_json_safe(v) for v in value]
    if isinstance(value, models.Model):
        return value.pk
    return value


def snapshot(obj: models.Model, fields: Iterable[str]) -> dict:
    """JSON-safe values of `fields` on `obj` (foreign keys as their ids)."""
    result = {}
    for name in fields:
        field = obj._meta.get_field(name)
        attname = getattr(field, "attname", name)
        result[name] = _json_safe(getattr(obj, attname))
    return result


def diff(before: dict, after: dict) -> tuple[dict, dict]:
    """Only the keys whose value changed, as (before, after)."""
    keys = [k for k in after if before.get(k) != after.get(k)]
    return {k: before.get(k) for k in keys}, {k: after[k] for k in keys}


class AuditOutsideTransaction(RuntimeError):
    """An audit event written outside the transaction of its change (docs/architecture.md, "Transactions")."""


def _in_transaction(using: str | None = None) -> bool:
    """Inside an atomic block of the code, not only one a test case opened around the whole test."""
    connection = transaction.get_connection(using)
    return connection.in_atomic_block and any(
        not getattr(block, "_from_testcase", False) for block in connection.atomic_blocks)


def audit_record(
    *,
    actor,
    action: str,
    obj: models.Model | None = None,
    before: dict | None = None,
    after: dict | None = None,
    object_type: str = "",
    object_id: str = "",
    object_repr: str = "",
    extra: dict | None = None,
) -> AuditEvent:
    """Append one event to the chain, inside the transaction that makes the change.

    Called outside any transaction it refuses (AuditOutsideTransaction) under DEBUG and in the tests
    (`MLSEC_AUDIT_STRICT`); in production it logs the mistake and writes the event in a transaction of
    its own, since the change has already committed. An event with no change to join (a sign-in, a
    refused sign-in) goes through `audit_alone`.

    Secrets in the values (password hashes, tokens, keys, one-time secrets) are masked before the
    event is written; the client address is kept only if it parses as an IP address.
    """
    if not _in_transaction():
        if settings.DEBUG or getattr(settings, "MLSEC_AUDIT_STRICT", False):
            raise AuditOutsideTransaction(f"audit event {action} written outside the transaction of its change")
        log.error("audit event %s written outside the transaction of its change", action)
        with transaction.atomic():
            return _append(actor=actor, action=action, obj=obj, before=before, after=after, object_type=object_type,
                           object_id=object_id, object_repr=object_repr, extra=extra)
    return _append(actor=actor, action=action, obj=obj, before=before, after=after, object_type=object_type,
                   object_id=object_id, object_repr=object_repr, extra=extra)


def audit_alone(**fields) -> AuditEvent:
    """An event that records no change of its own (a sign-in, a refused sign-in, a mismatch found):
    written in a transaction of its own. Any other event goes through `audit_record`, in its change's."""
    with transaction.atomic():
        return audit_record(**fields)


def _append(*, actor, action: str, obj: models.Model | None, before: dict | None, after: dict | None,
            object_type: str, object_id: str, object_repr: str, extra: dict | None) -> AuditEvent:
    if obj is not None:
        object_type = object_type or obj._meta.label_lower
        object_id = object_id or str(obj.pk)
        object_repr = object_repr or str(obj)[:200]
    changes = {}
    if before is not None:
        changes["before"] = _json_safe(before)
    if after is not None:
        changes["after"] = _json_safe(after)
    if extra:
        changes["extra"] = _json_safe(extra)
    shown = redact_event(object_type=object_type, object_id=str(object_id), object_repr=object_repr[:200],
                         changes=changes, known_secrets=model_secrets(obj))
    request = context.current()
    signing_key_id, signing_key = chain.keyring()[0]
    actor_obj = actor if actor is not None and getattr(actor, "pk", None) else None
    event = AuditEvent(
        at=timezone.now(),
        actor=actor_obj,
        actor_username=actor_obj.get_username() if actor_obj else "system",
        action=action,
        object_type=object_type,
        object_id=shown.object_id[:64],
        object_repr=shown.object_repr[:200],
        changes=shown.changes,
        ip=chain.normalise_ip(request.ip),
        request_id=request.request_id if request.request_id != "-" else "",
        prev_hash="",
        chain_version=chain.CHAIN_HMAC,
        key_id=signing_key_id,
    )
    event.entry_mac = chain.entry_mac(signing_key, event)
    # Chain the event now if nobody holds the head; if another transaction does, never wait for it:
    # the event is written unchained and sealed in order right after this transaction commits.
    head = _head(skip_locked=True)
    if head is not None:
        _place(event, head, signing_key_id, signing_key)
    event.save(force_insert=True)
    if head is not None:
        _move_head(head, event, signing_key_id, signing_key)
    transaction.on_commit(_seal_after_commit)
    return event


def audit_delete(*, actor, action: str, obj: models.Model, before: dict, object_repr: str = "",
                 extra: dict | None = None) -> AuditEvent:
    """Delete `obj` and record it: its type, id and name are read before the row (and its pk) are gone."""
    object_type, object_id, shown = obj._meta.label_lower, str(obj.pk), object_repr or str(obj)
    obj.delete()
    return audit_record(actor=actor, action=action, object_type=object_type, object_id=object_id,
                        object_repr=shown, before=before, extra=extra)

def _seal_after_commit() -> None:
    """After an audited commit: seal what waits (nothing, usually: one query). Never fails the request
    whose change has already committed; the periodic task retries."""
    try:
        if AuditEvent.objects.filter(seq__isnull=True).exists():
            seal_pending()
    except Exception:  # noqa: BLE001 - logged; the change itself is committed and its event stored
        log.exception("sealing audit events failed; the periodic task will retry")


def _head(*, skip_locked: bool) -> AuditChainHead | None:
    """The chain head, locked for this transaction; None when another transaction holds it (skip_locked)."""
    head = AuditChainHead.objects.select_for_update(skip_locked=skip_locked).filter(pk=1).first()
    if head is None and not AuditChainHead.objects.filter(pk=1).exists():
        head, _ = AuditChainHead.objects.select_for_update().get_or_create(pk=1)  # a new database: once
    return head


def _place(event: AuditEvent, head: AuditChainHead, key_id: str, key: bytes) -> None:
    event.seq, event.prev_hash, event.key_id = head.last_seq + 1, head.last_hash, key_id
    event.hash = event.compute_hash({key_id: key})


def _move_head(head: AuditChainHead, event: AuditEvent, key_id: str, key: bytes) -> None:
    head.last_seq, head.last_hash, head.key_id = event.seq, event.hash, key_id
    head.mac = chain.head_mac(key, event.seq, event.hash)
    AuditChainHead.objects.filter(pk=head.pk).update(last_seq=head.last_seq, last_hash=head.last_hash,
                                                     key_id=key_id, mac=head.mac)


def seal_pending(batch: int = 500) -> int:
    """Give every committed, unchained event its place in the chain, oldest first; the number sealed.

    Each batch is one short transaction holding the head. When another transaction holds it, this
    returns at once: that holder (a writer chaining in place, or another sealer) seals what is left when
    it is done, since every audited transaction runs this after its commit and a sealer looks again
    after each batch. An event whose entry MAC does not verify (forged or edited in the database) is
    never chained; verify_chain reports it. The periodic task `audit.tasks.seal_audit_events` catches
    events of a process that died between its commit and this call.
    """
    keys = dict(chain.keyring())
    signing_key_id, signing_key = chain.keyring()[0]
    sealed, refused = 0, set()
    while True:
        with transaction.atomic():
            head = _head(skip_locked=True)
            if head is None:
                return sealed
            # From the start each time: a long transaction's event (a low id) may have committed meanwhile.
            waiting = list(AuditEvent.objects.filter(seq__isnull=True).exclude(id__in=refused).order_by("id")[:batch])
            if not waiting:
                return sealed
            for event in waiting:
                key = keys.get(event.key_id)
                if key is None or not hmac.compare_digest(event.entry_mac, chain.entry_mac(key, event)):
                    refused.add(event.id)
                    continue
                _place(event, head, signing_key_id, signing_key)
                models.QuerySet.update(AuditEvent.objects.filter(pk=event.pk, seq__isnull=True), seq=event.seq,
                                       prev_hash=event.prev_hash, key_id=event.key_id, hash=event.hash)
                head.last_seq, head.last_hash = event.seq, event.hash
                sealed += 1
            if head.last_seq:
                _move_head(head, AuditEvent(seq=head.last_seq, hash=head.last_hash), signing_key_id, signing_key)


@dataclass
class ChainReport:
    ok: bool
    checked: int
    first_broken_seq: int | None = None
    reason: str = ""
    last_hash: str = GENESIS_HASH
    waiting: int = 0  # events committed but not yet chained (verified by their entry MAC)


class _Walk:
    """State of one pass along the chain: what the next event must look like."""

    def __init__(self, keys: list[tuple[str, bytes]]):
        self.keys = dict(keys)
        self.rank = {kid: index for index, (kid, _) in enumerate(keys)}  # 0 = newest key
        self.expected_seq, self.prev_hash, self.checked = 1, GENESIS_HASH, 0
        self.legacy, self.keyed, self.key_rank = 0, 0, len(keys)

    def problem(self, event: AuditEvent) -> str | None:
        seq = event.seq
        if event.prev_hash != self.prev_hash:
            return f"event #{seq} does not link to the previous event"
        if event.chain_version == chain.CHAIN_SHA256:
            if self.keyed:
                return f"event #{seq} carries an unkeyed SHA-256 hash after keyed events: it was forged"
        elif event.chain_version == chain.CHAIN_HMAC:
            if event.key_id not in self.keys:
                return (f"event #{seq} is keyed with an unknown key ({event.key_id or 'none'}): it was forged, "
                        "or its key is missing from MLSEC_AUDIT_KEY")
            if self.rank[event.key_id] > self.key_rank:
                return f"event #{seq} is keyed with a key that was already retired: it was forged"
        else:
            return f"event #{seq} has an unknown chain version {event.chain_version}"
        if event.compute_hash(self.keys) != event.hash:
            return f"event #{seq} was altered (hash mismatch)"
        return None

    def accept(self, event: AuditEvent) -> None:
        if event.chain_version == chain.CHAIN_SHA256:
            self.legacy += 1
        else:
            self.keyed += 1
            self.key_rank = self.rank[event.key_id]
        self.prev_hash, self.expected_seq, self.checked = event.hash, self.expected_seq + 1, self.checked + 1


def verify_chain(chunk_size: int = 2000, rounds: int = 5) -> ChainReport:
    """Walk the whole chain in order; report the first event whose link, key or content is wrong.

    Events appended while the walk runs are verified too: after each pass the head is read again,
    and the walk goes on until it reaches the head (at most `rounds` passes).
    """
    walk = _Walk(chain.keyring())
    head = None
    for _ in range(rounds):
        broken = _walk_on(walk, chunk_size)
        if broken:
            return broken
        head = _read_head()
        if head is None or head.last_seq <= walk.checked:
            break
    report = _check_head(walk, head)
    return _check_waiting(walk, report) if report.ok else report


def _check_waiting(walk: _Walk, report: ChainReport) -> ChainReport:
    """Events not yet chained must carry a valid entry MAC: one forged in the database never gets sealed."""
    for event in AuditEvent.objects.filter(seq__isnull=True).order_by("id").iterator():
        key = walk.keys.get(event.key_id)
        if key is None or not hmac.compare_digest(event.entry_mac or "", chain.entry_mac(key, event)):
            return ChainReport(False, walk.checked, None, f"an event waiting for its place in the chain (id {event.id}, "
                               f"{event.action}) was forged or altered: its entry MAC does not verify")
        report.waiting += 1
    return report


def _walk_on(walk: _Walk, chunk_size: int) -> ChainReport | None:
    events = AuditEvent.objects.filter(seq__gte=walk.expected_seq).order_by("seq")
    for event in events.iterator(chunk_size=chunk_size):
        if event.seq != walk.expected_seq:
            return ChainReport(False, walk.checked, walk.expected_seq,
                               f"event #{walk.expected_seq} is missing (next is #{event.seq})")
        problem = walk.problem(event)
        if problem:
            return ChainReport(False, walk.checked, event.seq, problem)
        walk.accept(event)
    return None


def _read_head() -> AuditChainHead | None:
    return AuditChainHead.objects.filter(pk=1).first()


def _check_head(walk: _Walk, head: AuditChainHead | None) -> ChainReport:
    last_seq = head.last_seq if head else 0
    if last_seq != walk.checked or (head and head.last_hash != walk.prev_hash):
        return ChainReport(False, walk.checked, walk.checked + 1,
                           f"the chain ends at #{walk.checked} but its head records #{last_seq}: events were removed")
    if walk.legacy and not walk.keyed:
        return ChainReport(False, walk.checked, 1, f"the {walk.legacy} events carry only unkeyed SHA-256 hashes and no "
                           "keyed event seals them: the chain was rewritten (or migrations did not run)")
    if walk.keyed:
        key = walk.keys.get(head.key_id)
        if key is None or head.mac != chain.head_mac(key, head.last_seq, head.last_hash):
            return ChainReport(False, walk.checked, walk.checked + 1,
                               "the chain head's MAC does not match: the head was moved (newest events removed?)")
    return ChainReport(True, walk.checked, last_hash=walk.prev_hash)
