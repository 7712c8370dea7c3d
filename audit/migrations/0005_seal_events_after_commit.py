"""Events may wait a moment for their place in the chain (issue 19: no write waits on the chain's head).

A writer that finds the chain head locked by another transaction no longer waits for it: it inserts
its event without `seq`, `prev_hash` and `hash`, carrying instead `entry_mac`, an HMAC of its content
under MLSEC_AUDIT_KEY, and a sealer chains it right after the commit (audit/services.py). So `seq`
and `hash` become nullable, and on PostgreSQL the append-only trigger lets exactly one UPDATE through:
sealing, which sets the chain columns of an event that has none and changes nothing else.
"""

from django.db import migrations, models

TRIGGER = """
CREATE OR REPLACE FUNCTION audit_event_append_only() RETURNS trigger AS $$
BEGIN
    IF TG_OP = 'UPDATE' AND OLD.seq IS NULL AND OLD.hash IS NULL AND NEW.seq IS NOT NULL AND NEW.hash IS NOT NULL
       AND (NEW.id, NEW.at, NEW.actor_id, NEW.actor_username, NEW.action, NEW.object_type, NEW.object_id,
            NEW.object_repr, NEW.changes, NEW.ip, NEW.request_id, NEW.chain_version, NEW.entry_mac)
           IS NOT DISTINCT FROM
           (OLD.id, OLD.at, OLD.actor_id, OLD.actor_username, OLD.action, OLD.object_type, OLD.object_id,
            OLD.object_repr, OLD.changes, OLD.ip, OLD.request_id, OLD.chain_version, OLD.entry_mac) THEN
        RETURN NEW;  -- sealing: an unchained event gets its place in the chain, once
    END IF;
    RAISE EXCEPTION 'audit events are append-only (% refused)', TG_OP;
END;
$$ LANGUAGE plpgsql;
"""
ORIGINAL = """
CREATE OR REPLACE FUNCTION audit_event_append_only() RETURNS trigger AS $$
BEGIN
    RAISE EXCEPTION 'audit events are append-only (% refused)', TG_OP;
END;
$$ LANGUAGE plpgsql;
"""


def forwards(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(TRIGGER, params=None)


def backwards(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(ORIGINAL, params=None)


class Migration(migrations.Migration):
    dependencies = [("audit", "0004_key_the_chain_with_hmac")]

    operations = [
        migrations.AddField("auditevent", "entry_mac", models.CharField(blank=True, editable=False, max_length=64)),
        migrations.AlterField("auditevent", "seq", models.PositiveBigIntegerField(editable=False, null=True, unique=True)),
        migrations.AlterField("auditevent", "hash", models.CharField(max_length=64, null=True, unique=True)),
        migrations.AlterModelOptions("auditevent", {"ordering": [models.F("seq").desc(nulls_first=True), "-id"]}),
        migrations.RunPython(forwards, backwards),
    ]
