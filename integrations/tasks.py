"""Celery tasks of the integrations app: thin, idempotent, safe to run twice."""

from celery import shared_task

from . import services


@shared_task(bind=True, acks_late=True, ignore_result=True, max_retries=None)
def deliver_webhook(self, delivery_id: int):
    """Send one webhook delivery; on failure schedule the next attempt with exponential backoff.

    The delivery row counts the attempts and decides when to give up, so a retry that is
    scheduled (rather than raised) also works when tasks run in-process.
    """
    wait = services.attempt_delivery(delivery_id=delivery_id)
    if wait is not None:
        return self.retry(countdown=wait, throw=False)
    return None


@shared_task(acks_late=True)
def retry_pending_deliveries() -> int:
    """Periodic: re-enqueue deliveries whose Celery message was lost (the database keeps them)."""
    ids = services.stalled_deliveries()
    services.enqueue_deliveries(ids)
    return len(ids)


@shared_task(acks_late=True, ignore_result=True)
def run_import_job(job_id: int) -> None:
    """Import one uploaded CSV; the job row says whether it still needs doing, so twice is harmless."""
    services.run_import_job(job_id=job_id)


@shared_task(acks_late=True)
def resume_import_jobs() -> int:
    """Periodic: start import jobs whose message was lost, or whose worker died mid-import."""
    ids = services.stalled_import_jobs()
    services.enqueue_import_jobs(ids)
    return len(ids)
