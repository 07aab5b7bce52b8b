"""kombu's Redis transport, with two fixes: a channel closed after its connection no longer crashes the worker.

When kombu closes a broker connection it clears the transport's `client`; a channel that still
holds unacknowledged messages then tries, in `QoS.restore_unacked_once`, to hand them back to
Redis with a client built from that `client` (or from a channel whose `connection` is gone too),
and raises AttributeError ('NoneType' object has no attribute 'hostname' / 'client'), which
Celery takes for a bug and stops the worker. Here the channel
leaves them where they are: in Redis' unacknowledged set, from which the visibility timeout
brings them back, while the dispatcher re-sends their work from the database within seconds.

A closed channel has no connection at all, and one of the event loop's timers (the restore of
unacknowledged messages, the health checks) may still ask it for a Redis client: kombu then
raises the same AttributeError ('client') from `_connparams`, which stopped an events worker
during a Redis restart. Here that is a Redis connection error, which the timers skip and the
worker recovers from by reconnecting.
"""

from kombu.transport import redis
from redis.exceptions import ConnectionError as RedisConnectionError


class QoS(redis.QoS):
    def restore_unacked_once(self, stderr=None):
        connection = self.channel.connection
        if connection is None or connection.client is None:
            self._on_collect.cancel()
            self._delivered.clear()
            self._delivered.restored = True  # type: ignore[attr-defined]  # kombu's QoS marks it so
            return None
        return super().restore_unacked_once(stderr)


class Channel(redis.Channel):
    QoS = QoS

    def _connparams(self, asynchronous: bool = False) -> dict:
        if self.connection is None or self.connection.client is None:
            raise RedisConnectionError("this broker channel is closed; the worker reconnects")
        return super()._connparams(asynchronous)


class Transport(redis.Transport):
    Channel = Channel
