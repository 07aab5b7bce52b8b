"""The write path's statement is prepared once per database connection, then only executed: PostgreSQL
parses and plans it once, not on every experience (cxm/prepared.py)."""

import pytest
from django.db import connection, transaction

from experiences.models import Experience
from integrations.models import Scope

from .api import key_client

URL = "/api/v1/experiences/"


def item(key: str) -> dict:
    return {"id": key, "customer": "ACME-1", "touchpoint": "on-time-delivery", "valence": "negative"}


def statements(captured) -> list[str]:
    """The first two words of each statement: `PREPARE name`, `EXECUTE name`, `SELECT "integrations_apikey"."id",`."""
    return [" ".join(query["sql"].split()[:2]) for query in captured]


@pytest.fixture
def writer(touchpoint, customer):
    return key_client(Scope.EXPERIENCES_WRITE)


def test_a_new_connection_prepares_the_write_once_then_only_executes_it(
    transactional_db, writer, django_assert_num_queries
):
    writer.post(URL, item("warm-up"), format="json")  # this process has read the catalogue
    connection.close()
    # Counted inside a transaction, so that the follow-ups (run at once in the tests) wait for its commit.
    with transaction.atomic(), django_assert_num_queries(3) as first:  # the key, PREPARE, EXECUTE
        assert writer.post(URL, item("first"), format="json").status_code == 201
    with transaction.atomic(), django_assert_num_queries(2) as second:  # the key, EXECUTE
        assert writer.post(URL, item("second"), format="json").status_code == 201
    assert statements(first.captured_queries)[1:] == ["PREPARE cxm_write_experiences", "EXECUTE cxm_write_experiences"]
    assert statements(second.captured_queries)[1:] == ["EXECUTE cxm_write_experiences"]
    assert set(Experience.objects.values_list("external_id", flat=True)) == {"warm-up", "first", "second"}


def test_a_rolled_back_write_leaves_the_statement_prepared(transactional_db, writer, django_assert_num_queries):
    """PREPARE is not undone by a rollback, so the connection never asks for a statement it lost."""
    writer.post(URL, item("warm-up"), format="json")
    connection.close()
    with pytest.raises(RuntimeError), transaction.atomic():
        assert writer.post(URL, item("undone"), format="json").status_code == 201
        raise RuntimeError("the surrounding work failed")
    with transaction.atomic(), django_assert_num_queries(2) as after:
        assert writer.post(URL, item("kept"), format="json").status_code == 201
    assert statements(after.captured_queries)[1:] == ["EXECUTE cxm_write_experiences"]
    assert set(Experience.objects.values_list("external_id", flat=True)) == {"warm-up", "kept"}


def test_turned_off_the_write_travels_as_text(db, writer, settings, django_assert_num_queries):
    """Behind a pooler in transaction mode (DATABASE_PREPARED_STATEMENTS=0), nothing is prepared."""
    settings.DATABASE_PREPARED_STATEMENTS = False
    writer.post(URL, item("warm-up"), format="json")
    with django_assert_num_queries(2) as captured:
        assert writer.post(URL, item("as-text"), format="json").status_code == 201
    assert captured.captured_queries[1]["sql"].lstrip().startswith("WITH version")
    assert Experience.objects.filter(external_id="as-text").exists()
