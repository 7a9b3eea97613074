from __future__ import annotations

import math
import random

import pytest

from vigil.core.sketch import QuantileSketch, nearest_rank


def test_nearest_rank_by_hand() -> None:
    values = [15, 20, 35, 40, 50]
    assert nearest_rank(values, 0.05) == 15
    assert nearest_rank(values, 0.30) == 20
    assert nearest_rank(values, 0.40) == 20
    assert nearest_rank(values, 0.50) == 35
    assert nearest_rank(values, 0.90) == 50
    assert nearest_rank(values, 1.0) == 50
    with pytest.raises(ValueError):
        nearest_rank([], 0.5)


@pytest.mark.parametrize("seed", range(8))
def test_sketch_quantiles_within_stated_bound_of_exact(seed: int) -> None:
    rng = random.Random(seed)
    n = rng.choice([1, 7, 100, 5000])
    values = [round(rng.lognormvariate(6.0, 0.6)) for _ in range(n)] + [0] * rng.randint(0, 3)
    sketch = QuantileSketch()
    for v in values:
        sketch.add(v)
    assert sketch.count == len(values)
    assert sketch.mean == pytest.approx(sum(values) / len(values))
    for q in (0.01, 0.25, 0.5, 0.9, 0.99, 1.0):
        exact = nearest_rank(values, q)
        got = sketch.quantile(q)
        assert abs(got - exact) <= sketch.alpha * exact + 1e-9, (q, exact, got)


def test_merged_sketches_equal_one_sketch_of_all_values() -> None:
    rng = random.Random(42)
    values = [rng.expovariate(1 / 600) for _ in range(3000)]
    whole, parts = QuantileSketch(), [QuantileSketch() for _ in range(3)]
    for i, v in enumerate(values):
        whole.add(v)
        parts[i % 3].add(v)
    merged = QuantileSketch()
    for p in parts:
        merged.merge(QuantileSketch.from_dict(p.to_dict()))
    assert merged.buckets == whole.buckets and merged.count == whole.count
    for q in (0.5, 0.9):
        assert merged.quantile(q) == whole.quantile(q)


def test_empty_and_invalid() -> None:
    assert math.isnan(QuantileSketch().quantile(0.5))
    with pytest.raises(ValueError):
        QuantileSketch().add(-1)
    with pytest.raises(ValueError):
        QuantileSketch().merge(QuantileSketch(alpha=0.01))
