"""Each engagement row remembers the transaction that wrote it (`xact`, the 64-bit transaction id as
a bigint, so a BRIN index can cover it: xid8 has no BRIN operator class).

The fold (incentives) reads new rows by comparing this id with the database snapshot it took at its
previous run: a row is new when that snapshot could not see it. Unlike a watermark on `id`, this
never misses a row whose transaction took its id early and committed late.

The column is not in the Django model: only SQL reads it, and the database fills it. Rows written
before this migration keep NULL (the fold's first run takes them all); adding a nullable column and
then a default is instant on a large table, where a volatile default in ADD COLUMN would rewrite it.
"""

from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [("feed", "0017_notification_repost_and_quote")]

    operations = [
        migrations.RunSQL(
            sql=[
                "ALTER TABLE feed_engagement ADD COLUMN xact bigint",
                "ALTER TABLE feed_engagement ALTER COLUMN xact SET DEFAULT (pg_current_xact_id()::text::bigint)",
                # Transactions commit roughly in the order rows are stored: a tiny index finds the
                # last minute's rows in a week of them.
                "CREATE INDEX engagement_xact_brin ON feed_engagement USING brin (xact)",
            ],
            reverse_sql=["ALTER TABLE feed_engagement DROP COLUMN xact"],
        ),
    ]
