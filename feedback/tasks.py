"""Celery tasks of the feedback app: thin, idempotent, safe to run twice."""

from celery import shared_task

from . import services


@shared_task(acks_late=True)
def sweep_unsent_invitations() -> int:
    return services.sweep_unsent_invitations()


@shared_task(acks_late=True)
def sweep_missing_cases() -> int:
    return len(services.sweep_missing_cases())


@shared_task(acks_late=True)
def escalate_overdue_cases() -> int:
    return services.escalate_overdue_cases()


@shared_task(acks_late=True)
def suggest_ladder_moves() -> int:
    return services.suggest_ladder_moves()
