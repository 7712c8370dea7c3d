"""The audit trail: append-only, hash-chained events for every change anyone makes.

Each event stores the previous event's hash and its own HMAC-SHA256, keyed with `MLSEC_AUDIT_KEY`,
over a canonical JSON of its content (`audit/chain.py`), so editing, inserting or deleting any event
breaks the chain (`manage.py verify_audit_log`), even for someone who can write the table and
recompute hashes: without the key they cannot recompute these. `AuditChainHead` remembers the last
sequence number and hash under a MAC of its own: it serialises the chaining (a row lock that no
writer waits for: see audit/services.py) and lets verification notice deleted *newest* events too.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models

from . import chain
from .chain import GENESIS_HASH  # noqa: F401 - re-exported: the chain's start
from .redaction import redacted_view


class AppendOnlyError(Exception):
    """Raised by any attempt to change or delete an audit event through the ORM."""


class AuditEventQuerySet(models.QuerySet):
    def update(self, **kwargs):
        raise AppendOnlyError("audit events are append-only")

    def delete(self):
        raise AppendOnlyError("audit events are append-only")

    def sealed(self):
        """Events that have their place in the chain (every event, a moment after its commit)."""
        return self.filter(seq__isnull=False)

    def visible_to(self, user):
        """Officers, auditors and administrators read the trail; nobody else does."""
        if user is None or not user.is_authenticated or not user.is_active or not user.sees_everything:
            return self.none()
        return self


class AuditEvent(models.Model):
    """One change: who did what to which object, when, from where, with the before/after values."""

    # None while the event waits for its place in the chain (a moment after its commit: audit/services.py).
    seq = models.PositiveBigIntegerField(unique=True, null=True, editable=False)
    at = models.DateTimeField(db_index=True, editable=False)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    actor_username = models.CharField(max_length=150, blank=True)
    action = models.CharField(max_length=64, db_index=True)
    object_type = models.CharField(max_length=64, blank=True)
    object_id = models.CharField(max_length=64, blank=True)
    object_repr = models.CharField(max_length=200, blank=True)
    changes = models.JSONField(default=dict, blank=True)
    ip = models.GenericIPAddressField(null=True, blank=True)
    request_id = models.CharField(max_length=64, blank=True)
    prev_hash = models.CharField(max_length=64)
    hash = models.CharField(max_length=64, unique=True, null=True)
    # 1: plain SHA-256 (events from before the chain was keyed), 2: HMAC-SHA256 with the key `key_id`.
    chain_version = models.PositiveSmallIntegerField(editable=False)
    key_id = models.CharField(max_length=16, blank=True, editable=False)
    # HMAC of the content without the chain columns, written with the event: a waiting event that was
    # forged or edited in the database is refused by the sealer and reported by verification.
    entry_mac = models.CharField(max_length=64, blank=True, editable=False)

    objects = AuditEventQuerySet.as_manager()

    class Meta:
        ordering = [models.F("seq").desc(nulls_first=True), "-id"]
        indexes = [
            models.Index(fields=["object_type", "object_id"], name="audit_object_idx"),
            models.Index(fields=["actor", "at"], name="audit_actor_at_idx"),
            models.Index(fields=["actor_username", "seq"], name="audit_actor_name_idx"),  # ?actor= filter
        ]

    def __str__(self) -> str:
        return f"#{self.seq} {self.action} {self.object_type}:{redacted_view(self).object_id}"

    def save(self, *args, **kwargs):
        if not self._state.adding:
            raise AppendOnlyError("audit events are append-only")
        super().save(*args, **kwargs)

    def delete(self, *args, **kwargs):
        raise AppendOnlyError("audit events are append-only")

    def canonical_content(self) -> dict:
        return chain.canonical_content(self)

    def compute_hash(self, keys: dict[str, bytes] | None = None) -> str | None:
        """The hash this event must carry (None if its key is not configured here)."""
        return chain.event_hash(self, keys)


class AuditChainHead(models.Model):
    """The single row holding the chain's tip; locked while an event is appended."""

    last_seq = models.PositiveBigIntegerField(default=0)
    last_hash = models.CharField(max_length=64, default=GENESIS_HASH)
    # HMAC over (last_seq, last_hash) with the key `key_id`: a head moved back without the key shows.
    mac = models.CharField(max_length=64, blank=True)
    key_id = models.CharField(max_length=16, blank=True)

    def __str__(self) -> str:
        return f"audit chain head at #{self.last_seq}"
