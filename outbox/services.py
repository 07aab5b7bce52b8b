"""The outbox (docs/architecture.md, "After a write"): work owed to a committed write, handed to the broker.

Every write records what must follow it as rows in its own transaction: dirty marks for
rescoring (scoring.models), webhook deliveries with their `next_attempt_at`
(integrations.models) and `OutboxTask` rows for the rest (recovery cases, e-mail). After the
commit the request asks for one `dispatch` without waiting on Redis; `dispatch`, run by a
worker and every few seconds by beat, hands every due row to the broker in bulk. A broker
outage or a lost message therefore costs seconds, never the work.

Rows of a handler in MERGEABLE are handed over in groups and run as one call in one
transaction, so under many small writes the work they owe costs one message, one transaction
and one call per few hundred writes instead of one each (docs/architecture.md, "After a write").
"""

from __future__ import annotations

import logging
import os
import threading
import time
from collections.abc import Iterable, Sequence
from datetime import timedelta
from typing import Any

from django.conf import settings
from django.core.cache import cache
from django.db import transaction
from django.db.models import Case, F, Func, IntegerField, Value, When
from django.db.models.fields.json import KeyTransform
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
# Handlers whose rows may run as one call, and the one list argument the call gets: the rows'
# lists concatenated, sorted and without repeats. Only handlers whose work is all in the database
# (a failed merged call is rolled back and its rows run again one by one) and for which an id
# named twice is the same work once: new experiences appear in one row each. Not merged:
# send_invitations (an e-mail already sent by a failed merged call would go out again) and
# publish_customers_at_risk (a customer named by two rows became at risk twice: two events).
MERGEABLE = {
    "experiences.services.follow_up": "experience_ids",
    "feedback.services.open_cases": "experience_ids",
}
# A merged call takes at most this many ids and rows, so one message stays quick (about the
# largest batch one write may leave) and the work still spreads over the workers.
MERGE_IDS = 1000
MERGE_ROWS = 200
# A dispatched row is due again after this long unless its call finished (and deleted it), so
# a message lost with Redis costs seconds. A second message for the same row does nothing.
LEASE = timedelta(seconds=10)
# Set while a dispatch is queued and not yet started: the writes of every web process in the
# meantime share it, so a busy minute costs a few dispatches, not one per write. It expires on
# its own in case the message is lost (the beat sweep dispatches meanwhile).
DISPATCH_PENDING_KEY = "outbox:dispatch-pending"
DISPATCH_PENDING_SECONDS = 10
# When the last dispatch started (epoch seconds): the next one is sent with a countdown to the end of
# CXM_DISPATCH_INTERVAL_SECONDS, so under a steady flow of writes one dispatch serves many of them.
DISPATCH_STARTED_KEY = "outbox:dispatch-started"
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
    sent while another process's dispatch is still queued (DISPATCH_PENDING_KEY). After each try
    the thread rests for half the dispatch interval: dispatches run at most once per interval
    anyway, and under a stream of single writes the process then asks Redis a few times a
    second instead of once per write. If Redis is slow or down, only this thread waits (the
    Redis timeouts bound each try) and the beat sweep dispatches what it could not.
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
        while True:
            self._wanted.wait()
            self._wanted.clear()
            self._publish()
            time.sleep(settings.CXM_DISPATCH_INTERVAL_SECONDS / 2)

    @staticmethod
    def _publish() -> None:
        from .tasks import dispatch as dispatch_task

        if not cache.add(DISPATCH_PENDING_KEY, 1, timeout=DISPATCH_PENDING_SECONDS):
            return  # a queued dispatch, not started yet, will see this commit
        try:
            dispatch_task.apply_async(
                retry=False,
                countdown=seconds_until_next(DISPATCH_STARTED_KEY, settings.CXM_DISPATCH_INTERVAL_SECONDS),
            )
        except Exception as exc:
            cache.delete(DISPATCH_PENDING_KEY)
            log.warning("could not ask for a dispatch (%s); the beat sweep will dispatch", exc)


_publisher = _Publisher()


def seconds_until_next(started_key: str, interval: float) -> float:
    """How long until `interval` seconds have passed since the run recorded under `started_key` began.

    0 when no run is recorded (or Redis does not answer); never more than half the pending flags'
    life, so a flag cannot expire before its message runs.
    """
    started = cache.get(started_key)
    if started is None:
        return 0.0
    return min(max(0.0, started + interval - time.time()), DISPATCH_PENDING_SECONDS / 2)


