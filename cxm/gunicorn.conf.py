"""gunicorn settings for the Procfile and the image: access log on stdout, secrets masked."""

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
