"""CPU per request kind of the load mix (not a test): the Django side and the PostgreSQL backend, apart.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/cxm_bench_costs CELERY_BROKER_URL=redis://127.0.0.1:6379/15 \\
        .venv/bin/python bench/request_costs.py [--requests 200]

`bench/load.py` gives the CPU per request of each process over the whole mix; this gives it per
kind of request. It creates the database if needed (its name must contain "bench": the script
empties it), seeds the same demo data as `bench/load.py` (300 customers, 6,000 experiences),
then sends each kind of request `--requests` times through Django's test client in this process,
as the demo manager: a staff form post, an API batch of 20, a company and a department page
(served from the dashboards' cache, as most views are under load). Per kind it prints the CPU
this process spent (the view, middleware, templates and ORM: what a gunicorn worker spends,
without HTTP parsing), the CPU of its PostgreSQL backend (from /proc), and the wall time. The
scoring that writes trigger runs later, on the workers, coalesced across requests: it is not in
these figures (no worker consumes the broker's queue here). Baseline of the same run: the bare
database work of a batch, 20 rows inserted and committed by this connection.
Drop the database afterwards: `dropdb -h 127.0.0.1 -U postgres cxm_bench_costs`.
"""

import argparse
import io
import os
import random
import statistics
import sys
import time
import uuid
from collections.abc import Callable
from contextlib import redirect_stderr
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "cxm.settings")

from bench import data  # noqa: E402

TICK = os.sysconf("SC_CLK_TCK")


def backend_cpu_seconds() -> float:
    """CPU seconds (user + system) of this connection's PostgreSQL backend so far (same machine only)."""
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_backend_pid()")
        pid = cursor.fetchone()[0]
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / TICK


def raw_write_ms(rounds: int = 200) -> float:
    """The median time of 20 rows inserted and committed by this connection: the raw database baseline."""
    from django.db import connection

    times = []
    with connection.cursor() as cursor:
        cursor.execute("CREATE TEMPORARY TABLE raw_baseline (id bigserial, customer int, valence int, note text)")
        for _ in range(rounds):
            started = time.perf_counter()
            cursor.execute("BEGIN")
            cursor.execute(
                "INSERT INTO raw_baseline (customer, valence, note) "
                "SELECT g, g % 3 - 1, 'x' FROM generate_series(1, 20) g"
            )
            cursor.execute("COMMIT")
            times.append((time.perf_counter() - started) * 1000)
        cursor.execute("DROP TABLE raw_baseline")
    return statistics.median(times)


def kinds() -> dict[str, Callable[[], None]]:
    """The load mix's kinds of request, each one call of it; the data and the clients they use."""
    from django.core.management import call_command
    from django.test import Client

    from accounts.models import User
    from customers.models import Customer
    from integrations.services import create_api_key
    from touchpoints.models import Touchpoint

    call_command("flush", interactive=False, verbosity=0)
    call_command("seed_demo", customers=300, experiences=6000, stdout=io.StringIO())
    with redirect_stderr(io.StringIO()):  # the progress bar
        call_command("rescore", all=True, stdout=io.StringIO())
    customers = list(Customer.objects.order_by("pk").values_list("external_id", flat=True)[:200])
    touchpoints = list(
        Touchpoint.objects.filter(active=True, departments__code="logistics").values_list("code", flat=True).distinct()
    )
    _, key = create_api_key(name="bench", scopes=["experiences:write"])
    manager, integration = Client(), Client()
    manager.force_login(User.objects.get(username="demo-manager"))

    def form_post() -> None:
        item = {"customer": random.choice(customers), "touchpoint": random.choice(touchpoints)}
        response = manager.post("/log/", {**item, "valence": random.choice(["positive", "negative"]), "intensity": "3"})
        assert response.status_code == 302, response.status_code

    def api_batch() -> None:
        items = [
            {"id": uuid.uuid4().hex, "customer": random.choice(customers), "touchpoint": random.choice(touchpoints),
             "valence": random.choice(["positive", "neutral", "negative"])}
            for _ in range(20)
        ]  # fmt: skip
        response = integration.post(
            "/api/v1/experiences/",
            {"experiences": items},
            content_type="application/json",
            HTTP_AUTHORIZATION=f"Api-Key {key}",
        )
        assert response.status_code in (200, 201, 207), response.status_code

    def page(url: str) -> Callable[[], None]:
        def view() -> None:
            assert manager.get(url).status_code == 200

        return view

    return {
        "form post /log/": form_post,
        "API batch of 20": api_batch,
        "company page (cached)": page("/dashboards/"),
        "department page (cached)": page("/dashboards/logistics/"),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=200)
    args = parser.parse_args()
    data.open_database()
    from django.conf import settings
    from django.core.management import call_command

    settings.ALLOWED_HOSTS = [*settings.ALLOWED_HOSTS, "testserver"]
    settings.DEBUG = False  # no query log, as in production (the templates keep `make run`'s settings)
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"  # the demo's mails, kept quiet
    call_command("migrate", verbosity=0)
    print(f"load average of the machine: {os.getloadavg()[0]:.1f} (2 cores)", flush=True)
    baseline = raw_write_ms()
    for name, request in kinds().items():
        for _ in range(10):  # warm the caches: templates, the catalogue, the dashboards' figures
            request()
        cpu, database, started = time.process_time(), backend_cpu_seconds(), time.perf_counter()
        for _ in range(args.requests):
            request()
        n = args.requests
        web_ms = (time.process_time() - cpu) / n * 1000
        database_ms = (backend_cpu_seconds() - database) / n * 1000
        wall_ms = (time.perf_counter() - started) / n * 1000
        print(
            f"  {name:<26} CPU ms per request: Django {web_ms:5.1f}, PostgreSQL {database_ms:5.1f}; "
            f"wall {wall_ms:5.1f} ms = {wall_ms / baseline:4.1f} × the raw write",
            flush=True,
        )
    print(f"raw database baseline (20 rows inserted and committed): {baseline:.2f} ms")


if __name__ == "__main__":
    main()
