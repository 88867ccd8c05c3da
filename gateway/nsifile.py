"""Reference directory files (``fixtures/nsi/*.toml``) for ``gateway nsi load``.

One file per directory::

    registry = 2
    name = "Вид коммунального ресурса"
    [[item]]
    code = "1"
    guid = "…"
    name = "Холодная вода"
    value = "…"   # optional: a number the gateway uses (NSI 16: verification interval in years)
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from gateway.domain.values import Guid, InvalidValue
from gateway.errors import ConfigError
from gateway.registry.nsi import NsiItem
from gateway.registry.unit_of_work import UnitOfWork


@dataclass(frozen=True)
class Directory:
    registry: int
    name: str
    items: tuple[NsiItem, ...]


def read(path: Path) -> Directory:
    try:
        raw = tomllib.loads(path.read_text(encoding="utf-8"))
        registry = int(raw["registry"])
        items = []
        for index, item in enumerate(raw.get("item", []), start=1):
            code, name = str(item["code"]), str(item["name"])
            if not code or len(code) > 20:
                raise ValueError(f"item #{index}: code {code!r} must be 1–20 characters")
            items.append(NsiItem(registry, code, str(Guid(str(item["guid"]))), name,
                                 str(item["value"]) if "value" in item else None))
    except (OSError, tomllib.TOMLDecodeError, KeyError, ValueError, InvalidValue) as exc:
        raise ConfigError(f"{path}: {exc}") from None
    codes = [i.code for i in items]
    if len(set(codes)) != len(codes):
        raise ConfigError(f"{path}: a code is listed twice")
    return Directory(registry, str(raw.get("name", "")), tuple(items))


def read_all(paths: list[Path]) -> list[Directory]:
    files = [f for p in paths for f in (sorted(p.glob("*.toml")) if p.is_dir() else [p])]
    return [read(f) for f in files]


def load(uow: UnitOfWork, paths: list[Path], at: datetime, *, audit_action: str | None = None) -> list[tuple[int, int]]:
    """Read every file first (a bad file loads nothing), then replace each directory in one transaction;
    ``audit_action`` records the load in the audit trail, in that transaction."""
    directories = read_all(paths)
    with uow:
        loaded = [(d.registry, uow.nsi.replace(d.registry, d.items, at)) for d in directories]
        if audit_action is not None:
            from gateway.registry import audit

            audit.record(uow.connection, action=audit_action, target=", ".join(str(p) for p in paths)[:255],
                         detail={"directories": {str(registry): count for registry, count in loaded}})
        uow.commit()
    return loaded
