"""The web workers' gunicorn settings (cxm/gunicorn.conf.py): what the first requests loaded is frozen, once."""

import gc
import runpy
from pathlib import Path
from types import SimpleNamespace

import pytest

CONFIG = runpy.run_path(str(Path(__file__).resolve().parent.parent / "cxm" / "gunicorn.conf.py"))


@pytest.fixture
def unfrozen():
    gc.unfreeze()
    yield
    gc.unfreeze()  # the objects go back to the collector's generations


def test_a_worker_freezes_what_its_first_requests_loaded_after_them_and_only_once(unfrozen):
    post_request, warm = CONFIG["post_request"], CONFIG["WARM_REQUESTS"]
    worker = SimpleNamespace(nr=0)
    for worker.nr in range(1, warm):
        post_request(worker, None, {}, None)
    assert gc.get_freeze_count() == 0, "not during the warm-up requests"

    worker.nr = warm
    post_request(worker, None, {}, None)
    frozen = gc.get_freeze_count()
    assert frozen > 1000, "every object the process holds is out of the full collections"
    assert len(gc.get_objects(generation=2)) < frozen / 100, "a full collection has next to nothing to walk"

    created_later = [[n] for n in range(1000)]  # what the next requests create stays the collector's
    worker.nr += 1
    post_request(worker, None, {}, None)
    # Frozen objects that die leave the count, so it may shrink; a second freeze would add the lists above.
    assert gc.get_freeze_count() <= frozen, "frozen once per worker"
    del created_later
