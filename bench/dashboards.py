"""Benchmark of the dashboard pages (not a test): 1,000,000 experiences for 100,000 customers in PostgreSQL.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/cxm_bench_dash .venv/bin/python bench/dashboards.py \\
        [--experiences N] [--customers N] [--answers N] [--requests N] [--reuse | --measure-only] \\
        [--page LABEL] [--queries]

Creates the database if needed (its name must contain "bench": the script empties it), loads a
year of experiences with set-based SQL (emotions, expectations, outcomes, staff who logged them),
gives customer C-1 200 more through the app's write path (the timeline shown: a full page at any size),
computes the scores and rollups with the real `rescore_all`, loads 100,000 survey answers (NPS,
CSAT, CES, one in ten with a theme; INSERT … SELECT from a random sample of the experiences) and
builds the daily survey rollups with the real `roll_up_surveys`, printing how long each step
took. Then it requests every dashboard page in-process through Django's test client and prints,
per page, the server time p50 / p95 and the number of SQL queries, and last the survey scores of
a year read from the answers themselves (the raw-database baseline) against the same figures read
from the rollups, with their ratio. `--reuse` keeps the experiences of an earlier run (migrating
the schema if needed) and reloads the answers; `--measure-only` loads nothing and measures the pages
of what an earlier run left (`--page` picks pages by label, `--queries` prints each query's median
time, to compare two databases or two versions of the code page by page; `--no-freeze` measures without
the garbage collector setting of the web workers; `--json` ends with the figures as one line of JSON, which
bench/flatness.py reads). Drop the database afterwards:
`dropdb -h 127.0.0.1 -U postgres cxm_bench_dash`.
"""

import argparse
import gc
import json
import os
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "cxm.settings")

from bench import data  # noqa: E402

STAFF = 40
TARGET_P95_MS = 150
TARGET_QUERIES = 20
# The customer whose timeline the bench shows, with as many experiences at every data size: the busiest of
# randomly spread experiences has more of them the more customers there are (26 at 1M, 33 at 10M).
REGULAR = "C-1"
REGULAR_EXPERIENCES = 200


def load(experiences: int, customers: int) -> None:
    """A year of experiences, 40 % logged by staff, three journeys; scores and rollups by `rescore_all`."""
    from django.db import connection

    from accounts.models import Role
    from scoring.recompute import rescore_all
    from tests.factories import UserFactory
    from touchpoints.models import Department

    data.load(experiences=experiences, customers=customers, days=365, staff=STAFF, journeys=3)
    departments = Department.objects.order_by("code")[:2]
    UserFactory(username="bench-manager", role=Role.MANAGER, departments=list(departments))
    UserFactory(username="bench-admin", role=Role.ADMIN)
    add_regular()
    rescore_all()
    with connection.cursor() as cursor:
        cursor.execute("VACUUM ANALYZE")


def add_regular() -> None:
    """`REGULAR_EXPERIENCES` more experiences of `REGULAR`, spread over the year at department-0's touchpoint,
    through the app's own write path: the timeline shows a full page over a year, and a third of one over
    30 days, whatever the size of the data."""
    from datetime import timedelta

    from django.utils import timezone

    from experiences.services import record_experiences

    now = timezone.now()
    items = [
        {
            "customer": REGULAR,
            "touchpoint": "touchpoint-0",
            "valence": ("negative", "neutral", "positive")[n % 3],
            "occurred_at": (now - timedelta(days=364 * n / REGULAR_EXPERIENCES)).isoformat(),
        }
        for n in range(REGULAR_EXPERIENCES)
    ]
    result = record_experiences(items=items, source="import")
    assert result.accepted == REGULAR_EXPERIENCES, [r.errors for r in result.results if r.errors]


