"""write_batch: one set-based write, or per object when the batch collides."""

from __future__ import annotations

from gateway.errors import Conflict
from gateway.services.batch import write_batch


def test_a_clean_batch_is_written_once() -> None:
    calls: list[list[int]] = []

    def write(batch: list[int]) -> list[str]:
        calls.append(batch)
        return [f"ok {n}" for n in batch]

    assert write_batch([1, 2, 3], write, lambda n, _: f"refused {n}") == ["ok 1", "ok 2", "ok 3"]
    assert calls == [[1, 2, 3]]


def test_a_colliding_batch_is_written_per_object_and_only_the_collider_is_refused() -> None:
    stored: list[int] = []

    def write(batch: list[int]) -> list[str]:
        if 2 in batch:
            raise Conflict("2 was stored concurrently")
        stored.extend(batch)
        return [f"ok {n}" for n in batch]

    results = write_batch([1, 2, 3], write, lambda n, exc: f"refused {n}: {exc.message}")
    assert results == ["ok 1", "refused 2: 2 was stored concurrently", "ok 3"]
    assert stored == [1, 3]


def test_nothing_to_write_writes_nothing() -> None:
    assert write_batch([], lambda batch: 1 / 0, lambda n, _: n) == []  # type: ignore[arg-type,return-value]
