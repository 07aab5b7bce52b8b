"""Ingestion benchmark (not a test): the API under gunicorn vs a raw COPY into the same table.

    .venv/bin/python bench/ingest.py [--batches 40] [--seconds 10]

Prints, in one run: events/s for batches of 1,000 through POST /api/v1/experiences/; rows/s
for a psycopg2 COPY of equivalent rows into the same table (the limit on this machine); their
ratio (target >= 0.25); and single-item POSTs paced at 100 requests/s with p50 / p95 / p99
latency (target p95 < 50 ms). Loopback only. It uses its own database (BENCH_DATABASE_URL,
default postgres://postgres@127.0.0.1:5432/cxm_bench, created and migrated if missing) and
Redis db 15 as broker, with no worker: scoring work queues up and is not part of the figure.
"""

from __future__ import annotations

import argparse
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
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from pathlib import Path
from urllib.parse import urlparse

import psycopg2

ROOT = Path(__file__).resolve().parent.parent
DATABASE_URL = os.environ.get("BENCH_DATABASE_URL", "postgres://postgres@127.0.0.1:5432/cxm_bench")
BROKER_URL = os.environ.get("BENCH_BROKER_URL", "redis://127.0.0.1:6379/15")
CUSTOMERS = 2000
BATCH = 1000
TOUCHPOINT = "bench-delivery"


def env() -> dict[str, str]:
    return os.environ | {
        "DATABASE_URL": DATABASE_URL,
        "CELERY_BROKER_URL": BROKER_URL,
        "CXM_API_THROTTLE_RATE": "1000000/minute",
        "DEBUG": "0",
        "SECRET_KEY": "bench-only-secret-key",
        "ALLOWED_HOSTS": "127.0.0.1",
        "LOG_LEVEL": "WARNING",
        "SECURE_SSL_REDIRECT": "0",
    }


def prepare() -> str:
    """Create and migrate the bench database, the catalogue, customers and a key; return the key."""
    url = urlparse(DATABASE_URL)
    admin = psycopg2.connect(host=url.hostname, port=url.port or 5432, user=url.username, dbname="postgres")
    admin.autocommit = True
    with admin.cursor() as cursor:
        cursor.execute("SELECT 1 FROM pg_database WHERE datname = %s", [url.path.lstrip("/")])
        if cursor.fetchone() is None:
            cursor.execute(f'CREATE DATABASE "{url.path.lstrip("/")}"')
    admin.close()
    manage = [sys.executable, str(ROOT / "manage.py")]
    subprocess.run([*manage, "migrate", "--noinput", "-v0"], env=env(), check=True, cwd=ROOT)
    script = f"""
from customers.models import Customer
from tests.factories import DepartmentFactory, TouchpointFactory
from integrations.services import create_api_key
from integrations.models import Scope
TouchpointFactory(code="{TOUCHPOINT}", owner=DepartmentFactory(code="bench-logistics"))
Customer.objects.bulk_create([Customer(external_id=f"B-{{n}}", name=f"Bench {{n}}") for n in range({CUSTOMERS})],
                             ignore_conflicts=True)
print(create_api_key(name="bench", scopes=Scope.values)[1])
"""
    done = subprocess.run(
        [*manage, "shell", "-c", script], env=env(), check=True, cwd=ROOT, capture_output=True, text=True
    )
    return done.stdout.strip().splitlines()[-1]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_gunicorn(port: int) -> subprocess.Popen:
    server = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "gunicorn",
            "cxm.wsgi",
            "--workers",
            "2",
            "--bind",
            f"127.0.0.1:{port}",
            "--log-level",
            "warning",
        ],
        env=env(),
        cwd=ROOT,
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
            "customer": f"B-{n % CUSTOMERS}",
            "touchpoint": TOUCHPOINT,
            "valence": ("positive", "neutral", "negative")[n % 3],
            "intensity": 1 + n % 5,
            "occurred_at": (now - timedelta(minutes=n)).isoformat(),
        }
        for n in range(count)
    ]


class Client:
    """One keep-alive HTTP connection."""

    def __init__(self, port: int, key: str) -> None:
        self.connection = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
        self.headers = {"Authorization": f"Api-Key {key}", "Content-Type": "application/json"}

    def post(self, body: bytes) -> dict:
        self.connection.request("POST", "/api/v1/experiences/", body, self.headers)
        response = self.connection.getresponse()
        data = response.read()
        if response.status not in (200, 201):
            raise SystemExit(f"POST answered {response.status}: {data[:300]!r}")
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
            result = client.post(body)
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


