"""Settings of bench/ingest.py's server only: the app's, plus the textbook view beside it (bench/urls.py)."""

from cxm.settings import *  # noqa: F403  # the app as it is served, one URLconf more

ROOT_URLCONF = "bench.urls"
