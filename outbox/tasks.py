"""Celery tasks of the outbox: the dispatcher (scoring queue: it is quick) and the runner of outbox rows."""

from celery import shared_task
from django.core.cache import cache

from . import services


@shared_task(acks_late=True, ignore_result=True)
def dispatch() -> dict:
    """After a write, and every few seconds from beat: hand every due row to the broker.

    Writes that commit from now on ask for the next dispatch (services.DISPATCH_PENDING_KEY).
    """
    cache.delete(services.DISPATCH_PENDING_KEY)
    services.record_start(services.DISPATCH_STARTED_KEY)
    return services.dispatch()


@shared_task(acks_late=True, ignore_result=True)
def run(task_ids: list[int] | int) -> None:
    """Run a group of outbox rows (services.run_tasks).

    A single id is a message sent before rows were handed over in groups, still queued across a deploy.
    """
    services.run_tasks(task_ids=[task_ids] if isinstance(task_ids, int) else task_ids)
