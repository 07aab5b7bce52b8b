"""Ingestion benchmark (not a test): the API under gunicorn against baselines measured in the same run.

    BENCH_DATABASE_URL=postgres://postgres@127.0.0.1:5432/cxm_bench .venv/bin/python bench/ingest.py \\
        [--experiences 1000000] [--customers 100000] [--seconds 10] [--rounds 3] [--batches 40]

Prints, in one run:
(a) single-item POSTs at concurrency 4 (4 clients, each sending the next request as soon as the
    last was answered): requests/s and p95 for POST /api/v1/experiences/ and for a textbook DRF
    create view on the same server (bench/urls.py: API-key auth, ModelSerializer, one INSERT),
    in alternating rounds, and the ratio CXM / textbook (goal >= 1.0, p95 <= 15 ms); and the CPU
    each request cost the web workers and the PostgreSQL backends of the bench database, which
    a busy machine changes less than requests/s;
(b) batches of 1,000 items from 2 clients: events/s against a psycopg2 COPY into the same table of
    the rows the service stores for as many items (the same values, API key and idempotency scope
    included), and the ratio of the medians and in each round (goal >= 0.5);
(c) the batch figure again with 10 active webhook subscribers (experience.negative and
    experience.recorded), and its ratio to (b) (goal >= 0.9).
The batch figures alternate too: each round sends its batches without subscribers, COPYs as
many rows and sends its batches with the subscribers active, in reverse order every other
round; medians of the rounds.

The database (BENCH_DATABASE_URL; its name must contain "bench") is created, migrated and
loaded with --experiences / --customers (bench/data.py) when it holds fewer experiences than
asked; the rows the run adds stay. Redis db 15 is the broker, with no worker: follow-ups queue
up and are not part of the figures. gunicorn serves bench.settings (the app's settings, the
textbook view mounted beside the app) with 2 sync workers on loopback.
"""

from __future__ import annotations

import argparse
import contextlib
import http.client
import io
import json
import os
import socket
import statistics
import subprocess
import sys
import threading
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

import psutil
import psycopg2

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
DATABASE_URL = os.environ.get("BENCH_DATABASE_URL", "postgres://postgres@127.0.0.1:5432/cxm_bench")
BROKER_URL = os.environ.get("BENCH_BROKER_URL", "redis://127.0.0.1:6379/15")
BATCH = 1000
SUBSCRIBERS = 10
TOUCHPOINT = "touchpoint-0"  # bench/data.py's catalogue
PATHS = {"cxm": "/api/v1/experiences/", "textbook": "/bench/textbook/experiences/"}  # the app's view, the textbook's
CUSTOMERS_USED = 2000  # the customers the run's items name, C-1 … C-2000
VALENCES = {"positive": 1, "neutral": 0, "negative": -1}


def env() -> dict[str, str]:
    return os.environ | {
        "DATABASE_URL": DATABASE_URL,
        "CELERY_BROKER_URL": BROKER_URL,
        "DJANGO_SETTINGS_MODULE": "bench.settings",
        "CXM_API_THROTTLE_RATE": "1000000/minute",
        "DEBUG": "0",
        "SECRET_KEY": "bench-only-secret-key",
        "ALLOWED_HOSTS": "127.0.0.1",
        "LOG_LEVEL": "WARNING",
        "SECURE_SSL_REDIRECT": "0",
    }


def connect():
    url = urlparse(DATABASE_URL)
    return psycopg2.connect(host=url.hostname, port=url.port or 5432, user=url.username, dbname=url.path[1:])


PREPARE = """
import sys
from bench import data
from django.core.management import call_command
from experiences.models import Experience
call_command("migrate", verbosity=0)
if Experience.objects.count() < {experiences}:
    data.load(experiences={experiences}, customers={customers}, days=365)
from integrations.services import create_api_key
from integrations.models import Scope
print(create_api_key(name="bench", scopes=Scope.values)[1])
"""


