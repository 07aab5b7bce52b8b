"""Load test of the full stack (not a test): staff form posts, API batches and dashboard views.

    .venv/bin/python bench/load.py [--steps 10,20,30,40,50,60] [--seconds 6] \\
        [--web-workers 3] [--web-threads 1] [--pg shared_buffers=128MB ...] [--profile]

Starts its own throwaway PostgreSQL cluster (initdb into a temporary directory, a free port,
`pg_stat_statements` preloaded, the `--pg` settings under evaluation) and Redis (tests/servers.py),
so the machine's shared servers carry none of the load and keep their settings; migrates it, seeds a
small demo data set, collects the static files, starts the Procfile's stack (gunicorn, the workers,
beat) in production mode (DEBUG=0) on a free port of 127.0.0.1, then drives it with locust,
headless, at increasing request rates: every simulated user asks once a second, so N users ask N
requests/s, mixed 3 form posts : 3 API batches of 20 experiences : 4 dashboard views. Per step it
prints the throughput, p50 / p95 / p99 overall and per kind, the errors, and the CPU seconds that
web (gunicorn), worker (Celery) and database (PostgreSQL backends) spent per request; while the load
runs, a probe writes one experience a second and times until the customer's score shows it (the 2 s
freshness goal). Then the top statements by total time, and the highest rate with zero errors and
p95 < 300 ms. `--profile` records the last step's web workers and scoring worker with py-spy into
bench/profiles/. The baseline, measured in the same run: the bare database work of a batch (20 rows
inserted and committed by psycopg2), against which the API batch's p50 is given as a ratio. Traffic
stays on 127.0.0.1, at most MAX_TRAFFIC_SECONDS in all.
"""

from gevent import monkey

monkey.patch_all()

import argparse  # noqa: E402
import json  # noqa: E402
import os  # noqa: E402
import shutil  # noqa: E402
import signal  # noqa: E402
import statistics  # noqa: E402
import subprocess  # noqa: E402
import sys  # noqa: E402
import tempfile  # noqa: E402
import time  # noqa: E402
import uuid  # noqa: E402
from pathlib import Path  # noqa: E402
from random import choice  # noqa: E402
from urllib.parse import urlparse  # noqa: E402

import gevent  # noqa: E402
import gevent.event  # noqa: E402
import psutil  # noqa: E402
import psycopg2  # noqa: E402
import requests  # noqa: E402
from locust import HttpUser, constant_throughput, task  # noqa: E402
from locust.env import Environment  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests.servers import ThrowawayPostgres, ThrowawayRedis, _postgres_bin, free_port  # noqa: E402

