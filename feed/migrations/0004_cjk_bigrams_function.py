from django.db import migrations

# Chinese has no spaces between words, so full-text search indexes every run of CJK
# characters as overlapping two-character grams ("比特币" → "比特 特币"); a query is cut the
# same way (feed.search) and matched as a phrase. Plain SQL: works on any PostgreSQL, no extension.
CREATE = r"""
CREATE FUNCTION orbit_cjk_bigrams(doc text) RETURNS text
LANGUAGE sql IMMUTABLE PARALLEL SAFE STRICT AS $$
    SELECT coalesce(string_agg(substr(run.text, i, 2), ' ' ORDER BY run.n, i), '')
    FROM (
        SELECT m[1] AS text, row_number() OVER () AS n
        FROM regexp_matches(doc, '([\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]+)', 'g') AS m
    ) AS run,
    LATERAL generate_series(1, greatest(char_length(run.text) - 1, 1)) AS i
$$;
"""

DROP = "DROP FUNCTION IF EXISTS orbit_cjk_bigrams(text);"


class Migration(migrations.Migration):
    dependencies = [("feed", "0003_engagement_append_only")]

    operations = [migrations.RunSQL(CREATE, DROP)]
