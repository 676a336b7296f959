"""Process-wide caches are bounded: models built from specs, judges, memories."""

from __future__ import annotations

import pytest
from writer_r1.core.lru import LRU


def test_the_least_recently_used_entry_goes_first() -> None:
    cache: LRU[str, int] = LRU(maxsize=2)
    cache["a"], cache["b"] = 1, 2
    assert cache["a"] == 1
    cache["c"] = 3
    assert list(cache) == ["a", "c"] and "b" not in cache and len(cache) == 2
    with pytest.raises(ValueError):
        LRU(0)


def test_models_built_from_specs_are_bounded() -> None:
    from writer_r1.graphs import context as graph_context

    specs = [f"fake:{n}" for n in range(graph_context.MAX_SHARED_MODELS + 5)]
    for spec in specs:
        graph_context.model_for(graph_context.ReflectionContext(model=spec), "writer")
    assert len(graph_context._MODELS) == graph_context.MAX_SHARED_MODELS
    last = graph_context.ReflectionContext(model=specs[-1])
    assert graph_context.model_for(last, "writer") is graph_context.model_for(last, "writer")
