from django.db import migrations

# The engagement log is evidence for payouts: once written, a row never changes.
# The trigger refuses UPDATE and DELETE for every client, the ORM included;
# TRUNCATE is refused too, by a statement trigger (0008).
FORBID = """
CREATE FUNCTION feed_engagement_append_only() RETURNS trigger AS $$
BEGIN
    RAISE EXCEPTION 'feed_engagement is append-only: % is not allowed', TG_OP
        USING ERRCODE = 'integrity_constraint_violation';
END;
$$ LANGUAGE plpgsql;

CREATE TRIGGER feed_engagement_append_only
    BEFORE UPDATE OR DELETE ON feed_engagement
    FOR EACH ROW EXECUTE FUNCTION feed_engagement_append_only();
"""

ALLOW = """
DROP TRIGGER IF EXISTS feed_engagement_append_only ON feed_engagement;
DROP FUNCTION IF EXISTS feed_engagement_append_only();
"""


class Migration(migrations.Migration):
    dependencies = [("feed", "0002_seed_post_types")]

    operations = [migrations.RunSQL(FORBID, ALLOW)]
