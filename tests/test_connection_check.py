"""A kept database connection is checked before each request or task uses it (cxm/postgresql/base.py):
without a round trip while the server has written nothing to it, and replaced when the server ended it."""

import select
import time

import pytest
from django.db import connection, connections

from cxm.postgresql.base import DatabaseWrapper


@pytest.fixture
def kept(db):
    """A second connection of this process, as a web worker keeps one between requests."""
    wrapper = connections.create_connection("default")
    wrapper.ensure_connection()
    yield wrapper
    wrapper.close()


def last_statement(pid: int) -> str:
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_stat_clear_snapshot()")
        cursor.execute("SELECT query FROM pg_stat_activity WHERE pid = %s", [pid])
        return cursor.fetchone()[0]


def checked_before_a_request(wrapper: DatabaseWrapper) -> None:
    """What Django does at the start of a request and the worker before a task."""
    wrapper.close_if_unusable_or_obsolete()
    wrapper.close_if_health_check_failed()


def test_the_project_connects_through_the_checking_backend(kept):
    assert isinstance(kept, DatabaseWrapper) and kept.health_check_enabled


def test_an_idle_connection_passes_its_check_without_a_statement(kept):
    with kept.cursor() as cursor:
        cursor.execute("SELECT 'the last statement'")
    pid = kept.connection.get_backend_pid()
    checked_before_a_request(kept)
    assert kept.connection is not None and kept.connection.get_backend_pid() == pid
    assert last_statement(pid) == "SELECT 'the last statement'"  # no SELECT 1 was sent


def test_a_connection_the_server_ended_is_replaced_before_it_is_used(kept):
    pid = kept.connection.get_backend_pid()
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_terminate_backend(%s)", [pid])
    deadline = time.monotonic() + 10
    while not select.select([kept.connection.fileno()], [], [], 0.1)[0]:  # the server's farewell arrives
        assert time.monotonic() < deadline, "the terminated backend never wrote to its socket"
    checked_before_a_request(kept)
    with kept.cursor() as cursor:
        cursor.execute("SELECT pg_backend_pid()")
        assert cursor.fetchone()[0] != pid


def test_a_live_connection_with_a_message_waiting_is_asked_and_kept(kept):
    """Anything waiting on the socket sends the check to the server, which answers: the connection stays."""
    with kept.cursor() as cursor:
        cursor.execute("LISTEN cxm_connection_check")
    other = connections.create_connection("default")
    try:
        with other.cursor() as cursor:
            cursor.execute("NOTIFY cxm_connection_check")
    finally:
        other.close()
    pid = kept.connection.get_backend_pid()
    assert select.select([kept.connection.fileno()], [], [], 5)[0], "the notification never arrived"
    checked_before_a_request(kept)
    assert kept.connection is not None and kept.connection.get_backend_pid() == pid
    assert last_statement(pid) == "SELECT 1"
