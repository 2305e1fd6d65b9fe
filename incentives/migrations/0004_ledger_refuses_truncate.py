from django.db import migrations

# The row trigger of 0002 refuses UPDATE and DELETE; TRUNCATE fires no row trigger, so it would
# empty the ledger without a trace. A statement trigger refuses it with the same message.
# Only a superuser (or the table's owner, which the app is not) can still get past it: see
# docs/incentives.md.
FORBID = """
CREATE TRIGGER incentives_ledger_no_truncate
    BEFORE TRUNCATE ON incentives_ledgerentry
    FOR EACH STATEMENT EXECUTE FUNCTION incentives_ledger_append_only();
"""

ALLOW = "DROP TRIGGER IF EXISTS incentives_ledger_no_truncate ON incentives_ledgerentry;"


class Migration(migrations.Migration):
    dependencies = [("incentives", "0003_default_action_weights")]

    operations = [migrations.RunSQL(FORBID, ALLOW)]
