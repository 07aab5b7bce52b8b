"""Broker and database faults, measured (not a test): prints the table of the "How it is checked" list.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/cxm_bench CELERY_BROKER_URL=redis://127.0.0.1:6379/1 \\
        .venv/bin/python bench/faults.py [--customers N] [--experiences N] [--skip-rescore] [--skip-tests]

The fault scenarios are the `faults` tests (tests/test_faults.py, tests/test_concurrent_batches.py):
each starts a throwaway PostgreSQL and Redis of its own, breaks only those, and notes its figures.
The machine's own servers are checked by the suite's session fixture (their process ids before and
after). `rescore --all` with and without 10 `customer.at_risk` subscribers runs on the database of
DATABASE_URL (its name must contain "bench": the script empties it), each run in a fresh process so
that its peak memory is its own.
"""

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
import xml.etree.ElementTree as ElementTree
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "cxm.settings")

from bench import data  # noqa: E402

CHECKS = [
    ("Redis restarted 3 times with messages in flight", "keeps_scoring_and_delivering_through_three_redis_restarts"),
    ("CLIENT PAUSE 30000 during ingest", "a_stalled_redis_holds_no_request"),
    ("broker down, 300 negatives, 10 subscribers", "with_the_broker_down_a_write_answers_at_once"),
    ("a receiver that hangs 15 s", "a_hanging_webhook_receiver_does_not_delay_scores"),
    ("2 threads × 50 batches, the same 5,000 customers", "two_threads_creating_the_same_customers"),
    ("the machine's PostgreSQL and Redis", None),
]
SUBSCRIBERS = 10


def run_fault_tests() -> tuple[list[tuple[str, str, str]], int]:
    """Run the `faults` tests; return (check, outcome, figures) rows and pytest's exit code."""
    with tempfile.TemporaryDirectory() as directory:
        figures, junit = Path(directory) / "figures.jsonl", Path(directory) / "junit.xml"
        started = time.monotonic()
        code = subprocess.run(
            [sys.executable, "-m", "pytest", "-m", "faults", "-q", "-p", "no:cacheprovider", f"--junitxml={junit}",
             "tests/test_faults.py", "tests/test_concurrent_batches.py"],
            cwd=ROOT, env={**os.environ, "CXM_FAULTS_FIGURES": str(figures)},
        ).returncode  # fmt: skip
        print(f"fault tests ran in {time.monotonic() - started:.0f} s")
        outcomes: dict[str, str] = {}
        for case in ElementTree.parse(junit).iter("testcase"):
            failed = case.find("failure") is not None or case.find("error") is not None
            outcomes[case.get("name", "")] = (
                "fail" if failed else "skip" if case.find("skipped") is not None else "pass"
            )
        notes = [json.loads(line) for line in figures.read_text().splitlines()] if figures.exists() else []
    rows = []
    for check, fragment in CHECKS:
        if fragment is None:  # the session fixture fails the run if their process ids changed
            rows.append((check, "pass" if code == 0 else "fail", "process ids before = after the run"))
            continue
        name = next((n for n in outcomes if fragment in n), None)
        figure = "; ".join(n["figure"] for n in notes if fragment in n["test"]) or "-"
        rows.append((check, outcomes.get(name or "", "missing"), figure))
    return rows, code


def rescore_child() -> None:
    """In a fresh process: empty the scores, run `rescore --all`, print seconds and peak memory.

    Then write the deliveries the recompute owes, as the events workers would, and time that too.
    """
    import django

    django.setup()
    from integrations.models import WebhookDelivery
    from outbox.models import OutboxTask
    from outbox.services import run_tasks
    from scoring.models import CustomerScore, DailyRollup
    from scoring.recompute import rescore_all

    CustomerScore.objects.all().delete()
    DailyRollup.objects.all().delete()
    WebhookDelivery.objects.all().delete()
    OutboxTask.objects.all().delete()
    started = time.perf_counter()
    result = rescore_all()
    seconds = time.perf_counter() - started
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    outbox_rows = OutboxTask.objects.count()
    started = time.perf_counter()
    for pk in OutboxTask.objects.values_list("pk", flat=True):
        run_tasks(task_ids=[pk])
    fan_out = time.perf_counter() - started
    print(json.dumps({"seconds": seconds, "peak_mb": peak_mb, "at_risk": len(result.became_at_risk),
                      "outbox_rows": outbox_rows, "deliveries": WebhookDelivery.objects.count(),
                      "fan_out_seconds": fan_out}))  # fmt: skip


def rescore_rows(customers: int, experiences: int) -> list[tuple[str, str, str]]:
    data.open_database()
    from integrations.models import WebhookSubscription

    print(f"loading {customers:,} customers and {experiences:,} experiences …")
    data.load(experiences=experiences, customers=customers, days=365)
    runs = {}
    for label, subscribers in (("without subscribers", 0), (f"with {SUBSCRIBERS} subscribers", SUBSCRIBERS)):
        WebhookSubscription.objects.all().delete()
        for n in range(subscribers):
            WebhookSubscription.objects.create(
                url=f"https://crm{n}.example/hooks", events=["customer.at_risk"], secret="s" * 32
            )
        output = subprocess.run(
            [sys.executable, __file__, "--rescore-child"], cwd=ROOT, capture_output=True, text=True, check=True
        ).stdout
        runs[label] = json.loads(output.strip().splitlines()[-1])
        print(f"  rescore --all {label}: {runs[label]}")
    WebhookSubscription.objects.all().delete()
    plain, loaded = runs.values()
    time_ratio, memory_ratio = loaded["seconds"] / plain["seconds"], loaded["peak_mb"] / plain["peak_mb"]
    figure = (
        f"{plain['seconds']:.1f} s / {plain['peak_mb']:.0f} MB → "
        f"{loaded['seconds']:.1f} s / {loaded['peak_mb']:.0f} MB "
        f"({loaded['at_risk']:,} at risk, {loaded['outbox_rows']:,} outbox rows): ×{time_ratio:.2f} time, "
        f"×{memory_ratio:.2f} memory; then {loaded['deliveries']:,} deliveries written by the events workers "
        f"in {loaded['fan_out_seconds']:.1f} s"
    )
    ok = time_ratio <= 1.2 and memory_ratio <= 1.2
    check = f"rescore --all, {customers:,} customers, {SUBSCRIBERS} at-risk subscribers"
    return [(check, "pass" if ok else "fail", figure)]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--customers", type=int, default=100_000)
    parser.add_argument("--experiences", type=int, default=300_000)
    parser.add_argument("--skip-rescore", action="store_true", help="only the fault tests")
    parser.add_argument("--skip-tests", action="store_true", help="only the rescore with subscribers")
    parser.add_argument("--rescore-child", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.rescore_child:
        rescore_child()
        return
    rows: list[tuple[str, str, str]] = []
    if not args.skip_tests:
        rows += run_fault_tests()[0]
    if not args.skip_rescore:
        rows += rescore_rows(args.customers, args.experiences)
    width = max(len(check) for check, _, _ in rows)
    print(f"\n{'check':<{width}}  result  figures")
    for check, outcome, figure in rows:
        print(f"{check:<{width}}  {outcome:<6}  {figure}")


if __name__ == "__main__":
    main()
