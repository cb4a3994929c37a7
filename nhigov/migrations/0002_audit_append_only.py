"""PostgreSQL refuses UPDATE and DELETE on the audit log.

TRUNCATE is left to the table owner on purpose: the test runner flushes tables with it,
and a role that owns the table can drop any trigger anyway. Run the portal as a role that
does not own its tables to take TRUNCATE away too; verify_audit detects a wiped chain
against the signed checkpoints.
"""

from django.db import migrations

FORWARD = """
CREATE OR REPLACE FUNCTION nhigov_audit_append_only() RETURNS trigger AS $$
BEGIN
    RAISE EXCEPTION USING MESSAGE = 'nhigov_auditevent is append-only: ' || TG_OP || ' refused';
END;
$$ LANGUAGE plpgsql;
CREATE TRIGGER nhigov_audit_no_change BEFORE UPDATE OR DELETE ON nhigov_auditevent
    FOR EACH ROW EXECUTE FUNCTION nhigov_audit_append_only();
"""
BACKWARD = """
DROP TRIGGER IF EXISTS nhigov_audit_no_change ON nhigov_auditevent;
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
