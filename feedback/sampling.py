"""Which customers a survey rule asks: a seeded draw, pure and the same on every run."""

from __future__ import annotations

import hashlib


def in_sample(*, seed: str, customer_ref: str, percent: int) -> bool:
    """True for about `percent` % of customers, always the same ones for the same seed.

    The draw hashes the seed with the customer's external id (SHA-256, not Python's salted
    `hash`), so it survives restarts, and a customer is in or out of a rule's sample for good:
    sampling picks customers, not moments.
    """
    if percent >= 100:
        return True
    digest = hashlib.sha256(f"{seed}:{customer_ref}".encode()).digest()
    return int.from_bytes(digest[:8], "big") % 10_000 < percent * 100