def load_answers(answers: int) -> None:
    """Survey answers on as many experiences, spread over the year: an invitation and a response each.

    One survey of each kind per touchpoint group (touchpoint id mod 3); scores drawn per kind;
    30 themes, each mentioned by about 1 answer in 30. Earlier answers, surveys and themes go first.
    """
    from django.db import connection

    from feedback.models import ExperienceTheme, Invitation, Response, Survey, Theme
    from touchpoints.models import Touchpoint

    with connection.cursor() as cursor:
        cursor.execute("TRUNCATE feedback_survey, feedback_theme CASCADE")
    touchpoints = list(Touchpoint.objects.order_by("pk")[:3])
    surveys = [
        Survey.objects.create(slug=f"bench-{kind}", name=f"Bench {kind}", kind=kind, touchpoint=t)
        for kind, t in zip(("nps", "csat", "ces"), touchpoints, strict=True)
    ]
    Theme.objects.bulk_create([Theme(phrase=f"theme {n}", language="en") for n in range(30)])
    tables = {m: connection.ops.quote_name(m._meta.db_table) for m in (Invitation, Response, ExperienceTheme)}
    with connection.cursor() as cursor:
        cursor.execute(
            """
            CREATE TEMP TABLE bench_answer AS
            SELECT x.id AS experience_id, x.customer_id, x.occurred_at,
                   (ARRAY[%s, %s, %s])[1 + x.touchpoint_id %% 3] AS survey_id, x.touchpoint_id %% 3 AS kind
            FROM experiences_experience x ORDER BY random() LIMIT %s
            """,
            [s.pk for s in surveys] + [answers],
        )
        cursor.execute(
            f"""
            INSERT INTO {tables[Invitation]} (survey_id, customer_id, experience_id, touchpoint_id, department_id,
                                              channel, created_at, expires_at, sent_at, answered_at)
            SELECT a.survey_id, a.customer_id, a.experience_id, x.touchpoint_id, x.department_id, 'email',
                   a.occurred_at - interval '1 day', a.occurred_at + interval '13 days',
                   a.occurred_at - interval '1 day', a.occurred_at
            FROM bench_answer a JOIN experiences_experience x ON x.id = a.experience_id
            """
        )
        cursor.execute(
            f"""
            INSERT INTO {tables[Response]} (invitation_id, survey_id, customer_id, score, comment,
                                            follow_up_answer, language, flagged, experience_id, department_id,
                                            created_at)
            SELECT i.id, i.survey_id, i.customer_id,
                   CASE a.kind WHEN 0 THEN floor(random() * 11) WHEN 1 THEN 1 + floor(random() * 5)
                               ELSE 1 + floor(random() * 7) END,
                   '', '', 'en', false, i.experience_id, x.department_id, i.answered_at
            FROM {tables[Invitation]} i JOIN bench_answer a ON a.experience_id = i.experience_id
            JOIN experiences_experience x ON x.id = a.experience_id
            """
        )
        cursor.execute(
            f"""
            INSERT INTO {tables[ExperienceTheme]} (experience_id, theme_id)
            SELECT a.experience_id, (SELECT min(id) FROM feedback_theme) + a.experience_id %% 30
            FROM bench_answer a WHERE random() < 0.1
            """,
            [],  # with parameters, so that %% is read as %
        )
        cursor.execute("DROP TABLE bench_answer")


def roll_up_answers() -> None:
    """The daily survey rollups of every day, as `rescore_all` builds them."""
    from django.db import connection, transaction

    from feedback.rollups import roll_up_surveys

    with transaction.atomic():
        roll_up_surveys(days=None)
    with connection.cursor() as cursor:
        # As autovacuum leaves them within a minute of the inserts: statistics, and the visibility map
        # that lets the pages read the rollups' covering indexes alone.
        cursor.execute("VACUUM ANALYZE")


def pages() -> list[tuple[str, str, str]]:
    """(label, user, url) for every page at a short and a long period."""
    result = []
    for period in ("30", "365"):
        result += [
            (f"company, {period} days (admin)", "bench-admin", f"/dashboards/?period={period}"),
            (f"company, {period} days (manager)", "bench-manager", f"/dashboards/?period={period}"),
            (f"department, {period} days", "bench-manager", f"/dashboards/department-0/?period={period}"),
            (f"department via htmx, {period} days", "bench-manager", f"/dashboards/department-0/?period={period}&hx"),
            (f"customer timeline, {period} days", "bench-manager", f"/customers/{REGULAR}/?period={period}"),
            (f"journey map, {period} days", "bench-admin", f"/journeys/journey-0/?period={period}"),
        ]
    result.append(("answers page, 90 days (manager)", "bench-manager", "/cases/answers/"))
    return result


