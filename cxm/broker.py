"""kombu's Redis transport, with one fix: a channel closed after its connection no longer crashes the worker.

When kombu closes a broker connection it clears the transport's `client`; a channel that still
holds unacknowledged messages then tries, in `QoS.restore_unacked_once`, to hand them back to
Redis with a client built from that `client` (or from a channel whose `connection` is gone too),
and raises AttributeError ('NoneType' object has no attribute 'hostname' / 'client'), which
Celery takes for a bug and stops the worker. Here the channel
leaves them where they are: in Redis' unacknowledged set, from which the visibility timeout
brings them back, while the dispatcher re-sends their work from the database within seconds.
"""

from kombu.transport import redis


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


class Transport(redis.Transport):
    Channel = Channel
