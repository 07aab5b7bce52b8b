"""Benchmark of the read replica (not a test): dashboard pages on the primary or on a replica, under write load.

    CELERY_BROKER_URL=redis://127.0.0.1:6379/6 .venv/bin/python bench/replica.py \\
        [--experiences N] [--customers N] [--seconds S] [--rounds R]

Starts a throwaway primary and a streaming replica of it (`pg_basebackup -R`, tests/servers.py),
each on a port of its own (the machine's PostgreSQL is not touched), loads a year of experiences
into the primary as bench/dashboards.py does, waits for the replica to replay it, then runs
phases of `--seconds` each while `pgbench` (2 clients, TPC-B-like writes) loads the primary:

- `no dashboards`: pgbench alone, the write baseline;
- `dashboards on primary`: dashboard pages requested in a loop with the read-your-writes cookie
  set, so every read goes to the primary (as without DATABASE_REPLICA_URL);
- `dashboards on replica`: the same requests without it, so the router sends them to the replica.

It prints per phase the pages' server time p50 / p95, the SQL queries per page on each server,
and pgbench's write transactions/s on the primary, with the ratio against the baseline.
Both servers share this machine's cores: the replica takes read work off the primary's
processes, not off the machine.
"""

import argparse
import os
import re
import statistics
import subprocess
import sys
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "cxm.settings")

from tests.servers import ThrowawayPostgres, _postgres_bin  # noqa: E402

DATABASE = "cxm_bench_replica"
PAGES = [
    ("company, 365 days", "bench-admin", "/dashboards/?period=365"),
    ("department, 365 days", "bench-manager", "/dashboards/department-0/?period=365"),
    ("journey map, 365 days", "bench-admin", "/journeys/journey-0/?period=365"),
]


def start_servers() -> tuple[ThrowawayPostgres, ThrowawayPostgres]:
    primary = ThrowawayPostgres()
    primary.start()
    primary.create_database(DATABASE)
    env = {**os.environ, "DATABASE_URL": primary.url(DATABASE)}
    env.pop("DATABASE_REPLICA_URL", None)
    subprocess.run([sys.executable, "manage.py", "migrate", "--noinput"], cwd=ROOT, env=env, check=True,
                   capture_output=True)  # fmt: skip
    replica = ThrowawayPostgres(primary=primary)
    replica.start()
    return primary, replica


def caught_up(primary: ThrowawayPostgres, replica: ThrowawayPostgres) -> bool:
    import psycopg2

    with psycopg2.connect(primary.url(DATABASE)) as p, p.cursor() as cursor:
        cursor.execute("SELECT pg_current_wal_lsn()::text")
        written = cursor.fetchone()[0]
    with psycopg2.connect(replica.url(DATABASE)) as r, r.cursor() as cursor:
        cursor.execute("SELECT pg_last_wal_replay_lsn() >= %s::pg_lsn", [written])
        return cursor.fetchone()[0]


def pgbench(primary: ThrowawayPostgres, *args: str) -> str:
    command = [_postgres_bin("pgbench"), "-h", "127.0.0.1", "-p", str(primary.port), "-U", "postgres", *args, DATABASE]
    return subprocess.run(command, check=True, capture_output=True, text=True).stdout


def phase(primary: ThrowawayPostgres, clients: dict, seconds: float, pinned: bool | None) -> dict:
    """pgbench on the primary for `seconds`; meanwhile the pages in a loop (unless `pinned` is None)."""
    from django.db import connections
    from django.test.utils import CaptureQueriesContext

    from cxm.db_router import PIN_COOKIE

    result: dict = {}
    writer = threading.Thread(
        target=lambda: result.update(out=pgbench(primary, "-n", "-c", "2", "-j", "2", "-T", str(int(seconds))))
    )
    writer.start()
    times: dict[str, list[float]] = {label: [] for label, _, _ in PAGES}
    queries: dict[str, tuple[int, int]] = {}
    if pinned is not None:
        for client in clients.values():
            if pinned:
                client.cookies[PIN_COOKIE] = "1"
            else:
                client.cookies.pop(PIN_COOKIE, None)
        deadline = time.monotonic() + seconds - 1
        while time.monotonic() < deadline:
            for label, username, url in PAGES:
                with (
                    CaptureQueriesContext(connections["default"]) as on_primary,
                    CaptureQueriesContext(connections["replica"]) as on_replica,
                ):
                    start = time.perf_counter()
                    response = clients[username].get(url)
                    times[label].append((time.perf_counter() - start) * 1000)
                assert response.status_code == 200, (url, response.status_code)
                queries[label] = (len(on_primary), len(on_replica))
    writer.join()
    found = re.search(r"tps = ([0-9.]+)", result["out"])
    assert found, f"pgbench printed no tps: {result['out']}"
    tps = float(found.group(1))
    return {"times": times, "queries": queries, "tps": tps}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--experiences", type=int, default=200_000)
    parser.add_argument("--customers", type=int, default=20_000)
    parser.add_argument("--seconds", type=float, default=20)
    parser.add_argument("--rounds", type=int, default=2)
    args = parser.parse_args()
    primary, replica = start_servers()
    try:
        os.environ["DATABASE_URL"] = primary.url(DATABASE)
        os.environ["DATABASE_REPLICA_URL"] = replica.url(DATABASE)
        import django

        django.setup()
        from django.conf import settings
        from django.test import Client

        from accounts.models import User
        from bench import dashboards

        settings.ALLOWED_HOSTS = [*settings.ALLOWED_HOSTS, "testserver"]
        start = time.perf_counter()
        dashboards.load(args.experiences, args.customers)
        pgbench(primary, "-i", "-s", "5", "-q")
        while not caught_up(primary, replica):
            time.sleep(0.2)
        print(f"loaded {args.experiences:,} experiences for {args.customers:,} customers, replayed on the replica, "
              f"in {time.perf_counter() - start:.0f} s")  # fmt: skip
        clients = {}
        for username in ("bench-admin", "bench-manager"):
            clients[username] = Client()
            clients[username].force_login(User.objects.get(username=username))
        phase(primary, clients, 5, pinned=False)  # warm both servers' caches
        phase(primary, clients, 5, pinned=True)
        runs: dict[str, list[dict]] = {"no dashboards": [], "dashboards on primary": [], "dashboards on replica": []}
        for _ in range(args.rounds):
            runs["no dashboards"].append(phase(primary, clients, args.seconds, pinned=None))
            runs["dashboards on primary"].append(phase(primary, clients, args.seconds, pinned=True))
            runs["dashboards on replica"].append(phase(primary, clients, args.seconds, pinned=False))
        baseline = statistics.mean(run["tps"] for run in runs["no dashboards"])
        print(f"{args.rounds} rounds of {args.seconds:.0f} s phases; pgbench -c 2 writes on the primary")
        for name, phases in runs.items():
            tps = statistics.mean(run["tps"] for run in phases)
            print(f"{name:<24} primary writes {tps:7.0f} tps ({tps / baseline:.2f} × no dashboards)")
            if name == "no dashboards":
                continue
            for label, _, _ in PAGES:
                times = [t for run in phases for t in run["times"][label]]
                on_primary, on_replica = phases[-1]["queries"][label]
                p50, p95 = statistics.median(times), statistics.quantiles(times, n=20)[18]
                print(f"    {label:<24} p50 {p50:6.1f} ms  p95 {p95:6.1f} ms  ({len(times)} requests; "
                      f"queries: {on_primary} primary, {on_replica} replica)")  # fmt: skip
    finally:
        replica.remove()
        primary.remove()


if __name__ == "__main__":
    main()
