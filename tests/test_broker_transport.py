"""The broker transport survives a channel closed after its connection, as happens when Redis restarts."""

import pytest
from kombu import Connection, Exchange, Queue

from cxm.celery import app as celery_app


def consume_one_without_ack(connection: Connection):
    queue = Queue("restarts", Exchange("restarts"), "restarts")
    with connection.Producer() as producer:
        producer.publish({"task": "rescore"}, exchange=queue.exchange, routing_key="restarts", declare=[queue])
    received = []
    consumer = connection.Consumer([queue], callbacks=[lambda body, message: received.append(message)])
    consumer.qos(prefetch_count=1)
    consumer.consume()
    connection.drain_events(timeout=5)
    assert len(received) == 1  # held, not acknowledged: an acks_late task under way
    return consumer.channel


def test_closing_a_channel_after_its_connection_leaves_the_message_in_redis(own_broker):
    connection = celery_app.connection_for_write()
    channel = consume_one_without_ack(connection)

    connection._do_close_transport()  # what kombu does first when Redis goes away
    channel.close()  # kombu's own transport raises AttributeError ('hostname') here

    unacked = celery_app.connection_for_write().default_channel.client.hlen("unacked")
    assert unacked == 1  # given back by the visibility timeout; its work by the dispatcher


def test_a_closed_channel_asked_for_a_client_raises_a_connection_error_the_worker_recovers_from(own_broker):
    """A timer of the worker's event loop may still reach a channel that a Redis restart closed."""
    connection = celery_app.connection_for_write()
    channel = consume_one_without_ack(connection)
    connection._do_close_transport()
    channel.close()

    with pytest.raises(connection.connection_errors):  # kombu's own transport: AttributeError ('client')
        channel.qos.restore_visible()


def test_the_workers_use_the_fixed_transport(own_broker):
    with celery_app.connection_for_write() as connection:
        assert type(connection.transport).__module__ == "cxm.broker"
