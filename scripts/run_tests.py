"""`make test`: the suite in two halves side by side, one per core, each on databases of its own.

The heavy half (browser, worker, stack and `slow` tests) runs against `<database>_heavy` and the next
Redis database, so its Celery workers, caches and test database never meet the other half's. The
light half streams to the terminal; the heavy half's report follows it. Exit status: the worse of the two.
"""

import os
import subprocess
import sys
import tempfile
from urllib.parse import urlparse, urlunparse

HEAVY = "browser or worker or stack or slow"
NO_TESTS_COLLECTED = 5


def heavy_env(env: dict[str, str]) -> dict[str, str]:
    """The same servers, another PostgreSQL database and the next Redis database."""
    database, broker = urlparse(env["DATABASE_URL"]), urlparse(env["CELERY_BROKER_URL"])
    redis_db = int(broker.path.strip("/") or 0) + 1
    return env | {
        "DATABASE_URL": urlunparse(database._replace(path=f"{database.path}_heavy")),
        "CELERY_BROKER_URL": urlunparse(broker._replace(path=f"/{redis_db}")),
    }


def main(args: list[str]) -> int:
    pytest = [sys.executable, "-m", "pytest"]
    with tempfile.TemporaryFile("w+") as heavy_log:
        heavy = subprocess.Popen(
            [*pytest, "-m", f"not faults and ({HEAVY})", *args],
            env=heavy_env(dict(os.environ)),
            stdout=heavy_log,
            stderr=subprocess.STDOUT,
        )
        light = subprocess.call([*pytest, "-m", f"not faults and not ({HEAVY})", *args])
        heavy.wait()
        heavy_log.seek(0)
        print(f"\n===== browser, worker, stack and slow tests =====\n{heavy_log.read()}", flush=True)
    codes = [code for code in (light, heavy.returncode) if code != NO_TESTS_COLLECTED]
    return max(codes, default=0)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
