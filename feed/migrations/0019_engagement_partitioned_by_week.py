"""The engagement log becomes a table partitioned by week (RANGE on occurred_at, one partition per
ISO week, Monday 00:00 UTC to the next Monday 00:00 UTC), with a DEFAULT partition so that no row
is ever refused for want of a partition.

Why: the weekly settlement, the fold and the ranking read time windows of the log; a week's
partition is scanned alone, its indexes stay small, and an old week can be detached for archiving
without a DELETE (which the log refuses anyway). feed/partitions.py creates weeks ahead every day.

How: the old table is renamed, the partitioned one created under the old name with the same
columns, defaults and check constraints (LIKE), partitions for every week from the oldest row's (at
least eight weeks back) to four weeks ahead, rows copied with INSERT … SELECT (ids and `xact` kept,
so the fold does not count them again), the old table dropped; then the primary key, the indexes,
the foreign keys and the append-only triggers are created on the parent, from which Postgres clones
them onto every partition.

What changes below Django (the model is untouched, so `makemigrations --check` stays clean):
* The primary key is (id, occurred_at): a partitioned table's unique keys must hold the partition
  key. Ids stay unique because one sequence gives them all; Django keeps using `id` as the pk.
* `id` takes its default from the sequence feed_engagement_id_seq (owned by the column, so
  pg_get_serial_sequence still finds it): Postgres 15 refuses identity columns on partitioned tables.
* Row triggers on a partitioned table are cloned to every partition, existing and future; statement
  triggers are not (a TRUNCATE of one partition would not fire the parent's), so every partition
  gets its own TRUNCATE trigger: feed_engagement_add_week() below adds it with the partition.

The whole migration runs in one transaction holding an ACCESS EXCLUSIVE lock on the log: readers
and writers wait until it commits (measured on this 2-core box: 1.02M rows in 9.5 s forward and
11 s back, Django's start included; plan for about 10 s per million rows, or a maintenance window).

Reversing copies every row of the parent (the DEFAULT partition's included) back into one plain
table with an identity `id`. Weeks already detached for archiving are separate tables and are
not copied back: re-attach them first (docs/operations.md, "Archiving engagement weeks").
"""

from django.db import migrations

ADD_WEEK_FUNCTION = r"""
-- One week's partition (Monday 00:00 UTC of the week holding `moment`, for seven days), with its
-- TRUNCATE trigger; NULL when a table of that name exists already (a partition, or a week detached
-- for archiving, which is never created again). Called by this migration and feed/partitions.py.
CREATE FUNCTION feed_engagement_add_week(moment timestamptz) RETURNS text AS $$
DECLARE
    monday timestamp := date_trunc('week', moment AT TIME ZONE 'UTC');
    partition_name text := 'feed_engagement_' || to_char(monday, 'IYYY"w"IW');
BEGIN
    IF to_regclass(partition_name) IS NOT NULL THEN
        RETURN NULL;
    END IF;
    EXECUTE format(
        'CREATE TABLE %I PARTITION OF feed_engagement FOR VALUES FROM (%L) TO (%L)',
        partition_name, monday AT TIME ZONE 'UTC', (monday + interval '7 days') AT TIME ZONE 'UTC');
    EXECUTE format(
        'CREATE TRIGGER feed_engagement_no_truncate BEFORE TRUNCATE ON %I '
        'FOR EACH STATEMENT EXECUTE FUNCTION feed_engagement_append_only()', partition_name);
    RETURN partition_name;
END;
$$ LANGUAGE plpgsql;
"""

