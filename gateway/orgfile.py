"""Organisations from a TOML file (``fixtures/organisations.toml`` is one), for ``gateway orgs load``."""

from __future__ import annotations

import tomllib
from dataclasses import dataclass
from pathlib import Path

from gateway.domain.model import Organisation, OrgRole
from gateway.domain.values import Guid, Inn, InvalidValue, Kpp, Ogrn
from gateway.errors import ConfigError


@dataclass(frozen=True)
class OrgEntry:
    organisation: Organisation
    key_algorithm: str
    houses: tuple[Path, ...]
    #: importContractRequest / importCharterRequest bodies that give the organisation its houses
    documents: tuple[Path, ...] = ()
    #: a regulator's regions: OKTMO prefixes its decrees may concern and its compliance reports may show
    jurisdiction: tuple[str, ...] = ()


def read(path: Path) -> list[OrgEntry]:
    try:
        raw = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, tomllib.TOMLDecodeError) as exc:
        raise ConfigError(f"{path}: {exc}") from None
    entries = []
    for index, item in enumerate(raw.get("organisation", []), start=1):
        try:
            org = Organisation(
                guid=Guid(item["guid"]), name=item["name"], role=OrgRole(item["role"]), ogrn=Ogrn(item["ogrn"]),
                inn=Inn(item["inn"]), kpp=Kpp(item["kpp"]) if item.get("kpp") else None,
            )
        except (KeyError, ValueError, InvalidValue) as exc:
            raise ConfigError(f"{path}: organisation #{index}: {exc}") from None
        houses = tuple(path.parent / house for house in item.get("houses", []))
        documents = tuple(path.parent / document for document in item.get("documents", []))
        jurisdiction = tuple(str(p) for p in item.get("jurisdiction", []))
        if bad := [p for p in jurisdiction if not p.isdigit() or len(p) > 11]:
            raise ConfigError(f"{path}: organisation #{index}: jurisdiction {bad[0]!r} is not an OKTMO prefix "
                              "(1 to 11 digits)")
        if jurisdiction and org.role not in (OrgRole.REGULATOR, OrgRole.OPERATOR):
            raise ConfigError(f"{path}: organisation #{index}: only a regulator has a jurisdiction")
        entries.append(OrgEntry(org, item.get("key", "rsa"), houses, documents, jurisdiction))
    return entries