def measure(
    requests: int, *, only: str = "", every_query: bool = False, freeze: bool = True
) -> list[tuple[str, float, float, int]]:
    """Each page `requests` times with its figures computed (the figures cache emptied before each view),
    then as often from the cache (docs/dashboards.md, "The cache"). `only`: the pages whose label
    contains it; `every_query`: print the median time of each query of a computed view, not only the slowest.

    Like a gunicorn worker (cxm/gunicorn.conf.py, `post_request`), the process freezes what its first
    requests loaded (one view of each page) out of the garbage collector's full collections, unless
    `freeze` is False; it prints the full collections that ran while it measured, and the longest.
    """
    from django.core.cache import cache
    from django.db import connection
    from django.test import Client

    from accounts.models import User

    clients = {}
    for username in ("bench-admin", "bench-manager"):
        clients[username] = Client()
        clients[username].force_login(User.objects.get(username=username))
    chosen = [(label, username, url) for label, username, url in pages() if only in label]
    for _, username, url in chosen:
        clients[username].get(url, headers={"HX-Request": "true"} if url.endswith("&hx") else {})
    if freeze:
        gc.collect()
        gc.freeze()
    full_collections: list[float] = []  # ms
    collection_began: dict[str, float] = {}

    def timed_collection(phase: str, info: dict) -> None:
        if info["generation"] == 2:
            if phase == "start":
                collection_began["at"] = time.perf_counter()
            else:
                full_collections.append((time.perf_counter() - collection_began["at"]) * 1000)

    gc.callbacks.append(timed_collection)
    rows = []
    for label, username, url in chosen:
        client = clients[username]
        headers = {"HX-Request": "true"} if url.endswith("&hx") else {}
        for _ in range(3):  # warm the caches of PostgreSQL and Django's templates
            client.get(url, headers=headers)
        for cached in (False, True):
            times: list[float] = []
            queries: list[tuple[float, str]] = []  # (ms, SQL) of every query, in order

            def timed(execute, sql, params, many, context, queries=queries):
                began = time.perf_counter()
                try:
                    return execute(sql, params, many, context)
                finally:
                    queries.append(((time.perf_counter() - began) * 1000, sql))

            with connection.execute_wrapper(timed):
                for _ in range(requests):
                    if not cached:
                        cache.clear()
                    start = time.perf_counter()
                    response = client.get(url, headers=headers)
                    times.append((time.perf_counter() - start) * 1000)
                    assert response.status_code == 200, (url, response.status_code)
            count = len(queries) // requests
            # The same queries run in the same order each time: the median of each.
            medians = [statistics.median(ms for ms, _ in queries[i::count]) for i in range(count)]
            p50 = statistics.median(times)
            p95 = statistics.quantiles(times, n=20)[18]
            name = f"{label}{', cached' if cached else ''}"
            rows.append((name, p50, p95, count))
            flag = "" if p95 < TARGET_P95_MS and count <= TARGET_QUERIES else "  <-- over target"
            print(f"  {name:<46} p50 {p50:7.1f} ms   p95 {p95:7.1f} ms   {count:3d} queries{flag}", flush=True)
            if cached:
                continue
            if every_query:
                print(f"      queries (median ms, in order; together {sum(medians):.1f} ms):", flush=True)
                for ms, (_, sql) in zip(medians, queries, strict=False):
                    print(f"      {ms:6.1f} ms: {_short(sql)}", flush=True)
            else:
                ms, slowest = max(zip(medians, range(count), strict=True))
                print(f"      slowest query (median) {ms:.1f} ms: {_short(queries[slowest][1])}", flush=True)
    gc.callbacks.remove(timed_collection)
    longest = f", the longest {max(full_collections):.0f} ms" if full_collections else ""
    state = "frozen" if freeze else "not frozen"
    print(f"full collections of the garbage collector ({state} after warming up): {len(full_collections)}{longest}")
    return rows


def _short(sql: str) -> str:
    return " ".join(sql.split())[:110]


