"""Two checkouts' single POST side by side (not a test): which code costs a request less, on a noisy machine.

    git worktree add /tmp/before <commit>
    BENCH_DATABASE_URL=postgres://postgres@127.0.0.1:5432/cxm_bench .venv/bin/python bench/compare.py \\
        /tmp/before . [--rounds 12] [--seconds 3] [--view cxm|textbook]

The speed of this kind of machine drifts by half within minutes, so two runs of bench/ingest.py
minutes apart cannot tell a 10 % change. This starts one gunicorn per checkout (2 sync workers
each, bench.settings, on the same database as bench/ingest.py) and sends the same single-POST
load (concurrency 4) to each in turn, in short rounds, the order reversed every other round. A
round's two figures meet the same machine, so their ratio holds when the machine drifts.

Prints, for each checkout, the medians of its rounds: requests/s, p95, and the CPU each request
cost its web workers and the database's PostgreSQL backends (shared by both servers: each
round's figure is taken while only its server is loaded); then the second checkout's figures
over the first's, round by round, and their medians. The load, the data and the baseline are
bench/ingest.py's.
"""

from __future__ import annotations

import argparse
import statistics
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench import ingest  # noqa: E402

MEASURES = ("requests/s", "web CPU ms", "PostgreSQL CPU ms")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("first", type=Path, help="the checkout to compare against (e.g. a worktree of the old commit)")
    parser.add_argument("second", type=Path, help="the checkout under test")
    parser.add_argument("--rounds", type=int, default=12, help="rounds per checkout (default 12)")
    parser.add_argument("--seconds", type=float, default=3, help="length of each round (default 3)")
    parser.add_argument("--view", choices=ingest.PATHS, default="cxm", help="the app's endpoint or the textbook view")
    args = parser.parse_args()
    checkouts = [args.first.resolve(), args.second.resolve()]
    key, _load_seconds = ingest.prepare(1_000_000, 100_000)
    ids = ingest.catalogue_ids(key)
    ports = [ingest.free_port() for _checkout in checkouts]
    # By position, not by path: a checkout compared with itself (an A/A run) gets two servers.
    servers = [
        (port, ingest.start_gunicorn(port, root=checkout)) for port, checkout in zip(ports, checkouts, strict=True)
    ]
    figures: list[dict[str, list[float]]] = [{m: [] for m in (*MEASURES, "p95")} for _checkout in checkouts]
    try:
        for port, _server in servers:  # warm each worker's catalogue, connections and code
            client = ingest.Client(port, key)
            for body in ingest.single_bodies(args.view, 40, ids):
                client.post(ingest.PATHS[args.view], body)
        for n in range(args.rounds):
            for which in (0, 1) if n % 2 == 0 else (1, 0):
                port, server = servers[which]
                bodies = ingest.single_bodies(args.view, int(args.seconds * 2000), ids)
                rate, latencies, web, database = ingest.single_round(
                    server, port, key, ingest.PATHS[args.view], bodies, args.seconds
                )
                round_figures = figures[which]
                round_figures["requests/s"].append(rate)
                round_figures["web CPU ms"].append(web / len(latencies) * 1000)
                round_figures["PostgreSQL CPU ms"].append(database / len(latencies) * 1000)
                round_figures["p95"].append(ingest.percentile(latencies, 95))
    finally:
        for _port, server in servers:
            server.terminate()
            server.wait(timeout=30)
    print(f"single POST to the {args.view} view, concurrency 4, {args.rounds} rounds of {args.seconds:.0f} s each:")
    for checkout, checkout_figures in zip(checkouts, figures, strict=True):
        medians = {name: statistics.median(values) for name, values in checkout_figures.items()}
        print(
            f"    {checkout}: {medians['requests/s']:,.0f} req/s, p95 {medians['p95']:.1f} ms, CPU per request: "
            f"web workers {medians['web CPU ms']:.2f} ms, PostgreSQL {medians['PostgreSQL CPU ms']:.2f} ms"
        )
    first, second = figures
    for name in MEASURES:
        ratios = [b / a for a, b in zip(first[name], second[name], strict=True)]
        print(
            f"    second / first, {name}: median {statistics.median(ratios):.2f} "
            f"(rounds: {', '.join(f'{r:.2f}' for r in ratios)})"
        )


if __name__ == "__main__":
    main()
