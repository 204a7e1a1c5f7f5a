"""Deterministic random streams keyed by names (seed, seller, marketplace, day), never by wall-clock."""

from __future__ import annotations

import math
import random


def stream(*parts: object) -> random.Random:
    """A random stream that depends only on ``parts``.

    ``random.Random`` seeds from a str through SHA-512, so the stream is identical across processes and
    Python's hash randomisation: the same key always yields the same data.
    """
    return random.Random("|".join(str(p) for p in parts))  # noqa: S311 - test data, not secrets


def poisson(rng: random.Random, lam: float) -> int:
    """Draw from a Poisson distribution (Knuth for small means, a rounded normal for large ones)."""
    if lam <= 0:
        return 0
    if lam > 60:
        return max(0, round(rng.gauss(lam, math.sqrt(lam))))
    limit = math.exp(-lam)
    k, p = 0, 1.0
    while True:
        p *= rng.random()
        if p <= limit:
            return k
        k += 1


def digits(rng: random.Random, n: int) -> str:
    return "".join(rng.choice("0123456789") for _ in range(n))


def alnum(rng: random.Random, n: int) -> str:
    return "".join(rng.choice("0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ") for _ in range(n))