def bench_copy(rows: int) -> float:
    """COPY rows shaped like the service's (same columns, customers, touchpoint) into the same table."""
    url = urlparse(DATABASE_URL)
    connection = psycopg2.connect(host=url.hostname, port=url.port or 5432, user=url.username, dbname=url.path[1:])
    with connection, connection.cursor() as cursor:
        cursor.execute(
            "SELECT t.id, o.department_id FROM touchpoints_touchpoint t JOIN touchpoints_touchpointowner o "
            "ON o.touchpoint_id = t.id AND o.primary WHERE t.code = %s",
            [TOUCHPOINT],
        )
        touchpoint_id, department_id = cursor.fetchone()
        cursor.execute("SELECT id FROM customers_customer WHERE external_id LIKE 'B-%%' ORDER BY id")
        customer_ids = [r[0] for r in cursor.fetchall()]
        run, now = uuid.uuid4().hex[:8], datetime.now(UTC)
        buffer = io.StringIO()
        for n in range(rows):
            moment = now - timedelta(minutes=n)
            valence = (1, 0, -1)[n % 3]
            impact = 0.9 * valence * (1 + n % 5) + 0.1 * valence * (1 + n % 5)
            buffer.write(
                f"{customer_ids[n % len(customer_ids)]}\t{touchpoint_id}\t{department_id}\tinteraction\t{valence}\t"
                f"{1 + n % 5}\t\t\t\t{moment.isoformat()}\t{moment.date()}\timport\tcopy-{run}-{n}\timport\t\\N\t\t"
                f"{impact}\t{max(impact, 0)}\t{max(-impact, 0)}\t{now.isoformat()}\n"
            )
        payload = buffer.getvalue()
        columns = (
            "customer_id, touchpoint_id, department_id, stage, valence, intensity, emotion, expectation, outcome, "
            "occurred_at, occurred_on, source, external_id, idempotency_scope, recorded_by_id, note, impact, "
            "positive_mass_norm, negative_mass_norm, created_at"
        )
        started = time.perf_counter()
        cursor.copy_expert(f"COPY experiences_experience ({columns}) FROM STDIN", io.StringIO(payload))
    elapsed = time.perf_counter() - started
    connection.close()
    return rows / elapsed


def bench_single(port: int, key: str, rate: int, seconds: float) -> tuple[float, list[float]]:
    """Single-item POSTs paced at `rate` per second from 4 threads; returns the achieved rate and latencies."""
    run = uuid.uuid4().hex[:8]
    total = int(rate * seconds)
    bodies = [json.dumps(item).encode() for item in items(f"{run}-single", total)]
    latencies: list[float] = []
    local = threading.local()
    started = time.perf_counter()

    def send(n: int) -> None:
        delay = started + n / rate - time.perf_counter()
        if delay > 0:
            time.sleep(delay)
        if not hasattr(local, "client"):
            local.client = Client(port, key)
        sent = time.perf_counter()
        local.client.post(bodies[n])
        latencies.append(time.perf_counter() - sent)

    with ThreadPoolExecutor(max_workers=4) as pool:
        list(pool.map(send, range(total)))
    return total / (time.perf_counter() - started), latencies


def percentile(values: list[float], p: float) -> float:
    return statistics.quantiles(values, n=100, method="inclusive")[int(p) - 1] * 1000


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--batches", type=int, default=40, help="batches of 1,000 through the API (default 40)")
    parser.add_argument("--seconds", type=float, default=10, help="duration of the single-item run (default 10)")
    parser.add_argument("--rate", type=int, default=100, help="single-item requests per second (default 100)")
    args = parser.parse_args()
    key = prepare()
    port = free_port()
    server = start_gunicorn(port)
    try:
        Client(port, key).post(json.dumps({"experiences": items(f"warm-{uuid.uuid4().hex[:8]}", 50)}).encode())
        api_rate = bench_batches(port, key, args.batches)
        copy_rate = bench_copy(args.batches * BATCH)
        achieved, latencies = bench_single(port, key, args.rate, args.seconds)
    finally:
        server.terminate()
        server.wait(timeout=30)
    print(f"API, batches of {BATCH} (2 clients): {api_rate:,.0f} events/s")
    print(f"COPY of the same number of rows:     {copy_rate:,.0f} rows/s")
    print(f"ratio API / COPY:                     {api_rate / copy_rate:.2f} (target >= 0.25)")
    print(
        f"single-item POSTs: {achieved:,.0f} requests/s (asked {args.rate}), "
        f"p50 {percentile(latencies, 50):.1f} ms, p95 {percentile(latencies, 95):.1f} ms, "
        f"p99 {percentile(latencies, 99):.1f} ms (target p95 < 50 ms)"
    )


if __name__ == "__main__":
    main()
