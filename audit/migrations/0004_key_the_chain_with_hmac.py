"""Key the audit chain with MLSEC_AUDIT_KEY (HMAC-SHA256) from now on.

Events already written keep their plain SHA-256 hashes (chain version 1) and stay verifiable as they
are; nothing is rewritten. Because anyone who can write the table could recompute such hashes, the
migration seals them: it appends one keyed event, `audit.chain.keyed`, whose keyed hash covers the
last legacy hash. From then on `verify_audit_log` accepts unkeyed events only as that sealed prefix,
so rewriting the legacy events, dropping the seal or adding unkeyed events afterwards all fail.

Adding the columns is an `ALTER TABLE ... ADD COLUMN ... DEFAULT`, which fires no row trigger, so
the append-only trigger on PostgreSQL stays in force throughout.
"""

from django.db import migrations, models
from django.utils import timezone


def seal_legacy_chain(apps, schema_editor):
    from audit import chain

    db = schema_editor.connection.alias
    AuditEvent = apps.get_model("audit", "AuditEvent")
    AuditChainHead = apps.get_model("audit", "AuditChainHead")
    events = AuditEvent.objects.using(db)
    if not events.exists() or events.filter(chain_version=chain.CHAIN_HMAC).exists():
        return  # a new trail is keyed from its first event; a sealed one needs no second seal
    key_id, key = chain.keyring()[0]
    head, _ = AuditChainHead.objects.using(db).select_for_update().get_or_create(pk=1)
    legacy = events.filter(chain_version=chain.CHAIN_SHA256).count()
    seal = AuditEvent(
        seq=head.last_seq + 1, at=timezone.now(), actor=None, actor_username="system", action=chain.SEAL_ACTION,
        object_type="audit.auditevent", object_id="", object_repr="the audit chain is keyed from here on",
        changes={"extra": {"legacy_events": legacy, "legacy_head_seq": head.last_seq, "legacy_head_hash": head.last_hash,
                           "algorithm": "HMAC-SHA256", "key_id": key_id}},
        ip=None, request_id="", prev_hash=head.last_hash, chain_version=chain.CHAIN_HMAC, key_id=key_id,
    )
    seal.hash = chain.event_hash(seal, {key_id: key})
    seal.save(using=db, force_insert=True)
    AuditChainHead.objects.using(db).filter(pk=head.pk).update(
        last_seq=seal.seq, last_hash=seal.hash, key_id=key_id, mac=chain.head_mac(key, seal.seq, seal.hash)
    )


class Migration(migrations.Migration):

    dependencies = [
        ("audit", "0003_auditevent_audit_actor_name_idx"),
    ]

    operations = [
        migrations.AddField(
            model_name="auditchainhead",
            name="key_id",
            field=models.CharField(blank=True, max_length=16),
        ),
        migrations.AddField(
            model_name="auditchainhead",
            name="mac",
            field=models.CharField(blank=True, max_length=64),
        ),
        migrations.AddField(
            model_name="auditevent",
            name="chain_version",
            field=models.PositiveSmallIntegerField(default=1, editable=False),
            preserve_default=False,
        ),
        migrations.AddField(
            model_name="auditevent",
            name="key_id",
            field=models.CharField(blank=True, editable=False, max_length=16),
        ),
        migrations.RunPython(seal_legacy_chain, migrations.RunPython.noop),
    ]