VENV_BIN = Path(sys.executable).parent
STACK_LOG = Path(tempfile.gettempdir()) / f"cxm-load-stack-{os.getpid()}.log"
PROFILES = ROOT / "bench" / "profiles"
LOAD_BEFORE = os.getloadavg()
MAX_TRAFFIC_SECONDS = 60
WARM_UP_SECONDS = 2
LOGIN_SECONDS = 30  # users log in before a step's clock starts; logins are not measured
P95_TARGET_MS = 300
FRESH_SECONDS = 2.0  # a write's score must show within this long
FRESHNESS_GIVE_UP_SECONDS = 10.0
FORM, BATCH, DASHBOARD = "form post /log/", "API batch of 20", "dashboard view"
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
    parser.add_argument("--steps", default="10,20,30,40,50,60", help="request rates to try, per second")
    parser.add_argument("--seconds", type=float, default=6, help="measured seconds per step")
    parser.add_argument("--web-workers", type=int, default=3, help="gunicorn workers (WEB_CONCURRENCY)")
    parser.add_argument("--web-threads", type=int, default=1, help="threads per worker; more than 1 is gthread")
    parser.add_argument("--pg", action="append", default=[], help="a PostgreSQL setting, e.g. work_mem=4MB")
    parser.add_argument("--profile", action="store_true", help="py-spy flame graphs of the last step")
    args = parser.parse_args()
    steps = [int(s) for s in args.steps.split(",")]
    if len(steps) * (args.seconds + WARM_UP_SECONDS) > MAX_TRAFFIC_SECONDS:
        parser.error(f"steps × (seconds + {WARM_UP_SECONDS}) must stay within {MAX_TRAFFIC_SECONDS} s")
    name = urlparse(os.environ.get("DATABASE_URL", "")).path.lstrip("/") or "cxm_load"

    postgres, redis = BenchPostgres(), ThrowawayRedis()
    try:
        postgres.start_with(args.pg)
        postgres.create_database(name)
        redis.start()
        env = {
            **os.environ,
            "DATABASE_URL": postgres.url(name),
            "CELERY_BROKER_URL": redis.url(),
            "PATH": f"{VENV_BIN}:{os.environ.get('PATH', '')}",
            "DEBUG": "0",
            "SECRET_KEY": "load-test-" + uuid.uuid4().hex * 2,
            "ALLOWED_HOSTS": "127.0.0.1",
            "SECURE_SSL_REDIRECT": "0",
            "SECURE_COOKIES": "0",
            "CXM_API_THROTTLE_RATE": "100000/minute",
            "AXES_FAILURE_LIMIT": "1000",
            "STATIC_ROOT": str(postgres.directory / "static"),  # not the checkout's: the tests would serve it
        }
        prepare(env)
        data = json.loads(manage(env, "shell", "-c", FIXTURE, capture=True).strip().splitlines()[-1])
        key = manage(env, "create_api_key", "load-test", "--scopes", "all", capture=True).strip().splitlines()[-1]
        port = free_port()
        stack = start_stack(env, port, args.web_workers, args.web_threads)
        statements = Statements(postgres.url(name))
        baseline = statements.raw_write_ms()
        try:
            results = run_steps(
                f"http://127.0.0.1:{port}", key, data, steps, args.seconds, stack, postgres, statements, args.profile
            )
            top = statements.top()
        finally:
            os.killpg(stack.pid, signal.SIGTERM)
            stack.wait(timeout=30)
            statements.close()
    finally:
        postgres.remove()
        redis.remove()
    print(f"\nweb: {args.web_workers} gunicorn workers × {args.web_threads} threads; PostgreSQL: {' '.join(args.pg)}")
    load = f"{LOAD_BEFORE[0]:.1f} before the run, {os.getloadavg()[0]:.1f} after"
    print(f"load average of the machine: {load} ({os.cpu_count()} cores)")
    report(results, top, baseline)
    return 0


class BenchPostgres(ThrowawayPostgres):
    """The tests' throwaway cluster, started with pg_stat_statements and the settings under evaluation."""

    def start_with(self, settings: list[str]) -> None:
        options = " ".join(
            [f"-p {self.port} -c listen_addresses=127.0.0.1 -k {self.directory}",
             "-c shared_preload_libraries=pg_stat_statements -c pg_stat_statements.track=top",
             *(f"-c {setting}" for setting in settings)]
        )  # fmt: skip
        self._run(_postgres_bin("pg_ctl"), "-D", str(self.data), "-l", str(self.directory / "postgres.log"),
                  "-o", options, "-w", "-t", "30", "start")  # fmt: skip

    @property
    def postmaster(self) -> psutil.Process:
        return psutil.Process(int((self.data / "postmaster.pid").read_text().split()[0]))


