"""Signatures packed as rows: cosines and heaviest terms as the dictionaries give them, also while the store
starts afresh (a small capacity) and when threads share it."""
from __future__ import annotations

import math
import random
from concurrent.futures import ThreadPoolExecutor

import pytest

from search.results.signatures import Signatures


def _signatures(n: int, seed: int) -> dict[int, dict[str, float]]:
    rng = random.Random(seed)
    words = [f"w{i}" for i in range(400)]
    out = {}
    for doc in range(n):
        chosen = rng.sample(words, rng.choice([0, 1, 5, 40, 120]))
        weights = {w: rng.random() + 0.01 for w in chosen}
        norm = math.sqrt(sum(v * v for v in weights.values())) or 1.0
        out[doc] = {w: v / norm for w, v in sorted(weights.items(), key=lambda kv: -kv[1])}
    return out


def _cosine(a: dict[str, float], b: dict[str, float]) -> float:
    return sum(v * b[t] for t, v in a.items() if t in b)


@pytest.mark.parametrize("capacity", [10_000_000, 300])
def test_cosines_and_weights_match_the_dictionaries(capacity):
    stored = _signatures(80, seed=capacity)
    loads: list[int] = []
    sigs = Signatures(lambda ref: loads.append(ref) or stored[ref], capacity=capacity)
    rng = random.Random(7)
    for _ in range(60):
        query = rng.randrange(80)
        refs = [rng.randrange(80) for _ in range(rng.choice([0, 1, 3, 30]))]
        got = sigs.cosines(sigs.of(query), refs).tolist()
        assert got == pytest.approx([_cosine(stored[query], stored[r]) for r in refs], abs=1e-12)
        k = rng.choice([None, 1, 10])
        assert list(sigs.weights(query, k).items()) == list(stored[query].items())[:k]
    if capacity < 1000:
        assert len(loads) > 80  # the store started afresh and loaded documents again
    else:
        assert sorted(set(loads)) == sorted(loads)  # each document read once


def test_threads_sharing_a_small_store_get_the_serial_answers():
    """(Equal up to rounding: the order in which threads number terms decides the order of the additions.)"""
    stored = _signatures(60, seed=3)
    rng = random.Random(11)
    asks = [(rng.randrange(60), [rng.randrange(60) for _ in range(25)]) for _ in range(200)]
    serial = Signatures(stored.__getitem__)
    expected = [serial.cosines(serial.of(q), refs).tolist() for q, refs in asks]
    shared = Signatures(stored.__getitem__, capacity=400)
    with ThreadPoolExecutor(8) as pool:
        got = list(pool.map(lambda ask: shared.cosines(shared.of(ask[0]), ask[1]).tolist(), asks))
    for row, want in zip(got, expected):
        assert row == pytest.approx(want, abs=1e-12)