def prepare(experiences: int, customers: int) -> tuple[str, float]:
    """Create, migrate and (if short of rows) load the bench database; return a key and the load's seconds."""
    from bench import data

    data.create_database(DATABASE_URL)
    started = time.perf_counter()
    script = PREPARE.format(experiences=experiences, customers=customers)
    done = subprocess.run(
        [sys.executable, str(ROOT / "manage.py"), "shell", "-c", script],
        env=env(),
        check=True,
        cwd=ROOT,
        capture_output=True,
        text=True,
    )
    return done.stdout.strip().splitlines()[-1], time.perf_counter() - started


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_gunicorn(port: int, root: Path = ROOT) -> subprocess.Popen:
    """gunicorn serving the checkout at `root` (bench/compare.py starts two) with bench.settings."""
    server = subprocess.Popen(
        [sys.executable, "-m", "gunicorn", "cxm.wsgi", "--workers", "2", "--bind", f"127.0.0.1:{port}"]
        + ["--log-level", "warning"],
        env=env(),
        cwd=root,
    )
    for _ in range(100):
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            return server
        except OSError:
            time.sleep(0.1)
    server.terminate()
    raise SystemExit("gunicorn did not start")


def items(prefix: str, count: int) -> list[dict]:
    now = datetime.now(UTC)
    return [
        {
            "id": f"{prefix}-{n}",
            "customer": f"C-{1 + n % CUSTOMERS_USED}",
            "touchpoint": TOUCHPOINT,
            "valence": ("positive", "neutral", "negative")[n % 3],
            "intensity": 1 + n % 5,
            "occurred_at": (now - timedelta(minutes=n)).isoformat(),
        }
        for n in range(count)
    ]


class Client:
    """One HTTP connection (gunicorn's sync workers close it after each answer; it reopens)."""

    def __init__(self, port: int, key: str) -> None:
        self.connection = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
        self.headers = {"Authorization": f"Api-Key {key}", "Content-Type": "application/json"}

    def post(self, path: str, body: bytes) -> dict:
        self.connection.request("POST", path, body, self.headers)
        response = self.connection.getresponse()
        data = response.read()
        if response.status not in (200, 201):
            raise SystemExit(f"POST {path} answered {response.status}: {data[:300]!r}")
        return json.loads(data)


def bench_batches(port: int, key: str, batches: int) -> float:
    run = uuid.uuid4().hex[:8]
    bodies = [json.dumps({"experiences": items(f"{run}-{b}", BATCH)}).encode() for b in range(batches)]
    accepted = 0
    lock = threading.Lock()

    def worker(chunk: list[bytes]) -> None:
        nonlocal accepted
        client = Client(port, key)
        for body in chunk:
            result = client.post("/api/v1/experiences/", body)
            with lock:
                accepted += result["accepted"]

    threads = [threading.Thread(target=worker, args=(bodies[i::2],)) for i in range(2)]
    started = time.perf_counter()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    elapsed = time.perf_counter() - started
    if accepted != batches * BATCH:
        raise SystemExit(f"only {accepted} of {batches * BATCH} accepted")
    return accepted / elapsed


def bench_copy(rows: int, ids: dict[str, Any]) -> float:
    """COPY the rows the service stores for as many items as the API is sent (same customers, touchpoint,
    API key and idempotency scope) into the same table, and their idempotency keys into the keys' table."""
    touchpoint_id, department_id, customer_ids = ids["touchpoint"], ids["department"], ids["customers"]
    api_key, scope = ids["api_key"], ids["scope"]
    connection = connect()
    with connection, connection.cursor() as cursor:
        now = datetime.now(UTC)
        cursor.execute("SELECT nextval('experiences_experience_id_seq') FROM generate_series(1, %s)", [rows])
        pks = [pk for (pk,) in cursor.fetchall()]
        buffer, keys = io.StringIO(), io.StringIO()
        for n, item in enumerate(items(f"copy-{uuid.uuid4().hex[:8]}", rows)):
            moment = datetime.fromisoformat(item["occurred_at"])
            valence = VALENCES[item["valence"]]
            intensity = item["intensity"]
            impact = 0.9 * valence * intensity + 0.1 * valence * intensity
            sent = json.dumps({name: value for name, value in item.items() if name != "id"})
            keys.write(f"{scope}\t{item['id']}\t{pks[n]}\t{sent}\n")
            buffer.write(
                f"{pks[n]}\t{customer_ids[item['customer']]}\t{touchpoint_id}\t{department_id}\tinteraction\t"
                f"{valence}\t{intensity}\t\t\t\t{moment.isoformat()}\t{moment.date()}\tapi\t{item['id']}\t{scope}\t"
                f"\\N\t\\N\t{api_key}\t\t{impact}\t{max(impact, 0)}\t{max(-impact, 0)}\t{now.isoformat()}\n"
            )
        payload, key_payload = buffer.getvalue(), keys.getvalue()
        columns = (
            "id, customer_id, touchpoint_id, department_id, stage, valence, intensity, emotion, expectation, outcome, "
            "occurred_at, occurred_on, source, external_id, idempotency_scope, recorded_by_id, "
            "reported_from_department_id, api_key_id, note, impact, positive_mass_norm, negative_mass_norm, created_at"
        )
        started = time.perf_counter()
        cursor.copy_expert(f"COPY experiences_experience ({columns}) FROM STDIN", io.StringIO(payload))
        cursor.copy_expert(
            "COPY experiences_experiencekey (idempotency_scope, external_id, experience_id, sent) FROM STDIN",
            io.StringIO(key_payload),
        )
    elapsed = time.perf_counter() - started
    connection.close()
    return rows / elapsed


