"""Every dashboard page on two databases side by side (not a test): does a page cost more as the data grows?

    bench/flatness.py postgres://postgres@127.0.0.1:5432/cxm_bench_dash \\
        postgres://postgres@127.0.0.1:5432/cxm_bench_dash10m [--rounds 6] [--requests 10] [--page LABEL]

The two databases are loaded beforehand by bench/dashboards.py (at 1,000,000 and 10,000,000
experiences, say). One pair of runs minutes apart cannot tell 1.2× on a machine whose speed
drifts by half within minutes, so this runs `bench/dashboards.py --measure-only` on each database
in turn, in rounds, the order reversed every other round, and compares each round's two runs.

Prints each page's p50 on each database (the median of its rounds), the second over the first
round by round, and the median of those ratios; last, the queries a view made on each (they
must be equal: a page reads as many statements whatever the data).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def run(database: str, requests: int, page: str) -> dict[str, tuple[float, int]]:
    """One `bench/dashboards.py --measure-only` on `database`: each computed page's p50 and queries."""
    command = [sys.executable, "bench/dashboards.py", "--measure-only", "--json", "--requests", str(requests)]
    output = subprocess.run(
        [*command, "--page", page],
        cwd=ROOT,
        env={**os.environ, "DATABASE_URL": database},
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    rows = json.loads(output.splitlines()[-1])
    return {label: (p50, queries) for label, p50, _p95, queries in rows if not label.endswith(", cached")}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("first", help="the smaller database's URL (its name must contain 'bench')")
    parser.add_argument("second", help="the larger database's URL")
    parser.add_argument("--rounds", type=int, default=6, help="runs on each database (default 6)")
    parser.add_argument("--requests", type=int, default=10, help="requests a page in each run (default 10)")
    parser.add_argument("--page", default="", help="only the pages whose label contains this")
    args = parser.parse_args()
    databases = [args.first, args.second]
    runs: list[list[dict[str, tuple[float, int]]]] = [[], []]
    for n in range(args.rounds):
        for which in (0, 1) if n % 2 == 0 else (1, 0):
            runs[which].append(run(databases[which], args.requests, args.page))
        print(f"round {n + 1} of {args.rounds} done", file=sys.stderr, flush=True)
    print(f"p50 ms over {args.requests} requests a page, {args.rounds} rounds; second ÷ first per round, and median")
    for label in runs[0][0]:
        first = [r[label][0] for r in runs[0]]
        second = [r[label][0] for r in runs[1]]
        ratios = [b / a for a, b in zip(first, second, strict=True)]
        queries = f"{runs[0][0][label][1]} / {runs[1][0][label][1]} queries"
        print(
            f"  {label:<36} {statistics.median(first):7.1f} {statistics.median(second):7.1f}   "
            f"{' '.join(f'{r:.2f}' for r in ratios)}   median {statistics.median(ratios):.2f}   {queries}"
        )


if __name__ == "__main__":
    main()
