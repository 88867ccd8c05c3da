"""Writing a batch of objects set-based, while each object still succeeds or fails on its own."""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

from gateway.errors import Conflict

Item = TypeVar("Item")
Result = TypeVar("Result")


def write_batch(items: list[Item], write: Callable[[list[Item]], list[Result]],
                refuse: Callable[[Item, Conflict], Result]) -> list[Result]:
    """All ``items`` in one ``write`` (one savepoint, a few set-based statements).

    If that collides with what another transaction stored first, write them again one by one, each in its
    own savepoint, and ``refuse`` the ones that collide: one object's conflict never costs the others.
    """
    if not items:
        return []
    try:
        return write(items)
    except Conflict:
        pass
    results: list[Result] = []
    for item in items:
        try:
            results.extend(write([item]))
        except Conflict as exc:
            results.append(refuse(item, exc))
    return results