def single_bodies(kind: str, count: int, ids: dict[str, Any]) -> list[bytes]:
    run = uuid.uuid4().hex[:8]
    now = datetime.now(UTC)
    if kind == "cxm":
        return [json.dumps(item).encode() for item in items(f"{run}-single", count)]
    customers = list(ids["customers"].values())
    return [
        json.dumps(
            {
                "customer": customers[n % len(customers)],
                "touchpoint": ids["touchpoint"],
                "department": ids["department"],
                "stage": "interaction",
                "valence": (1, 0, -1)[n % 3],
                "intensity": 1 + n % 5,
                "occurred_at": (now - timedelta(minutes=n)).isoformat(),
            }
        ).encode()
        for n in range(count)
    ]


def bench_single(port: int, key: str, path: str, bodies: list[bytes], seconds: float) -> tuple[float, list[float]]:
    """4 clients, each posting its next body as soon as the last was answered, for `seconds`."""
    latencies: list[float] = []
    lock = threading.Lock()
    deadline = time.perf_counter() + seconds
    sent = 0

    def worker(chunk: list[bytes]) -> None:
        nonlocal sent
        client = Client(port, key)
        mine = []
        for body in chunk:
            if time.perf_counter() >= deadline:
                break
            start = time.perf_counter()
            client.post(path, body)
            mine.append(time.perf_counter() - start)
        with lock:
            latencies.extend(mine)
            sent += len(mine)

    threads = [threading.Thread(target=worker, args=(bodies[i::4],)) for i in range(4)]
    started = time.perf_counter()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return sent / (time.perf_counter() - started), latencies


def cpu_seconds(server: subprocess.Popen) -> dict[tuple[str, int], float]:
    """CPU seconds (user + system) so far of each web worker and each PostgreSQL backend of the bench database."""
    database = f" {urlparse(DATABASE_URL).path[1:]} "
    roles = [("web", p) for p in psutil.Process(server.pid).children()] + [
        ("PostgreSQL", p)
        for p in psutil.process_iter(["cmdline"])
        if p.info["cmdline"] and database in " ".join(p.info["cmdline"])
    ]
    seconds = {}
    for role, process in roles:
        with contextlib.suppress(psutil.NoSuchProcess):
            times = process.cpu_times()
            seconds[role, process.pid] = times.user + times.system
    return seconds


def cpu_spent(before: dict[tuple[str, int], float], after: dict[tuple[str, int], float]) -> tuple[float, float]:
    """CPU seconds the web workers and the database backends spent between two readings of `cpu_seconds`.

    A backend that started in between counts from zero; one that ended (a connection past
    CONN_MAX_AGE) loses only what it spent after the first reading.
    """
    spent = {"web": 0.0, "PostgreSQL": 0.0}
    for (role, pid), seconds in after.items():
        spent[role] += seconds - before.get((role, pid), 0.0)
    return spent["web"], spent["PostgreSQL"]