# The survey scores of a period as the dashboards computed them before the rollups: from the answers.
FROM_ANSWERS_SQL = """
    SELECT x.department_id, s.kind, COUNT(*),
           COUNT(*) FILTER (WHERE (s.kind = 'nps' AND r.score >= 9) OR (s.kind = 'csat' AND r.score >= 4)
                                  OR (s.kind = 'ces' AND r.score >= 6)),
           COUNT(*) FILTER (WHERE (s.kind = 'nps' AND r.score <= 6) OR (s.kind = 'csat' AND r.score <= 2)
                                  OR (s.kind = 'ces' AND r.score <= 3)),
           SUM(r.score), SUM(r.score * r.score)
      FROM feedback_response r
      JOIN experiences_experience x ON x.id = r.experience_id
      JOIN feedback_survey s ON s.id = r.survey_id
     WHERE x.occurred_on BETWEEN %s AND %s
     GROUP BY x.department_id, s.kind
"""


def baseline(requests: int) -> None:
    """A year's survey scores per department: read from the answers (raw SQL) and from the rollups (the app)."""
    from datetime import timedelta

    from django.db import connection
    from django.utils import timezone

    from feedback.survey_scores import survey_scores

    end = timezone.localdate()
    start = end - timedelta(days=364)

    def timed(run) -> tuple[float, object]:
        times, result = [], None
        for _ in range(3 + requests):
            began = time.perf_counter()
            result = run()
            times.append((time.perf_counter() - began) * 1000)
        return statistics.median(times[3:]), result

    def from_answers():
        with connection.cursor() as cursor:
            cursor.execute(FROM_ANSWERS_SQL, [start, end])
            return {(d, k): tuple(rest) for d, k, *rest in cursor.fetchall()}

    def from_rollups():
        return {
            (d, k): (s.responses, s.positives, s.negatives, s.total, s.squares)
            for d, scores in survey_scores(by="department", start=start, end=end, department_ids=None).items()
            for k, s in scores.items()
        }

    raw_ms, raw = timed(from_answers)
    app_ms, app = timed(from_rollups)
    assert raw == app, "the rollups disagree with the answers"
    print(
        f"survey scores of 365 days per department (median of {requests}): from the answers (raw SQL) "
        f"{raw_ms:.1f} ms, from the rollups {app_ms:.1f} ms: rollups / answers = {app_ms / raw_ms:.2f}",
        flush=True,
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--experiences", type=int, default=1_000_000)
    parser.add_argument("--customers", type=int, default=100_000)
    parser.add_argument("--answers", type=int, default=100_000)
    parser.add_argument("--requests", type=int, default=40)
    parser.add_argument(
        "--reuse", action="store_true", help="keep the experiences of an earlier run; the answers are reloaded"
    )
    parser.add_argument(
        "--measure-only", action="store_true", help="load nothing: measure the pages of the data an earlier run left"
    )
    parser.add_argument("--page", default="", help="only the pages whose label contains this")
    parser.add_argument("--queries", action="store_true", help="print every query's median, not only the slowest")
    parser.add_argument(
        "--no-freeze", action="store_true", help="leave what the first requests loaded to the full collections"
    )
    parser.add_argument(
        "--json", action="store_true", help="with --measure-only: last, one line of JSON (label, p50, p95, queries)"
    )
    args = parser.parse_args()
    data.open_database()
    from django.conf import settings

    settings.ALLOWED_HOSTS = [*settings.ALLOWED_HOSTS, "testserver"]
    if args.measure_only:
        rows = measure(args.requests, only=args.page, every_query=args.queries, freeze=not args.no_freeze)
        if args.json:
            print(json.dumps(rows))
        return
    if args.reuse:
        from django.core.management import call_command

        call_command("migrate", verbosity=0)
    else:
        start = time.perf_counter()
        load(args.experiences, args.customers)
        print(
            f"loaded {args.experiences:,} experiences for {args.customers:,} customers, scores and rollups "
            f"in {time.perf_counter() - start:.0f} s",
            flush=True,
        )
    start = time.perf_counter()
    load_answers(args.answers)
    loaded = time.perf_counter()
    roll_up_answers()
    print(
        f"loaded {args.answers:,} survey answers in {loaded - start:.1f} s, "
        f"their daily rollups built in {time.perf_counter() - loaded:.1f} s",
        flush=True,
    )
    targets = f"p95 < {TARGET_P95_MS} ms, ≤ {TARGET_QUERIES} queries"
    print(f"server time over {args.requests} requests per page (targets: {targets})")
    measure(args.requests, only=args.page, every_query=args.queries, freeze=not args.no_freeze)
    baseline(args.requests)


if __name__ == "__main__":
    main()
