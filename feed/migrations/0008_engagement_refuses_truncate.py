from django.db import migrations

# The engagement log is evidence for payouts, like the ledger: TRUNCATE fires no row trigger, so
# 0003's trigger never saw it. A statement trigger refuses it with the same message. Only a
# superuser (or the table's owner, which the app is not) can still get past it: see
# docs/incentives.md.
FORBID = """
CREATE TRIGGER feed_engagement_no_truncate
    BEFORE TRUNCATE ON feed_engagement
    FOR EACH STATEMENT EXECUTE FUNCTION feed_engagement_append_only();
"""

ALLOW = "DROP TRIGGER IF EXISTS feed_engagement_no_truncate ON feed_engagement;"


class Migration(migrations.Migration):
    dependencies = [("feed", "0007_post_revision_trade_card")]

    operations = [migrations.RunSQL(FORBID, ALLOW)]