PARTITION = r"""
DO $migration$
DECLARE
    index_definitions text[];
    foreign_keys text[];
    statement text;
    last_id bigint;
    first_week timestamp;
    last_week timestamp;
    week timestamp;
BEGIN
    LOCK TABLE feed_engagement IN ACCESS EXCLUSIVE MODE;
    SELECT coalesce(array_agg(pg_get_indexdef(indexrelid)), '{}') INTO index_definitions
        FROM pg_index WHERE indrelid = 'feed_engagement'::regclass AND NOT indisprimary;
    SELECT coalesce(array_agg(format('ALTER TABLE feed_engagement ADD CONSTRAINT %I %s',
                                     conname, pg_get_constraintdef(oid))), '{}') INTO foreign_keys
        FROM pg_constraint WHERE conrelid = 'feed_engagement'::regclass AND contype = 'f';
    -- The next id must pass both the rows and every id the old sequence handed out (some rolled back).
    EXECUTE format('SELECT CASE WHEN is_called THEN last_value ELSE last_value - 1 END FROM %s',
                   pg_get_serial_sequence('feed_engagement', 'id')) INTO last_id;
    SELECT greatest(last_id, max(id)) INTO last_id FROM feed_engagement;

    ALTER TABLE feed_engagement RENAME TO feed_engagement_unpartitioned;
    -- LIKE keeps the column order, NOT NULLs, defaults and check constraints (with their names).
    CREATE TABLE feed_engagement (LIKE feed_engagement_unpartitioned INCLUDING DEFAULTS INCLUDING CONSTRAINTS)
        PARTITION BY RANGE (occurred_at);
    CREATE TABLE feed_engagement_default PARTITION OF feed_engagement DEFAULT;
    CREATE TRIGGER feed_engagement_no_truncate BEFORE TRUNCATE ON feed_engagement_default
        FOR EACH STATEMENT EXECUTE FUNCTION feed_engagement_append_only();

    -- Every week from the oldest row's (or eight weeks back, whichever is earlier: a new database's
    -- demo seed writes two weeks of past engagement) to the newest row's or four weeks ahead.
    SELECT date_trunc('week', least(min(occurred_at), now() - interval '56 days') AT TIME ZONE 'UTC'),
           date_trunc('week', greatest(max(occurred_at), now() + interval '28 days') AT TIME ZONE 'UTC')
        INTO first_week, last_week FROM feed_engagement_unpartitioned;
    week := first_week;
    WHILE week <= last_week LOOP
        PERFORM feed_engagement_add_week(week AT TIME ZONE 'UTC');
        week := week + interval '7 days';
    END LOOP;

    INSERT INTO feed_engagement SELECT * FROM feed_engagement_unpartitioned;
    DROP TABLE feed_engagement_unpartitioned;  -- its identity sequence, indexes and triggers with it

    CREATE SEQUENCE feed_engagement_id_seq OWNED BY feed_engagement.id;
    PERFORM setval('feed_engagement_id_seq', greatest(last_id, 1), last_id > 0);
    ALTER TABLE feed_engagement ALTER COLUMN id SET DEFAULT nextval('feed_engagement_id_seq');
    ALTER TABLE feed_engagement ADD CONSTRAINT feed_engagement_pkey PRIMARY KEY (id, occurred_at);
    -- The same definitions, now on the partitioned table: each becomes a partitioned index.
    FOREACH statement IN ARRAY index_definitions LOOP
        EXECUTE statement;
    END LOOP;
    FOREACH statement IN ARRAY foreign_keys LOOP
        EXECUTE statement;
    END LOOP;
    -- Row triggers are cloned onto every partition, now and later; the statement trigger is not.
    CREATE TRIGGER feed_engagement_append_only BEFORE UPDATE OR DELETE ON feed_engagement
        FOR EACH ROW EXECUTE FUNCTION feed_engagement_append_only();
    CREATE TRIGGER feed_engagement_no_truncate BEFORE TRUNCATE ON feed_engagement
        FOR EACH STATEMENT EXECUTE FUNCTION feed_engagement_append_only();
END;
$migration$;
-- Autovacuum analyzes partitions, never a partitioned parent: give the planner its statistics once.
ANALYZE feed_engagement;
"""

UNPARTITION = r"""
DO $migration$
DECLARE
    index_definitions text[];
    foreign_keys text[];
    statement text;
    last_id bigint;
BEGIN
    LOCK TABLE feed_engagement IN ACCESS EXCLUSIVE MODE;
    -- A partitioned index's definition reads "ON ONLY feed_engagement": on a plain table, drop ONLY.
    SELECT coalesce(array_agg(replace(pg_get_indexdef(indexrelid), ' ON ONLY ', ' ON ')), '{}')
        INTO index_definitions
        FROM pg_index WHERE indrelid = 'feed_engagement'::regclass AND NOT indisprimary;
    SELECT coalesce(array_agg(format('ALTER TABLE feed_engagement ADD CONSTRAINT %I %s',
                                     conname, pg_get_constraintdef(oid))), '{}') INTO foreign_keys
        FROM pg_constraint WHERE conrelid = 'feed_engagement'::regclass AND contype = 'f' AND conparentid = 0;
    SELECT CASE WHEN is_called THEN last_value ELSE last_value - 1 END INTO last_id FROM feed_engagement_id_seq;
    SELECT greatest(last_id, max(id)) INTO last_id FROM feed_engagement;

    ALTER TABLE feed_engagement RENAME TO feed_engagement_by_week;
    CREATE TABLE feed_engagement (LIKE feed_engagement_by_week INCLUDING DEFAULTS INCLUDING CONSTRAINTS);
    ALTER TABLE feed_engagement ALTER COLUMN id DROP DEFAULT;
    INSERT INTO feed_engagement SELECT * FROM feed_engagement_by_week;  -- the DEFAULT partition's rows too
    DROP TABLE feed_engagement_by_week;  -- every attached partition, and the sequence it owns

    ALTER TABLE feed_engagement ALTER COLUMN id ADD GENERATED BY DEFAULT AS IDENTITY;
    PERFORM setval(pg_get_serial_sequence('feed_engagement', 'id'), greatest(last_id, 1), last_id > 0);
    ALTER TABLE feed_engagement ADD CONSTRAINT feed_engagement_pkey PRIMARY KEY (id);
    FOREACH statement IN ARRAY index_definitions LOOP
        EXECUTE statement;
    END LOOP;
    FOREACH statement IN ARRAY foreign_keys LOOP
        EXECUTE statement;
    END LOOP;
    CREATE TRIGGER feed_engagement_append_only BEFORE UPDATE OR DELETE ON feed_engagement
        FOR EACH ROW EXECUTE FUNCTION feed_engagement_append_only();
    CREATE TRIGGER feed_engagement_no_truncate BEFORE TRUNCATE ON feed_engagement
        FOR EACH STATEMENT EXECUTE FUNCTION feed_engagement_append_only();
END;
$migration$;
"""


class Migration(migrations.Migration):
    dependencies = [("feed", "0018_engagement_transaction_id")]

    operations = [
        migrations.RunSQL(
            sql=[ADD_WEEK_FUNCTION, PARTITION],
            reverse_sql=[UNPARTITION, "DROP FUNCTION feed_engagement_add_week(timestamptz)"],
            state_operations=[],
        ),
    ]
