"""The outbox (docs/architecture.md, "After a write"): work owed to a committed write, handed to the broker.

Every write records what must follow it as rows in its own transaction: dirty marks for
rescoring (scoring.models), webhook deliveries with their `next_attempt_at`
(integrations.models) and `OutboxTask` rows for the rest (recovery cases, e-mail). After the
commit the request asks for one `dispatch` without waiting on Redis; `dispatch`, run by a
worker and every few seconds by beat, hands every due row to the broker in bulk. A broker
outage or a lost message therefore costs seconds, never the work.
"""

from __future__ import annotations

import logging
import os
import threading
from collections.abc import Iterable, Sequence
from datetime import timedelta
from typing import Any

from django.core.cache import cache
from django.db import transaction
from django.db.models import F
from django.utils import timezone
from django.utils.module_loading import import_string

from cxm.celery import app as celery_app

from .models import OutboxTask

log = logging.getLogger(__name__)

# The service functions an outbox row may name: keyword arguments, JSON-able, and quick enough
# to run in one transaction (their writes commit with the deletion of the row).
HANDLERS = frozenset(
    {
        "experiences.services.follow_up",
        "feedback.services.open_cases",
        "feedback.services.send_invitations",
        "integrations.services.publish_customers_at_risk",
    }
)
# A dispatched row is due again after this long unless its call finished (and deleted it), so
# a message lost with Redis costs seconds. A second message for the same row does nothing.
LEASE = timedelta(seconds=10)
# Set while a dispatch is queued and not yet started: the writes of every web process in the
# meantime share it, so a busy minute costs a few dispatches, not one per write. It expires on
# its own in case the message is lost (the beat sweep dispatches meanwhile).
DISPATCH_PENDING_KEY = "outbox:dispatch-pending"
DISPATCH_PENDING_SECONDS = 10
# Rows handed over per dispatch; while the queue already holds this many messages, none are
# added, so a slow consumer is never buried under copies.
DISPATCH_LIMIT = 500


def record(*, handler: str, **kwargs: Any) -> None:
    """Owe one call of `handler(**kwargs)`, stored in the caller's transaction and run by a worker after commit."""
    if handler not in HANDLERS:
        raise ValueError(f"{handler!r} is not an outbox handler; known: {', '.join(sorted(HANDLERS))}")
    OutboxTask.objects.create(handler=handler, kwargs=kwargs)
    wake_after_commit()


def wake_after_commit() -> None:
    """Ask for a dispatch when the current transaction commits (requests in one process share a publish)."""
    transaction.on_commit(wake)


def wake() -> None:
    """Ask a worker to dispatch now. Never waits on Redis: a background thread publishes.

    Without a broker (`make run`, tests) the dispatch runs here and now, so a page shows the
    new score at once.
    """
    if celery_app.conf.task_always_eager:
        dispatch()
        return
    _publisher.request()


class _Publisher:
    """One daemon thread per process publishes the `dispatch` message; requests only set a flag.

    Requests that commit while a publish is under way share the next one, and no message is
    sent while another process's dispatch is still queued (DISPATCH_PENDING_KEY). If Redis is
    slow or down, only this thread waits (the Redis timeouts bound each try) and the beat sweep
    dispatches what it could not.
    """

    def __init__(self) -> None:
        self._wanted = threading.Event()
        self._lock = threading.Lock()
        self._thread: threading.Thread | None = None
        self._pid: int | None = None

    def request(self) -> None:
        self._wanted.set()
        with self._lock:
            if self._pid != os.getpid() or self._thread is None or not self._thread.is_alive():
                self._pid = os.getpid()  # a forked child (gunicorn worker) starts its own thread
                self._thread = threading.Thread(target=self._run, name="outbox-publisher", daemon=True)
                self._thread.start()

    def _run(self) -> None:
        from .tasks import dispatch as dispatch_task

        while True:
            self._wanted.wait()
            self._wanted.clear()
            if not cache.add(DISPATCH_PENDING_KEY, 1, timeout=DISPATCH_PENDING_SECONDS):
                continue  # a queued dispatch, not started yet, will see this commit
            try:
                dispatch_task.apply_async(retry=False)
            except Exception as exc:
                cache.delete(DISPATCH_PENDING_KEY)
                log.warning("could not ask for a dispatch (%s); the beat sweep will dispatch", exc)


_publisher = _Publisher()


def dispatch(*, limit: int = DISPATCH_LIMIT) -> dict[str, int]:
    """Hand every due row to the broker: the rescore, webhook deliveries, outbox tasks."""
    from integrations.services import dispatch_due_deliveries
    from scoring.tasks import enqueue_rescore

    return {
        "tasks": dispatch_due_tasks(limit=limit),
        "deliveries": dispatch_due_deliveries(limit=limit),
        "rescore": int(enqueue_rescore()),
    }


def dispatch_due_tasks(*, limit: int = DISPATCH_LIMIT) -> int:
    """Lease the due outbox rows (skipping those another dispatcher holds) and send one message each."""
    from .tasks import run

    if not queue_has_room(run):
        return 0
    now = timezone.now()
    with transaction.atomic():
        due = list(
            OutboxTask.objects.select_for_update(skip_locked=True)
            .filter(due_at__lte=now)
            .order_by("due_at")
            .values_list("pk", flat=True)[:limit]
        )
        OutboxTask.objects.filter(pk__in=due).update(due_at=now + LEASE, attempts=F("attempts") + 1)
    send_in_bulk(run, [(pk,) for pk in due])
    return len(due)


def run_task(*, task_id: int) -> None:
    """Run one outbox row's call and delete the row, in one transaction.

    The row is locked while its call runs, so a second message for it (a lease that ran out
    while the call was under way, a redelivery) skips it, and the call's writes commit if and
    only if the row goes: a call is made once.
    """
    with transaction.atomic():
        row = OutboxTask.objects.select_for_update(skip_locked=True).filter(pk=task_id).first()
        if row is None:  # done already, or under way in another worker
            return
        import_string(row.handler)(**row.kwargs)
        row.delete()


def queue_has_room(task) -> bool:
    """Whether the queue `task` goes to holds fewer than DISPATCH_LIMIT messages (always, without a broker)."""
    if celery_app.conf.task_always_eager:
        return True
    queue = celery_app.amqp.router.route({}, task.name)["queue"].name
    try:
        with celery_app.pool.acquire(block=True) as conn:
            return conn.default_channel.client.llen(queue) < DISPATCH_LIMIT
    except Exception:
        log.warning("could not measure the %s queue; dispatching nothing this time", queue)
        return False


def send_in_bulk(task, calls: Iterable[Sequence[Any]]) -> None:
    """One message per call over a single broker connection; in-process when there is no broker.

    A failed publish is logged, not raised: the rows stay leased and are dispatched again.
    """
    calls = list(calls)
    if not calls:
        return
    if celery_app.conf.task_always_eager:
        for args in calls:
            task.apply(args=args)
        return
    try:
        with celery_app.producer_or_acquire() as producer:
            for args in calls:
                task.apply_async(args=args, producer=producer, retry=False)
    except Exception as exc:
        log.warning("could not send %d %s messages (%s); sent again after the lease", len(calls), task.name, exc)
