"""Signed checkpoints over the audit chain; PostgreSQL refuses UPDATE and DELETE on them
too, so a forged checkpoint has to be appended, where its signature gives it away."""

from django.db import migrations, models

FORWARD = """
CREATE OR REPLACE FUNCTION nhigov_checkpoint_append_only() RETURNS trigger AS $$
BEGIN
    RAISE EXCEPTION USING MESSAGE = 'nhigov_auditcheckpoint is append-only: ' || TG_OP
        || ' refused';
END;
$$ LANGUAGE plpgsql;
CREATE TRIGGER nhigov_checkpoint_no_change BEFORE UPDATE OR DELETE ON nhigov_auditcheckpoint
    FOR EACH ROW EXECUTE FUNCTION nhigov_checkpoint_append_only();
"""
BACKWARD = """
DROP TRIGGER IF EXISTS nhigov_checkpoint_no_change ON nhigov_auditcheckpoint;
DROP FUNCTION IF EXISTS nhigov_checkpoint_append_only();
"""


def forward(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(FORWARD)


def backward(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(BACKWARD)


class Migration(migrations.Migration):
    dependencies = [("nhigov", "0002_audit_append_only")]

    operations = [
        migrations.CreateModel(
            name="AuditCheckpoint",
            fields=[
                ("id", models.BigAutoField(auto_created=True, primary_key=True,
                                           serialize=False, verbose_name="ID")),
                ("at", models.DateTimeField(db_index=True)),
                ("last_event_id", models.BigIntegerField()),
                ("last_hash", models.CharField(max_length=64)),
                ("event_count", models.BigIntegerField()),
                ("algorithm", models.CharField(
                    choices=[("ed25519", "Ed25519"),
                             ("hmac-sha256", "HMAC-SHA256 (derived from SECRET_KEY)")],
                    max_length=16)),
                ("key_id", models.CharField(help_text="SHA-256 of the public key (Ed25519).",
                                            max_length=64)),
                ("signature", models.CharField(help_text="Hex signature of the payload.",
                                               max_length=128)),
            ],
            options={"ordering": ["-id"]},
        ),
        migrations.AddIndex(
            model_name="auditevent",
            index=models.Index(fields=["request_id"], name="nhigov_audit_request_idx"),
        ),
        migrations.RunPython(forward, backward),
    ]
