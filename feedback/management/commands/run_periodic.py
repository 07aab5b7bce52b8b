"""`manage.py run_periodic`: the beat schedule, run in this process, for `make run` (no Redis, no beat).

`make run` has no broker, so there is no Celery beat to send the periodic tasks; this loop reads
the same schedule (`CELERY_BEAT_SCHEDULE`) and runs each task in-process when it is due, so the
"every minute" survey triggers, the sweeps and the nightly jobs happen there too. Production
runs Celery beat instead (docs/operations.md).
"""

from __future__ import annotations

import logging
import time
from datetime import timedelta

from celery.schedules import schedule as every
from django.conf import settings
from django.core.management.base import BaseCommand
from django.db import close_old_connections

from cxm.celery import app

log = logging.getLogger(__name__)


def due_entries(schedules: dict, last_run: dict) -> tuple[list[str], float]:
    """The entries due now, and how many seconds until the next one is."""
    due, wait = [], 60.0
    for name, entry in schedules.items():
        is_due, next_in = entry.is_due(last_run[name])
        if is_due:
            due.append(name)
        wait = min(wait, next_in)
    return due, max(wait, 1.0)


class Command(BaseCommand):
    help = "Run the periodic tasks of CELERY_BEAT_SCHEDULE in this process, each when it is due (for make run)."

    def add_arguments(self, parser) -> None:
        parser.add_argument("--once", action="store_true", help="run every task once now, then stop")

    def handle(self, *args, once: bool, **options) -> None:
        app.loader.import_default_modules()  # register the tasks of every app (autodiscovery is lazy)
        entries = settings.CELERY_BEAT_SCHEDULE
        schedules = {
            name: s if hasattr(s := conf["schedule"], "is_due") else every(timedelta(seconds=s), app=app)
            for name, conf in entries.items()
        }
        if once:
            for name, conf in entries.items():
                self._run(name, conf["task"])
            return
        started = app.now()
        last_run = dict.fromkeys(schedules, started)
        self.stdout.write(f"Running {len(schedules)} periodic tasks in-process; Ctrl-C stops.")
        while True:
            close_old_connections()  # a long-lived process: drop connections past their age or broken
            due, wait = due_entries(schedules, last_run)
            for name in due:
                self._run(name, entries[name]["task"])
                last_run[name] = app.now()
            time.sleep(wait)

    def _run(self, name: str, task: str) -> None:
        try:
            result = app.tasks[task].apply()
            if result.failed():
                log.warning("periodic task %s failed: %s", name, result.result)
        except Exception:  # one failing job must not stop the others
            log.exception("periodic task %s failed", name)
