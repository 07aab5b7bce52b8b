"""Load test of the full stack (not a test): staff form posts, API batches and dashboard views.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/cxm_h_prod CELERY_BROKER_URL=redis://127.0.0.1:6379/8 \\
        .venv/bin/python bench/load.py [--steps 5,10,20,40,60] [--seconds 8]

Creates and migrates the database if needed, seeds a small demo data set (once), collects the
static files, starts the Procfile's stack (gunicorn, worker, beat) in production mode (DEBUG=0)
on a free port of 127.0.0.1, then drives it with locust, headless, at increasing request rates:
every simulated user asks once a second, so N users ask N requests/s, mixed 3 form posts :
3 API batches of 20 experiences : 4 dashboard views. Prints, per step, the throughput,
p50 / p95 / p99 and the errors, and names the highest rate with zero errors and p95 < 300 ms.
The traffic is bounded to 127.0.0.1 and to 60 seconds in all.
"""

from gevent import monkey

monkey.patch_all()

import argparse  # noqa: E402
import json  # noqa: E402
import os  # noqa: E402
import signal  # noqa: E402
import socket  # noqa: E402
import subprocess  # noqa: E402
import sys  # noqa: E402
import tempfile  # noqa: E402
import time  # noqa: E402
import uuid  # noqa: E402
from pathlib import Path  # noqa: E402
from random import choice  # noqa: E402
from urllib.parse import urlparse  # noqa: E402

import gevent  # noqa: E402
import requests  # noqa: E402
from locust import HttpUser, constant_throughput, task  # noqa: E402
from locust.env import Environment  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
VENV_BIN = Path(sys.executable).parent
STACK_LOG = Path(tempfile.gettempdir()) / "cxm-load-stack.log"
MAX_TRAFFIC_SECONDS = 60
WARM_UP_SECONDS = 2
P95_TARGET_MS = 300
MANAGER = ("demo-manager", "five-positives-per-negative")
FIXTURE = """
import json
from customers.models import Customer
from touchpoints.models import Touchpoint
print(json.dumps({
    "customers": list(Customer.objects.order_by("pk").values_list("external_id", flat=True)[:200]),
    "touchpoints": list(Touchpoint.objects.filter(active=True, departments__code="logistics")
                        .values_list("code", flat=True).distinct()),
}))
"""


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", default="4,8,12,16,24", help="request rates to try, per second")
    parser.add_argument("--seconds", type=float, default=8, help="measured seconds per step")
    args = parser.parse_args()
    steps = [int(s) for s in args.steps.split(",")]
    if len(steps) * (args.seconds + WARM_UP_SECONDS) > MAX_TRAFFIC_SECONDS:
        parser.error(f"steps × (seconds + {WARM_UP_SECONDS}) must stay within {MAX_TRAFFIC_SECONDS} s")
    database_url, broker_url = os.environ.get("DATABASE_URL", ""), os.environ.get("CELERY_BROKER_URL", "")
    if not database_url.startswith("postgres") or not broker_url.startswith("redis"):
        parser.error("set DATABASE_URL (PostgreSQL) and CELERY_BROKER_URL (Redis)")
    if urlparse(database_url).hostname not in ("127.0.0.1", "localhost"):
        parser.error("this load test runs against this machine only")

    env = {
        **os.environ,
        "PATH": f"{VENV_BIN}:{os.environ.get('PATH', '')}",
        "DEBUG": "0",
        "SECRET_KEY": "load-test-" + uuid.uuid4().hex * 2,
        "ALLOWED_HOSTS": "127.0.0.1",
        "SECURE_SSL_REDIRECT": "0",
        "SECURE_COOKIES": "0",
        "CXM_API_THROTTLE_RATE": "100000/minute",
        "AXES_FAILURE_LIMIT": "1000",
    }
    prepare(database_url, env)
    data = json.loads(manage(env, "shell", "-c", FIXTURE, capture=True).strip().splitlines()[-1])
    key = manage(env, "create_api_key", "load-test", "--scopes", "all", capture=True).strip().splitlines()[-1]
    port = free_port()
    stack = start_stack(env, port)
    try:
        results = run_steps(f"http://127.0.0.1:{port}", key, data, steps, args.seconds)
    finally:
        os.killpg(stack.pid, signal.SIGTERM)
        stack.wait(timeout=30)
    report(results)
    return 0


def manage(env: dict, *args: str, capture: bool = False) -> str:
    result = subprocess.run(
        [sys.executable, "manage.py", *args], cwd=ROOT, env=env, check=True, text=True, capture_output=capture
    )
    return result.stdout if capture else ""