class Statements:
    """pg_stat_statements of the run's database: reset before the first step, read after the last."""

    def __init__(self, url: str) -> None:
        self.connection = psycopg2.connect(url)
        self.connection.autocommit = True
        with self.connection.cursor() as cursor:
            cursor.execute("CREATE EXTENSION IF NOT EXISTS pg_stat_statements")

    def raw_write_ms(self, seconds: float = 2.0) -> float:
        """Baseline: the median time of the bare database work of a batch (20 rows inserted, committed)."""
        times = []
        with self.connection.cursor() as cursor:
            cursor.execute("CREATE TEMPORARY TABLE raw_baseline (id bigserial, customer int, valence int, note text)")
            until = time.monotonic() + seconds
            while time.monotonic() < until:
                started = time.perf_counter()
                cursor.execute("BEGIN")
                cursor.execute("INSERT INTO raw_baseline (customer, valence, note) SELECT g, g % 3 - 1, 'x' "
                               "FROM generate_series(1, 20) g")  # fmt: skip
                cursor.execute("COMMIT")
                times.append((time.perf_counter() - started) * 1000)
            cursor.execute("DROP TABLE raw_baseline")
        return statistics.median(times)

    def reset(self) -> None:
        with self.connection.cursor() as cursor:
            cursor.execute("SELECT pg_stat_statements_reset()")

    def top(self, limit: int = 12) -> list[tuple]:
        with self.connection.cursor() as cursor:
            cursor.execute(
                "SELECT total_exec_time, calls, mean_exec_time, rows, query FROM pg_stat_statements"
                " WHERE dbid = (SELECT oid FROM pg_database WHERE datname = current_database())"
                " ORDER BY total_exec_time DESC LIMIT %s",
                [limit],
            )
            return cursor.fetchall()

    def close(self) -> None:
        self.connection.close()


def manage(env: dict, *args: str, capture: bool = False) -> str:
    result = subprocess.run(
        [sys.executable, "manage.py", *args], cwd=ROOT, env=env, check=True, text=True, capture_output=capture
    )
    return result.stdout if capture else ""


def prepare(env: dict) -> None:
    print("migrating, seeding and collecting static files…", flush=True)
    manage(env, "migrate", "--noinput", capture=True)
    manage(env, "seed_demo", "--customers", "300", "--experiences", "6000", capture=True)
    manage(env, "collectstatic", "--noinput", capture=True)


