"""WSGI entry point for gunicorn."""

import os

from django.core.wsgi import get_wsgi_application

from cxm.chunked import ChunkedBodies

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "cxm.settings")

application = ChunkedBodies(get_wsgi_application())
