"""The Celery application: the Redis broker carries work; the database keeps it."""

import os

from celery import Celery
from celery.signals import celeryd_init

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
