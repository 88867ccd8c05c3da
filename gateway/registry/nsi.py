"""Reference directories (NSI): loaded from data files, consulted when a request names a directory item."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Connection, delete, insert, select

from gateway.domain.model import NsiRef
from gateway.registry.tables import nsi_items


@dataclass(frozen=True, slots=True)
class NsiItem:
    registry: int
    code: str
    guid: str
    name: str
    value: str | None = None


class NsiRepository:
    """Directory lookups, each directory read once per unit of work (they hold tens of items)."""

    def __init__(self, connection: Connection) -> None:
        self.connection = connection
        self._loaded: dict[int, dict[str, NsiItem]] = {}

    def directory(self, registry: int) -> dict[str, NsiItem]:
        if registry not in self._loaded:
            rows = self.connection.execute(select(nsi_items).where(nsi_items.c.registry == registry)).mappings()
            self._loaded[registry] = {r["code"]: NsiItem(registry, r["code"], r["guid"], r["name"], r["value"])
                                      for r in rows}
        return self._loaded[registry]

    def refusal(self, registry: int, ref: NsiRef, what: str) -> str | None:
        """Why ``ref`` is not an item of directory ``registry`` (NSI ``registry``), or None if it is."""
        items = self.directory(registry)
        item = items.get(ref.code)
        if not items:
            return f"{what}: reference directory NSI {registry} is not loaded in this registry (gateway nsi load)"
        if item is None:
            return f"{what}: code {ref.code!r} is not in reference directory NSI {registry}"
        if item.guid.lower() != str(ref.guid).lower():
            return (f"{what}: NSI {registry} code {ref.code!r} has GUID {item.guid}, not {ref.guid} "
                    f"({item.name})")
        return None

    def replace(self, registry: int, items: Iterable[NsiItem], at: datetime) -> int:
        """Load a directory's current content; items no longer listed leave it."""
        rows = [{"registry": registry, "code": i.code, "guid": i.guid, "name": i.name, "value": i.value,
                 "loaded_at": at} for i in items]
        self.connection.execute(delete(nsi_items).where(nsi_items.c.registry == registry))
        if rows:
            self.connection.execute(insert(nsi_items), rows)
        self._loaded.pop(registry, None)
        return len(rows)