def prepare(database_url: str, env: dict) -> None:
    import psycopg2

    db = urlparse(database_url)
    name = db.path.lstrip("/")
    admin = psycopg2.connect(host=db.hostname, port=db.port or 5432, user=db.username or "postgres", dbname="postgres")
    admin.autocommit = True
    with admin.cursor() as cursor:
        cursor.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name])
        if cursor.fetchone() is None:
            cursor.execute(f'CREATE DATABASE "{name}"')
    admin.close()
    print("migrating, seeding (once) and collecting static files…", flush=True)
    manage(env, "migrate", "--noinput", capture=True)
    manage(env, "seed_demo", "--customers", "300", "--experiences", "6000", capture=True)
    manage(env, "collectstatic", "--noinput", capture=True)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_stack(env: dict, port: int) -> subprocess.Popen:
    log = open(STACK_LOG, "wb")  # noqa: SIM115 - lives as long as the stack
    stack = subprocess.Popen(
        [str(VENV_BIN / "honcho"), "start", "--no-colour"],
        cwd=ROOT,
        env={
            **env,
            "HOST": "127.0.0.1",
            "WEB_PORT": str(port),
            "WEB_CONCURRENCY": "3",
            "BEAT_SCHEDULE": "/tmp/cxm-load-beat",
        },
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    deadline = time.monotonic() + 90
    while time.monotonic() < deadline:
        try:
            if requests.get(f"http://127.0.0.1:{port}/readyz", timeout=5).status_code == 200:
                return stack
        except requests.RequestException:
            pass
        time.sleep(0.5)
    os.killpg(stack.pid, signal.SIGTERM)
    raise SystemExit(f"the stack did not become ready in 90 s; see {STACK_LOG}")


def run_steps(host: str, key: str, data: dict, steps: list[int], seconds: float) -> list[dict]:
    class Manager(HttpUser):
        """A manager between meetings: logs what a customer lived, glances at the dashboards."""

        wait_time = constant_throughput(1)

        def on_start(self) -> None:
            self.client.get("/login/", name="login")
            self.client.post(
                "/login/",
                {
                    "username": MANAGER[0],
                    "password": MANAGER[1],
                    "csrfmiddlewaretoken": self.client.cookies["csrftoken"],
                },
                name="login",
            )

        @task(3)
        def log_experience(self) -> None:
            item = {"customer": choice(data["customers"]), "touchpoint": choice(data["touchpoints"])}
            self.client.post(
                "/log/",
                {**item, "valence": choice(["positive", "neutral", "negative"]), "intensity": "3",
                 "csrfmiddlewaretoken": self.client.cookies["csrftoken"]},
                name="form post /log/",
                allow_redirects=False,
            )  # fmt: skip

        @task(3)
        def send_batch(self) -> None:
            items = [
                {"id": uuid.uuid4().hex, "customer": choice(data["customers"]),
                 "touchpoint": choice(data["touchpoints"]), "valence": choice(["positive", "neutral", "negative"])}
                for _ in range(20)
            ]  # fmt: skip
            self.client.post(
                "/api/v1/experiences/",
                json={"experiences": items},
                headers={"Authorization": f"Api-Key {key}"},
                name="API batch of 20",
            )

        @task(4)
        def dashboards(self) -> None:
            path = choice(["/dashboards/", "/dashboards/logistics/"])
            self.client.get(path, name="dashboard " + path)

    environment = Environment(user_classes=[Manager], host=host)
    runner = environment.create_local_runner()
    results = []
    for rate in steps:
        runner.start(rate, spawn_rate=rate)
        gevent.sleep(WARM_UP_SECONDS)
        environment.stats.reset_all()
        gevent.sleep(seconds)
        total = environment.stats.total
        results.append(
            {
                "rate": rate,
                "throughput": total.num_requests / seconds,
                "p50": total.get_response_time_percentile(0.5),
                "p95": total.get_response_time_percentile(0.95),
                "p99": total.get_response_time_percentile(0.99),
                "errors": total.num_failures,
                "requests": total.num_requests,
                "by_kind": {
                    name: (entry.num_requests, entry.get_response_time_percentile(0.95), entry.num_failures)
                    for (name, _), entry in environment.stats.entries.items()
                },
            }
        )
    runner.quit()
    return results


def report(results: list[dict]) -> None:
    print(f"\n{'asked/s':>8} {'done/s':>8} {'p50 ms':>8} {'p95 ms':>8} {'p99 ms':>8} {'errors':>7}")
    for r in results:
        figures = f"{r['throughput']:>8.1f} {r['p50']:>8.0f} {r['p95']:>8.0f} {r['p99']:>8.0f} {r['errors']:>7}"
        print(f"{r['rate']:>8} {figures}")
    print("\np95 per kind of request at each rate (requests, p95 ms, errors):")
    for r in results:
        kinds = "; ".join(f"{name} {n}, {p95:.0f}, {e}" for name, (n, p95, e) in sorted(r["by_kind"].items()))
        print(f"  {r['rate']:>3}/s: {kinds}")
    good = [r for r in results if r["errors"] == 0 and r["p95"] < P95_TARGET_MS]
    if good:
        best = max(good, key=lambda r: r["rate"])
        print(
            f"\nhighest rate sustained with zero errors and p95 < {P95_TARGET_MS} ms: "
            f"{best['rate']} requests/s ({best['throughput']:.1f} done/s, p95 {best['p95']:.0f} ms)"
        )
    else:
        print(f"\nno rate was sustained with zero errors and p95 < {P95_TARGET_MS} ms")


if __name__ == "__main__":
    sys.exit(main())