def start_stack(env: dict, port: int, workers: int, threads: int) -> subprocess.Popen:
    log = open(STACK_LOG, "wb")  # noqa: SIM115 - lives as long as the stack
    stack = subprocess.Popen(
        [str(VENV_BIN / "honcho"), "start", "--no-colour"],
        cwd=ROOT,
        env={
            **env,
            "HOST": "127.0.0.1",
            "WEB_PORT": str(port),
            "WEB_CONCURRENCY": str(workers),
            "WEB_THREADS": str(threads),
            "BEAT_SCHEDULE": str(STACK_LOG.with_suffix(".beat")),
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


def processes(stack: subprocess.Popen, postgres: BenchPostgres) -> dict[str, list[psutil.Process]]:
    """The stack's processes by role; the database's are the cluster's postmaster and its children."""
    roles: dict[str, list[psutil.Process]] = {"web": [], "worker": [], "database": []}
    for process in psutil.Process(stack.pid).children(recursive=True):
        try:
            command = " ".join(process.cmdline())
        except psutil.Error:
            continue
        if "respawn" in command:
            continue
        if "gunicorn" in command:
            roles["web"].append(process)
        elif "celery" in command and " worker " in command:
            roles["worker"].append(process)
    postmaster = postgres.postmaster
    roles["database"] = [postmaster, *postmaster.children()]
    return roles


def cpu_seconds(roles: dict[str, list[psutil.Process]]) -> dict[str, float]:
    """CPU seconds (user + system) of each role, with the children each process has reaped."""
    totals = {}
    for role, members in roles.items():
        total = 0.0
        for process in members:
            try:
                t = process.cpu_times()
            except psutil.Error:
                continue
            total += t.user + t.system + t.children_user + t.children_system
        totals[role] = total
    return totals


def freshness_probe(host: str, key: str, touchpoint: str, delays: list[float], stop: gevent.event.Event) -> None:
    """Once a second: one experience of a probe customer, then the time until its score counts it."""
    session = requests.Session()
    session.headers["Authorization"] = f"Api-Key {key}"
    customer = f"LOAD-PROBE-{uuid.uuid4().hex[:8]}"
    session.put(f"{host}/api/v1/customers/{customer}/", json={"name": "Load probe"}, timeout=10)
    written = 0
    while not stop.is_set():
        item = {"id": uuid.uuid4().hex, "customer": customer, "touchpoint": touchpoint, "valence": "positive"}
        try:
            if session.post(f"{host}/api/v1/experiences/", json={"experiences": [item]}, timeout=10).ok:
                written += 1
                since = time.monotonic()
                while time.monotonic() - since < FRESHNESS_GIVE_UP_SECONDS:
                    shown = session.get(f"{host}/api/v1/customers/{customer}/", timeout=10).json()
                    counts = (shown.get("score") or {}).get("counts")  # the score's counts by valence
                    if sum(v for v in (counts or {}).values() if isinstance(v, int)) >= written:
                        break
                    gevent.sleep(0.05)
                delays.append(time.monotonic() - since)
        except requests.RequestException:  # the stack stopping at the end of the run
            return
        gevent.sleep(1)


def profile(roles: dict[str, list[psutil.Process]], seconds: float, rate: int) -> list[subprocess.Popen]:
    """py-spy records the web workers and the scoring worker's pool for the step (flame graphs)."""
    py_spy = shutil.which("py-spy") or str(VENV_BIN / "py-spy")
    PROFILES.mkdir(exist_ok=True)
    targets = [(f"web-{n}", p) for n, p in enumerate(p for p in roles["web"] if p.parent() in roles["web"])]
    scoring = [p for p in roles["worker"] if "scoring" in " ".join(p.cmdline())]
    targets += [(f"scoring-worker-{n}", p) for n, p in enumerate(scoring)]
    return [
        subprocess.Popen(
            [
                py_spy,
                "record",
                "--pid",
                str(p.pid),
                "--duration",
                str(int(seconds)),
                "--rate",
                "50",
                "--nonblocking",
                "--output",
                str(PROFILES / f"{name}-{rate}rps.svg"),
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )  # fmt: skip
        for name, p in targets
    ]


def run_steps(
    host: str,
    key: str,
    data: dict,
    steps: list[int],
    seconds: float,
    stack: subprocess.Popen,
    postgres: BenchPostgres,
    statements: Statements,
    with_profile: bool,
) -> list[dict]:
    logged_in = []

    class Manager(HttpUser):
        """A manager between meetings: logs what a customer lived, glances at the dashboards."""

        wait_time = constant_throughput(1)

        def on_start(self) -> None:
            while "csrftoken" not in self.client.cookies:  # a busy machine may time out the first try
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
            logged_in.append(self)

        @task(3)
        def log_experience(self) -> None:
            item = {"customer": choice(data["customers"]), "touchpoint": choice(data["touchpoints"])}
            self.client.post(
                "/log/",
                {**item, "valence": choice(["positive", "neutral", "negative"]), "intensity": "3",
                 "csrfmiddlewaretoken": self.client.cookies["csrftoken"]},
                name=FORM,
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
                name=BATCH,
            )

        @task(4)
        def dashboards(self) -> None:
            self.client.get(choice(["/dashboards/", "/dashboards/logistics/"]), name=DASHBOARD)

    environment = Environment(user_classes=[Manager], host=host)
    runner = environment.create_local_runner()
    roles = processes(stack, postgres)
    delays: list[float] = []
    stop = gevent.event.Event()
    probe = gevent.spawn(freshness_probe, host, key, data["touchpoints"][0], delays, stop)
    statements.reset()
    results = []
    for number, rate in enumerate(steps, start=1):
        runner.start(rate, spawn_rate=rate)
        deadline = time.monotonic() + LOGIN_SECONDS
        while len(logged_in) < rate and time.monotonic() < deadline:
            gevent.sleep(0.2)
        gevent.sleep(WARM_UP_SECONDS)
        roles = processes(stack, postgres)  # backends and pool processes come and go
        environment.stats.reset_all()
        environment.stats.clear_all()
        del delays[:]
        spies = profile(roles, seconds, rate) if with_profile and number == len(steps) else []
        cpu_before, started = cpu_seconds(roles), time.monotonic()
        gevent.sleep(seconds)
        cpu_after, elapsed = cpu_seconds(roles), time.monotonic() - started
        total = environment.stats.total
        requests_done = max(total.num_requests, 1)
        results.append(
            {
                "rate": rate,
                "throughput": total.num_requests / elapsed,
                "p50": total.get_response_time_percentile(0.5),
                "p95": total.get_response_time_percentile(0.95),
                "p99": total.get_response_time_percentile(0.99),
                "errors": total.num_failures,
                "error_kinds": sorted({str(e.error)[:80] for e in environment.stats.errors.values()}),
                "requests": total.num_requests,
                "by_kind": {
                    name: (
                        entry.num_requests,
                        entry.get_response_time_percentile(0.5),
                        entry.get_response_time_percentile(0.95),
                        entry.get_response_time_percentile(0.99),
                        entry.num_failures,
                    )
                    for (name, _), entry in environment.stats.entries.items()
                },
                "cpu": {role: (cpu_after[role] - cpu_before[role]) / requests_done for role in cpu_before},
                "cpu_share": {role: (cpu_after[role] - cpu_before[role]) / elapsed for role in cpu_before},
                "fresh": list(delays),
            }
        )
        for spy in spies:
            spy.wait(timeout=seconds + 30)
    stop.set()
    probe.join(timeout=FRESHNESS_GIVE_UP_SECONDS + 5)
    runner.quit()
    return results


def report(results: list[dict], top: list[tuple], baseline_ms: float) -> None:
    print(f"\n{'asked/s':>8} {'done/s':>8} {'p50 ms':>8} {'p95 ms':>8} {'p99 ms':>8} {'errors':>7}"
          f" {'web ms':>7} {'worker ms':>9} {'db ms':>6} {'fresh ≤2s':>10} {'max s':>6}")  # fmt: skip
    for r in results:
        fresh = r["fresh"]
        within = f"{sum(d <= FRESH_SECONDS for d in fresh)}/{len(fresh)}"
        cpu = r["cpu"]
        print(
            f"{r['rate']:>8} {r['throughput']:>8.1f} {r['p50']:>8.0f} {r['p95']:>8.0f} {r['p99']:>8.0f}"
            f" {r['errors']:>7} {cpu['web'] * 1000:>7.1f} {cpu['worker'] * 1000:>9.1f} {cpu['database'] * 1000:>6.1f}"
            f" {within:>10} {max(fresh, default=0):>6.2f}"
        )
    print("(web / worker / db ms: CPU milliseconds of gunicorn, the Celery workers and PostgreSQL per request)")
    print("\nper kind at each rate (requests, p50 / p95 / p99 ms, errors):")
    for r in results:
        print(f"  {r['rate']:>3}/s:")
        for name, (n, p50, p95, p99, e) in sorted(r["by_kind"].items()):
            print(f"        {name:<16} {n:>5}  {p50:>5.0f} / {p95:>5.0f} / {p99:>5.0f}  {e}")
        busy = ", ".join(f"{role} {share:.2f}" for role, share in r["cpu_share"].items())
        print(f"        cores busy: {busy}")
        for error in r["error_kinds"]:
            print(f"        error: {error}")
    print("\ntop statements by total time over the run (pg_stat_statements):")
    print(f"{'total ms':>10} {'calls':>7} {'mean ms':>8} {'rows':>8}  statement")
    for total_ms, calls, mean_ms, rows, query in top:
        print(f"{total_ms:>10.0f} {calls:>7} {mean_ms:>8.2f} {rows:>8}  {' '.join(query.split())[:110]}")
    print(f"\nraw database baseline (20 rows inserted and committed by psycopg2): {baseline_ms:.2f} ms")
    for r in results:
        batch = r["by_kind"].get(BATCH)
        if batch:
            print(f"  {r['rate']:>3}/s: API batch p50 {batch[1]:.0f} ms = {batch[1] / baseline_ms:.0f}× the raw write")
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
