"""Celery tasks of the integrations app: thin, idempotent, safe to run twice."""

from celery import shared_task

from . import services


@shared_task(acks_late=True, ignore_result=True)
def deliver_webhooks(attempts: list[list[int]]) -> None:
    """Make attempts of deliveries to one subscriber, each `[delivery id, attempts made so far]`.

    The next attempt of a failed one, if any, is scheduled in the database (`next_attempt_at`).
    """
    services.attempt_deliveries(attempts=[(pk, attempt) for pk, attempt in attempts])


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
