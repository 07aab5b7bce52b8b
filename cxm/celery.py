"""The Celery application: the Redis broker carries work; the database keeps it."""

import os

from celery import Celery
from celery.signals import celeryd_init, task_postrun, task_prerun
from django.db import close_old_connections

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "cxm.settings")

app = Celery("cxm")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()


@celeryd_init.connect
def wait_out_a_stalled_broker(conf, **kwargs) -> None:
    """A worker's broker connection reads with CXM_WORKER_REDIS_TIMEOUT_SECONDS, not the web's 1 s.

    An acknowledgement that times out leaves its message counted as unacknowledged by the
    consumer, which then holds one prefetch slot for good: after a few Redis stalls the worker
    would consume nothing. Waiting the stall out costs a worker time, never a request.
    """
    from django.conf import settings

    conf.broker_transport_options = {
        **conf.broker_transport_options,
        "socket_timeout": settings.CXM_WORKER_REDIS_TIMEOUT_SECONDS,
    }


@task_prerun.connect
@task_postrun.connect
def keep_the_database_connection(task=None, **kwargs) -> None:
    """Between two tasks as between two requests: keep the connection for CONN_MAX_AGE, drop a broken one.

    Celery's own Django fixup would close it before and after every task (CELERY_DB_REUSE_MAX
    turns that off), which made a worker open a connection for each of its many short tasks.
    Eager tasks run inside their caller's transaction: their connection is the caller's.
    """
    if task is not None and getattr(task.request, "is_eager", False):
        return
    close_old_connections()
