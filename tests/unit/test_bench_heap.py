"""benchmarks.setup.settled_heap: the in-process worker of a benchmark runs with the deployed worker's collector
settings, and the next part finds CPython's own again (issue 18: the history curve followed the collector)."""

from __future__ import annotations

import gc

from benchmarks.setup import settled_heap


def test_the_worker_s_collector_inside_and_the_previous_one_after() -> None:
    before = gc.get_threshold()
    held = [[n] for n in range(1000)]  # objects that exist when the heap is settled
    with settled_heap():
        assert gc.get_threshold() == (20_000, 20, 20)
        assert gc.get_freeze_count() >= len(held)
    assert gc.get_threshold() == before
    assert gc.get_freeze_count() == 0
