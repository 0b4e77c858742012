#!/bin/sh
# Creates the two PostgreSQL databases of deploy/temporal-server.yaml (the
# store and the SQL visibility store) and brings each schema to the version
# shipped with the server, with Temporal's schema tool. The same variables
# as the server's configuration name the databases; SCHEMA_DIR is the
# server's schema/postgresql/v12 folder and SQL_TOOL the schema tool
# (temporal-sql-tool in Temporal's admin-tools image). Safe to run again: an
# existing database is kept and only upgraded.
set -eu

: "${SCHEMA_DIR:?SCHEMA_DIR must name the server's schema/postgresql/v12 folder}"
SQL_TOOL="${SQL_TOOL:-temporal-sql-tool}"
export SQL_PLUGIN=postgres12
export SQL_HOST="${POSTGRES_SEEDS:-postgresql}"
export SQL_PORT="${DB_PORT:-5432}"
export SQL_USER="${POSTGRES_USER:-temporal}"
export SQL_PASSWORD="${POSTGRES_PWD:-}"

# schema DB KIND: KIND is temporal (the store) or visibility.
schema() {
	db="$1"
	versioned="$SCHEMA_DIR/$2/versioned"
	if [ ! -d "$versioned" ]; then
		echo "temporal-schema: no schema folder $versioned (SCHEMA_DIR=$SCHEMA_DIR)" >&2
		exit 1
	fi
	"$SQL_TOOL" --db "$db" create-database
	"$SQL_TOOL" --db "$db" setup-schema -v 0.0
	"$SQL_TOOL" --db "$db" update-schema -d "$versioned"
}

schema "${DBNAME:-temporal}" temporal
schema "${VISIBILITY_DBNAME:-temporal_visibility}" visibility