def single_round(
    server: subprocess.Popen, port: int, key: str, path: str, bodies: list[bytes], seconds: float
) -> tuple[float, list[float], float, float]:
    """`bench_single`, and the CPU seconds its web workers and database backends spent meanwhile."""
    before = cpu_seconds(server)
    achieved, latencies = bench_single(port, key, path, bodies, seconds)
    web, database = cpu_spent(before, cpu_seconds(server))
    return achieved, latencies, web, database


def percentile(values: list[float], p: float) -> float:
    return statistics.quantiles(values, n=100, method="inclusive")[int(p) - 1] * 1000


def catalogue_ids(key: str) -> dict[str, Any]:
    """The ids the run's items resolve to, and the API key's id and idempotency scope as the service stores them."""
    connection = connect()
    with connection, connection.cursor() as cursor:
        cursor.execute(
            "SELECT t.id, o.department_id FROM touchpoints_touchpoint t JOIN touchpoints_touchpointowner o "
            "ON o.touchpoint_id = t.id AND o.primary WHERE t.code = %s",
            [TOUCHPOINT],
        )
        touchpoint, department = cursor.fetchone()
        cursor.execute(
            "SELECT external_id, id FROM customers_customer WHERE external_id = ANY(%s)",
            [[f"C-{n}" for n in range(1, CUSTOMERS_USED + 1)]],
        )
        customers = dict(cursor.fetchall())
        cursor.execute("SELECT id FROM integrations_apikey WHERE prefix = %s", [key.partition(".")[0]])
        (api_key,) = cursor.fetchone()
    connection.close()
    return {
        "touchpoint": touchpoint,
        "department": department,
        "customers": customers,
        "api_key": api_key,
        "scope": f"key:{api_key}",  # experiences.services.idempotency_scope
    }


def subscribe(count: int) -> list[int]:
    """Active subscribers to the experience events; the bench has no worker, so nothing is delivered."""
    connection = connect()
    with connection, connection.cursor() as cursor:
        cursor.execute(
            "INSERT INTO integrations_webhooksubscription (url, events, secret, previous_secret, description, "
            "active, created_at) SELECT 'https://receiver.example/' || n, "
            """'["experience.negative", "experience.recorded"]', 'whsec_' || md5(n::text), '', 'bench', true, now() """
            "FROM generate_series(1, %s) n RETURNING id",
            [count],
        )
        ids = [r[0] for r in cursor.fetchall()]
    connection.close()
    return ids


def set_active(ids: list[int], active: bool) -> None:
    connection = connect()
    with connection, connection.cursor() as cursor:
        cursor.execute("UPDATE integrations_webhooksubscription SET active = %s WHERE id = ANY(%s)", [active, ids])
    connection.close()


def unsubscribe(ids: list[int]) -> None:
    connection = connect()
    with connection, connection.cursor() as cursor:
        cursor.execute("DELETE FROM integrations_webhookdelivery WHERE subscription_id = ANY(%s)", [ids])
        cursor.execute("DELETE FROM integrations_webhooksubscription WHERE id = ANY(%s)", [ids])
    connection.close()


