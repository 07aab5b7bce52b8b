"""The Celery application: the Redis broker carries work; the database keeps it."""

import os

from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "cxm.settings")

app = Celery("cxm")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()
