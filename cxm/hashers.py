"""Argon2id with OWASP's recommended cost, the first password hasher (docs/security.md)."""

from django.contrib.auth.hashers import Argon2PasswordHasher


class CxmArgon2PasswordHasher(Argon2PasswordHasher):
    """19 MiB, 2 passes, 1 lane: OWASP's Argon2id baseline, ~0.1 s on a busy 2-core host.

    Django's default (100 MiB, 8 lanes) costs ~0.7 s here and would make every login a queue.
    Hashes made with other parameters are upgraded on the user's next login.
    """

    algorithm = "argon2"
    time_cost = 2
    memory_cost = 19456
    parallelism = 1
