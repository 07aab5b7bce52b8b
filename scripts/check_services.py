"""Fail fast, with a message that says what to start or install, when PostgreSQL or Redis is unreachable
or PostgreSQL lacks pg_partman (the experience table's partitions, docs/operations.md)."""

import os
import sys
from contextlib import closing
from urllib.parse import urlparse

import psycopg2
import redis


def main() -> int:
    problems = []
    database_url = os.environ["DATABASE_URL"]
    db = urlparse(database_url)
    try:
        with (
            closing(
                psycopg2.connect(
                    host=db.hostname,
                    port=db.port or 5432,
                    user=db.username or "postgres",
                    password=db.password,
                    dbname="postgres",
                    connect_timeout=3,
                )
            ) as connection,
            connection.cursor() as cursor,
        ):
            cursor.execute("SELECT default_version FROM pg_available_extensions WHERE name = 'pg_partman'")
            found = cursor.fetchone()
        if not found or not found[0].startswith("4."):
            problems.append(
                f"PostgreSQL at {db.hostname}:{db.port or 5432} has no pg_partman 4"
                f"{f' (it offers {found[0]})' if found else ''}.\n"
                "  Install Debian's postgresql-15-partman on the database server (.ci/run does)."
            )
    except psycopg2.OperationalError as exc:
        problems.append(
            f"PostgreSQL is unreachable at {db.hostname}:{db.port or 5432} ({exc.args[0].strip()}).\n"
            "  Start it, or point DATABASE_URL at a running server."
        )
    broker_url = os.environ["CELERY_BROKER_URL"]
    try:
        redis.Redis.from_url(broker_url, socket_connect_timeout=3).ping()
    except redis.RedisError as exc:
        problems.append(
            f"Redis is unreachable at {broker_url} ({exc}).\n"
            "  Start it, or point CELERY_BROKER_URL at a running server."
        )
    for problem in problems:
        print(f"make test: {problem}", file=sys.stderr)
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