def counts() -> tuple[int, int]:
    connection = connect()
    with connection, connection.cursor() as cursor:
        cursor.execute(
            "SELECT (SELECT count(*) FROM experiences_experience), (SELECT count(*) FROM customers_customer)"
        )
        found = cursor.fetchone()
    connection.close()
    return found


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--experiences", type=int, default=1_000_000, help="rows loaded first (default 1,000,000)")
    parser.add_argument("--customers", type=int, default=100_000, help="customers loaded first (default 100,000)")
    parser.add_argument("--seconds", type=float, default=10, help="length of each single-POST round (default 10)")
    parser.add_argument("--rounds", type=int, default=3, help="alternating rounds of CXM and textbook (default 3)")
    parser.add_argument(
        "--batches", type=int, default=40, help="batches of 1,000 per batch figure, over the rounds (default 40)"
    )
    args = parser.parse_args()
    key, load_seconds = prepare(args.experiences, args.customers)
    experiences, customers = counts()
    ids = catalogue_ids(key)
    port = free_port()
    server = start_gunicorn(port)
    subscribers: list[int] = []
    single: dict[str, tuple[list[float], list[float]]] = {"cxm": ([], []), "textbook": ([], [])}
    cpu = {"cxm": [0.0, 0.0, 0], "textbook": [0.0, 0.0, 0]}  # web seconds, database seconds, requests
    batch_rates: dict[str, list[float]] = {"api": [], "copy": [], "subscribed": []}
    try:
        client = Client(port, key)
        for kind in ("cxm", "textbook"):  # warm both workers' catalogue, connections and code
            for body in single_bodies(kind, 20, ids):
                client.post(PATHS[kind], body)
        for _round in range(args.rounds):
            for kind in ("cxm", "textbook"):
                bodies = single_bodies(kind, int(args.seconds * 2000), ids)
                achieved, latencies, web, database = single_round(server, port, key, PATHS[kind], bodies, args.seconds)
                cpu[kind][0] += web
                cpu[kind][1] += database
                cpu[kind][2] += len(latencies)
                single[kind][0].append(achieved)
                single[kind][1].extend(latencies)
        client.post(PATHS["cxm"], json.dumps({"experiences": items(f"warm-{uuid.uuid4().hex[:8]}", BATCH)}).encode())
        subscribers = subscribe(SUBSCRIBERS)
        per_round = max(args.batches // args.rounds, 2)
        for n in range(args.rounds):  # alternating (ABBA), so that the machine's load falls on all three alike
            for kind in ("api", "copy", "subscribed")[:: 1 if n % 2 == 0 else -1]:
                if kind == "copy":
                    batch_rates[kind].append(bench_copy(per_round * BATCH, ids))
                else:
                    set_active(subscribers, kind == "subscribed")
                    batch_rates[kind].append(bench_batches(port, key, per_round))
    finally:
        if subscribers:
            unsubscribe(subscribers)
        server.terminate()
        server.wait(timeout=30)
    rate = {kind: statistics.median(rates) for kind, (rates, _lat) in single.items()}
    api_rate, copy_rate, subscribed_rate = (statistics.median(batch_rates[k]) for k in ("api", "copy", "subscribed"))
    shown = {k: ", ".join(f"{r:,.0f}" for r in rates) for k, rates in batch_rates.items()}
    p95 = {kind: percentile(latencies, 95) for kind, (_rates, latencies) in single.items()}
    print(f"database: {experiences:,} experiences, {customers:,} customers (prepare/load took {load_seconds:.0f} s)")
    print(f"(a) single-item POST, concurrency 4, median of {args.rounds} alternating rounds of {args.seconds:.0f} s:")
    for kind, label in (("cxm", "CXM POST /api/v1/experiences/"), ("textbook", "textbook DRF create view   ")):
        print(
            f"    {label} {rate[kind]:7,.0f} req/s  p95 {p95[kind]:5.1f} ms  (rounds: "
            + ", ".join(f"{r:,.0f}" for r in single[kind][0])
            + ")"
        )
    print(f"    ratio CXM / textbook: {rate['cxm'] / rate['textbook']:.2f} (goal >= 1.0; CXM p95 goal <= 15 ms)")
    for kind, label in (("cxm", "CXM"), ("textbook", "textbook")):
        web, database, requests = cpu[kind]
        print(
            f"    CPU per request, {label}: web workers {web / requests * 1000:.2f} ms, "
            f"PostgreSQL {database / requests * 1000:.2f} ms"
        )
    print(f"(b) API, batches of {BATCH} (2 clients), median of {args.rounds} rounds of {per_round} batches:")
    print(f"    API:                           {api_rate:,.0f} events/s (rounds: {shown['api']})")
    print(f"    COPY of as many rows:          {copy_rate:,.0f} rows/s (rounds: {shown['copy']})")
    paired = [api / copy for api, copy in zip(batch_rates["api"], batch_rates["copy"], strict=True)]
    print(f"    ratio API / COPY:              {api_rate / copy_rate:.2f} of the medians (goal >= 0.5)")
    print(
        f"    ratio in each round:           {', '.join(f'{r:.2f}' for r in paired)} "
        f"(median {statistics.median(paired):.2f}; each round's two figures measured side by side)"
    )
    print(f"(c) API batches with {SUBSCRIBERS} webhook subscribers: {subscribed_rate:,.0f} events/s")
    print(f"    (rounds: {shown['subscribed']})")
    print(f"    ratio to (b):                  {subscribed_rate / api_rate:.2f} (goal >= 0.9)")


if __name__ == "__main__":
    main()
