#!/bin/sh
# Run once by the postgres image when its data volume is first created (docker-entrypoint-initdb.d).
#
# POSTGRES_USER owns the schema and is a superuser in the official image: only `migrate` uses it.
# The web, worker and beat services connect as orbit_app, which may read and write rows but owns no
# table and is no superuser, so it cannot TRUNCATE, disable the append-only triggers of the
# engagement log and the ledger, or set session_replication_role (docs/incentives.md).
set -eu
psql -v ON_ERROR_STOP=1 --username "$POSTGRES_USER" --dbname "$POSTGRES_DB" \
    -v owner="$POSTGRES_USER" -v app_password="${ORBIT_APP_PASSWORD:?set ORBIT_APP_PASSWORD}" <<'SQL'
CREATE ROLE orbit_app LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOREPLICATION NOBYPASSRLS
    PASSWORD :'app_password';
GRANT USAGE ON SCHEMA public TO orbit_app;
-- Tables and sequences the owner creates from now on (every migration) are usable by the app.
ALTER DEFAULT PRIVILEGES FOR ROLE :"owner" IN SCHEMA public
    GRANT SELECT, INSERT, UPDATE, DELETE ON TABLES TO orbit_app;
ALTER DEFAULT PRIVILEGES FOR ROLE :"owner" IN SCHEMA public
    GRANT USAGE, SELECT, UPDATE ON SEQUENCES TO orbit_app;
SQL