def record_start(started_key: str) -> None:
    """Note that a paced run begins now (see `seconds_until_next`)."""
    cache.set(started_key, time.time(), timeout=DISPATCH_PENDING_SECONDS)


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
    """Lease the due outbox rows (skipping those another dispatcher holds) and send them in groups.

    Rows of a MERGEABLE handler share a message up to MERGE_IDS ids and MERGE_ROWS rows; any
    other row gets a message of its own. Returns the number of rows handed over.
    """
    from .tasks import run

    if not queue_has_room(run):
        return 0
    now = timezone.now()
    with transaction.atomic():
        due = list(
            OutboxTask.objects.select_for_update(skip_locked=True)
            .filter(due_at__lte=now)
            .order_by("due_at", "pk")
            .values_list("pk", "handler", _merge_size())[:limit]
        )
        OutboxTask.objects.filter(pk__in=[pk for pk, _handler, _size in due]).update(
            due_at=now + LEASE, attempts=F("attempts") + 1
        )
    send_in_bulk(run, [(group,) for group in _groups(due)])
    return len(due)


def _merge_size() -> Case:
    """How many ids a row adds to a merged call, counted by the database; NULL for a row that runs alone."""
    return Case(
        *(When(handler=handler, then=_ListLength(KeyTransform(key, "kwargs"))) for handler, key in MERGEABLE.items()),
        default=Value(None),
        output_field=IntegerField(),
    )


class _ListLength(Func):
    """The length of a JSON array (NULL when the value is not one)."""

    function = "jsonb_array_length"
    output_field = IntegerField()

    def as_postgresql(self, compiler, connection, **extra_context):
        # jsonb_array_length raises on a scalar: a row whose ids are not a list runs alone
        sql, params = compiler.compile(self.source_expressions[0])
        return f"CASE WHEN jsonb_typeof({sql}) = 'array' THEN jsonb_array_length({sql}) END", (*params, *params)

    def as_sqlite(self, compiler, connection, **extra_context):
        return self.as_sql(compiler, connection, function="json_array_length", **extra_context)


def _groups(due: list[tuple[int, str, int | None]]) -> list[list[int]]:
    """The row ids of each message, in due order: a mergeable handler's rows together up to the caps."""
    groups: list[list[int]] = []
    open_group: dict[str, tuple[list[int], int]] = {}  # handler -> (its group being filled, ids in it)
    for pk, handler, size in due:
        if size is None:
            groups.append([pk])
            continue
        group, ids = open_group.get(handler, ([], 0))
        if group and (ids + size > MERGE_IDS or len(group) >= MERGE_ROWS):
            group, ids = [], 0
        if not group:
            groups.append(group)
        group.append(pk)
        open_group[handler] = (group, ids + size)
    return groups


def run_tasks(*, task_ids: Sequence[int]) -> None:
    """Run the calls of the given outbox rows and delete the rows, in one transaction.

    The rows are locked while their calls run, so a second message for them (a lease that ran
    out while the calls were under way, a redelivery) skips them, and a call's writes commit if
    and only if its rows go: a call is made once. The rows of a MERGEABLE handler make one call
    with their ids together; should it raise, each of its rows runs alone, so a row that fails
    stays owed (due again after the LEASE) while the others complete. The first failure is
    raised once the rest has committed.
    """
    failure: Exception | None = None
    with transaction.atomic():
        rows = list(OutboxTask.objects.select_for_update(skip_locked=True).filter(pk__in=task_ids).order_by("pk"))
        # rows missing here are done already, or under way in another worker
        for group in _merged(rows):
            if len(group) > 1 and _call(group) is None:
                continue
            for row in group:
                failed = _call([row])
                failure = failure or failed
    if failure is not None:
        raise failure


def _merged(rows: list[OutboxTask]) -> list[list[OutboxTask]]:
    """Rows that make one call together: a MERGEABLE handler's rows whose only argument is its list."""
    together: dict[str, list[OutboxTask]] = {}
    alone: list[list[OutboxTask]] = []
    for row in rows:
        key = MERGEABLE.get(row.handler)
        if (
            key is not None
            and isinstance(row.kwargs, dict)
            and list(row.kwargs) == [key]
            and isinstance(row.kwargs[key], list)
        ):
            together.setdefault(row.handler, []).append(row)
        else:
            alone.append([row])
    return [*together.values(), *alone]


def _call(rows: list[OutboxTask]) -> Exception | None:
    """Make the rows' one call and delete them, in a savepoint; the exception if the call raised."""
    handler = rows[0].handler
    try:
        if len(rows) == 1:
            kwargs = rows[0].kwargs
        else:
            key = MERGEABLE[handler]
            kwargs = {key: sorted({i for row in rows for i in row.kwargs[key]})}
        with transaction.atomic():
            import_string(handler)(**kwargs)
            OutboxTask.objects.filter(pk__in=[row.pk for row in rows]).delete()
    except Exception as exc:
        log.warning("outbox %s failed for rows %s: %r", handler, [row.pk for row in rows], exc)
        return exc
    return None


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
