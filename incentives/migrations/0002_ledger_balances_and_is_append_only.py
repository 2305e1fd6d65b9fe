from django.db import migrations

# The ledger is the record of money moved: a row never changes once written (corrections are new
# transfers), and every transfer's legs sum to zero, checked at commit so a transfer can be
# written leg by leg. Together they make "the ledger always balances" a fact the database keeps.
FORBID = """
CREATE FUNCTION incentives_ledger_append_only() RETURNS trigger AS $$
BEGIN
    RAISE EXCEPTION 'incentives_ledgerentry is append-only: % is not allowed', TG_OP
        USING ERRCODE = 'integrity_constraint_violation';
END;
$$ LANGUAGE plpgsql;

CREATE TRIGGER incentives_ledger_append_only
    BEFORE UPDATE OR DELETE ON incentives_ledgerentry
    FOR EACH ROW EXECUTE FUNCTION incentives_ledger_append_only();

CREATE FUNCTION incentives_ledger_transfer_balances() RETURNS trigger AS $$
DECLARE
    imbalance numeric;
BEGIN
    SELECT sum(amount) INTO imbalance FROM incentives_ledgerentry WHERE transfer_id = NEW.transfer_id;
    IF imbalance <> 0 THEN
        RAISE EXCEPTION 'ledger transfer % does not balance (off by %)', NEW.transfer_id, imbalance
            USING ERRCODE = 'integrity_constraint_violation';
    END IF;
    RETURN NULL;
END;
$$ LANGUAGE plpgsql;

CREATE CONSTRAINT TRIGGER incentives_ledger_transfer_balances
    AFTER INSERT ON incentives_ledgerentry
    DEFERRABLE INITIALLY DEFERRED
    FOR EACH ROW EXECUTE FUNCTION incentives_ledger_transfer_balances();
"""

ALLOW = """
DROP TRIGGER IF EXISTS incentives_ledger_transfer_balances ON incentives_ledgerentry;
DROP FUNCTION IF EXISTS incentives_ledger_transfer_balances();
DROP TRIGGER IF EXISTS incentives_ledger_append_only ON incentives_ledgerentry;
DROP FUNCTION IF EXISTS incentives_ledger_append_only();
"""


class Migration(migrations.Migration):
    dependencies = [("incentives", "0001_prize_pools_settlements_ledger")]

    operations = [migrations.RunSQL(FORBID, ALLOW)]
