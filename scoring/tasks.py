"""Celery tasks that keep the scores current. Thin, idempotent and `acks_late`: the marks in
the database say what to do, so a task run twice, or lost, costs time and never a score."""

from __future__ import annotations

from celery import shared_task
from django.conf import settings
from django.core.cache import cache

from cxm.celery import app
from dashboards.cache import figures_changed
from outbox.services import record_start, seconds_until_next

from .models import CustomerMark, DayMark
from .recompute import RescoreResult, one_rescore_at_a_time, rescore_all, rescore_dirty

# Set while a rescore is queued and not yet started: a burst of writes enqueues one task.
# It expires on its own in case the message is lost, so the next dispatch sends another.
PENDING_KEY = "scoring:rescore-pending"
PENDING_SECONDS = 10
# When the last rescore started (epoch seconds): the next one waits until CXM_RESCORE_INTERVAL_SECONDS
# have passed, so under a steady flow of writes each run takes all that arrived meanwhile and its
# cost per experience falls as the load rises (docs/scoring.md).
STARTED_KEY = "scoring:rescore-started"


def enqueue_rescore() -> bool:
    """Ask for one rescore if any mark is waiting, unless one is already queued; True if it asked.

    Called by the dispatcher (outbox.services.dispatch), on a worker. Without a broker
    (`make run`, eager tests) the rescore runs here and now, so the page that recorded an
    experience already shows the new score.
    """
    if not (CustomerMark.objects.exists() or DayMark.objects.exists()):
        return False
    if app.conf.task_always_eager:
        rescore_dirty_task.apply()
        return True
    if cache.add(PENDING_KEY, 1, timeout=PENDING_SECONDS):
        rescore_dirty_task.apply_async(countdown=seconds_until_next(STARTED_KEY, settings.CXM_RESCORE_INTERVAL_SECONDS))
        return True
    return False


@shared_task(acks_late=True, ignore_result=True)
def rescore_dirty_task() -> dict:
    """Work off every mark, one run at a time; writes that arrive meanwhile enqueue the next run.

    A run that finds another under way waits for it (holding the pending flag, so that the writes
    meanwhile enqueue nothing more) rather than recompute the same customers beside it.
    """
    with one_rescore_at_a_time():
        cache.delete(PENDING_KEY)
        record_start(STARTED_KEY)
        result = rescore_dirty()
    return _summary(result)


def _summary(result: RescoreResult) -> dict:
    """Counts only: a full rescore can put thousands of customers at risk, too many for a log line.

    A run that rescored anything makes the dashboards' cached figures unreachable (dashboards.cache).
    """
    if result.customers or result.days:
        figures_changed()
    return {"customers": result.customers, "days": result.days, "became_at_risk": len(result.became_at_risk)}


@shared_task(acks_late=True, ignore_result=True)
def nightly_rescore() -> dict:
    """Beat, at night: recompute everything, since recovery debt shrinks as memories fade."""
    return _summary(rescore_all())
