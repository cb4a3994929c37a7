"""PostgreSQL refuses UPDATE, DELETE and TRUNCATE on the audit log."""

from django.db import migrations

FORWARD = """
CREATE OR REPLACE FUNCTION nhigov_audit_append_only() RETURNS trigger AS $$
BEGIN
    RAISE EXCEPTION USING MESSAGE = 'nhigov_auditevent is append-only: ' || TG_OP || ' refused';
END;
$$ LANGUAGE plpgsql;
CREATE TRIGGER nhigov_audit_no_change BEFORE UPDATE OR DELETE ON nhigov_auditevent
    FOR EACH ROW EXECUTE FUNCTION nhigov_audit_append_only();
CREATE TRIGGER nhigov_audit_no_truncate BEFORE TRUNCATE ON nhigov_auditevent
    FOR EACH STATEMENT EXECUTE FUNCTION nhigov_audit_append_only();
"""
BACKWARD = """
DROP TRIGGER IF EXISTS nhigov_audit_no_change ON nhigov_auditevent;
DROP TRIGGER IF EXISTS nhigov_audit_no_truncate ON nhigov_auditevent;
DROP FUNCTION IF EXISTS nhigov_audit_append_only();
"""


def forward(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(FORWARD)


def backward(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(BACKWARD)


class Migration(migrations.Migration):
    dependencies = [("nhigov", "0001_initial")]
    operations = [migrations.RunPython(forward, backward)]
