"""Celery tasks of the feedback app: thin, idempotent, safe to run twice."""

from celery import shared_task

from . import services, themes


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


@shared_task(acks_late=True)
def trigger_surveys() -> dict[str, int]:
    return services.trigger_surveys()


@shared_task(acks_late=True)
def send_reminders() -> int:
    return services.send_reminders()


@shared_task(acks_late=True)
def match_new_notes() -> int:
    return themes.match_new_notes()


@shared_task(acks_late=True)
def refresh_themes() -> dict[str, int]:
    return themes.refresh_themes()
