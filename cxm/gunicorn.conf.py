"""gunicorn settings for the Procfile and the image: access log on stdout, secrets masked."""

import gc
import logging
import os

workers = int(os.environ.get("WEB_CONCURRENCY", "3"))
# WEB_THREADS > 1 serves each worker's requests from that many threads (gunicorn's gthread worker).
threads = int(os.environ.get("WEB_THREADS", "1"))
accesslog = "-"
timeout = 30
graceful_timeout = 20
# The access log prints request paths (survey links carry a token): mask them like Django's logs.
forwarded_allow_ips = os.environ.get("FORWARDED_ALLOW_IPS", "127.0.0.1")


def on_starting(server) -> None:
    from cxm.log_redaction import RedactSecrets

    for name in ("gunicorn.access", "gunicorn.error"):
        logging.getLogger(name).addFilter(RedactSecrets())


# By then a worker's requests have imported every view and compiled the templates they render: objects
# that live as long as the worker. Frozen (gc.freeze), they are left out of the collector's full
# collections, which otherwise walk all of them: a pause of about 100 ms in the middle of some request,
# against 14 ms once they are frozen (docs/performance.md, "Full collections").
WARM_REQUESTS = 200


def post_request(worker, req, environ, resp) -> None:
    """Once, after the worker's first WARM_REQUESTS requests (the answer is sent by then): collect, then freeze."""
    if worker.nr >= WARM_REQUESTS and not getattr(worker, "cxm_frozen", False):
        worker.cxm_frozen = True
        gc.collect()
        gc.freeze()
