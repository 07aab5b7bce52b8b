"""Celery tasks of the experiences app: thin, idempotent, safe to run twice."""

from celery import shared_task

from . import partitions


@shared_task(acks_late=True)
def keep_partitions() -> dict[str, int]:
    """Daily: the months ahead, and a partition for any month found in the default one."""
    report = partitions.keep_partitions()
    return {"created": len(report.created), "moved": report.moved}
