"""Paged reads for the web console: organisations within a jurisdiction, an organisation's houses with their
cadastral fill, whether a house is an organisation's, the audit log. Every list is one statement with LIMIT
and OFFSET over an indexed order, so a page costs the same on a large registry as on a small one."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, case, exists, false, func, or_, select

from gateway.registry.queries.rows import OrganisationRow
from gateway.registry.tables import audit_log, decrees, houses, jurisdictions, mandates, organisations, premises

OVERSIGHT = ("regulator", "operator")


@dataclass(frozen=True, slots=True)
class HouseFill:
    """A house of an organisation's with its premises by cadastral state."""

    guid: str
    fias_house_guid: str
    unique_number: str | None
    oktmo: str | None
    premises: int
    with_number: int


@dataclass(frozen=True, slots=True)
class AuditRow:
    id: int
    at: datetime
    actor: str
    actor_kind: str
    action: str
    target: str | None
    outcome: str
    detail: Any
    origin: str | None


def _in_regions(regions: tuple[str, ...]) -> Any:
    return or_(*(houses.c.oktmo.startswith(p) for p in regions))


def _serves(org_column: Any, regions: tuple[str, ...]) -> Any:
    """A live mandate of the organisation over a house in one of the regions."""
    m = mandates.c
    return exists(select(m.org_guid).select_from(mandates.join(houses, houses.c.fias_house_guid == m.fias_house_guid))
                  .where(m.org_guid == org_column, m.annulled.is_(False), _in_regions(regions)))


def organisations_page(connection: Connection, *, regions: tuple[str, ...] | None = None, org: str | None = None,
                       limit: int = 50, offset: int = 0) -> list[OrganisationRow]:
    """Organisations that post (not regulators, not the operator), by name; ``regions``: only those serving a
    house there; ``org``: that one only."""
    o = organisations.c
    query = (select(organisations).where(o.role.not_in(OVERSIGHT)).order_by(o.name, o.guid).limit(limit)
             .offset(offset))
    if regions is not None:
        query = query.where(_serves(o.guid, regions)) if regions else query.where(false())
    if org is not None:
        query = query.where(o.guid == org)
    return [OrganisationRow(r.guid, r.name, r.role, r.ogrn, r.inn, r.kpp, r.created_at)
            for r in connection.execute(query)]


def serves_in(connection: Connection, org: str, regions: tuple[str, ...]) -> bool:
    if not regions:
        return False
    return bool(connection.execute(select(_serves(org, regions))).scalar())


def _counts() -> Any:
    p = premises.c
    return (select(p.house_guid, func.count().label("n"),
                   func.sum(case((p.cadastral_status == "number", 1), else_=0)).label("numbered"))
            .group_by(p.house_guid))


def org_houses(connection: Connection, org: str, *, regions: tuple[str, ...] | None = None, limit: int = 50,
               offset: int = 0) -> list[HouseFill]:
    """The houses an organisation holds a live mandate over (or posted), in registration order, each with its
    premises counted by the database."""
    h, m = houses.c, mandates.c
    mandated = select(m.fias_house_guid).where(m.org_guid == org, m.annulled.is_(False))
    page = (select(h.guid, h.fias_house_guid, h.unique_number, h.oktmo).where(
        or_(h.fias_house_guid.in_(mandated), h.posted_by == org)).order_by(h.id).limit(limit).offset(offset))
    if regions is not None:
        page = page.where(_in_regions(regions)) if regions else page.where(false())
    rows = connection.execute(page).all()
    if not rows:
        return []
    counted = _counts().where(premises.c.house_guid.in_([r.guid for r in rows])).subquery()
    numbers = {r.house_guid: (int(r.n), int(r.numbered or 0)) for r in connection.execute(select(counted))}
    return [HouseFill(r.guid, r.fias_house_guid, r.unique_number, r.oktmo, *numbers.get(r.guid, (0, 0)))
            for r in rows]


def house_of(connection: Connection, fias: str, org: str) -> bool:
    """The organisation holds (or held) a mandate over the house, or posted it."""
    m, h = mandates.c, houses.c
    mandated = exists(select(m.org_guid).where(m.fias_house_guid == fias, m.org_guid == org, m.annulled.is_(False)))
    posted = exists(select(h.guid).where(h.fias_house_guid == fias, h.posted_by == org))
    return bool(connection.execute(select(or_(mandated, posted))).scalar())


def house_oktmo(connection: Connection, fias: str) -> tuple[bool, str | None]:
    """(registered, its OKTMO code) of a house now."""
    row = connection.execute(select(houses.c.oktmo).where(houses.c.fias_house_guid == fias)).first()
    return (row is not None, row.oktmo if row else None)


def audit_page(connection: Connection, *, limit: int = 50, offset: int = 0,
               action: str | None = None) -> list[AuditRow]:
    a = audit_log.c
    query = select(audit_log).order_by(a.id.desc()).limit(limit).offset(offset)
    if action:
        query = query.where(a.action.startswith(action))
    return [AuditRow(r.id, r.at, r.actor, r.actor_kind, r.action, r.target, r.outcome, r.detail, r.origin)
            for r in connection.execute(query)]


def organisation(connection: Connection, guid: str) -> OrganisationRow | None:
    r = connection.execute(select(organisations).where(organisations.c.guid == guid)).first()
    return OrganisationRow(r.guid, r.name, r.role, r.ogrn, r.inn, r.kpp, r.created_at) if r else None


def jurisdiction(connection: Connection, org: str) -> tuple[str, ...]:
    """A regulator's regions (OKTMO prefixes)."""
    j = jurisdictions.c
    return tuple(connection.execute(select(j.oktmo_prefix).where(j.org_guid == org).order_by(j.oktmo_prefix))
                 .scalars())


@dataclass(frozen=True, slots=True)
class DecreeLine:
    registry_number: str
    regulator_guid: str
    status: str
    proceeding_date: Any
    executed: bool | None
    violation_codes: Any


def decrees_of(connection: Connection, org: str, *, limit: int = 50) -> list[DecreeLine]:
    """Penalty decrees on an organisation, newest proceeding first."""
    d = decrees.c
    query = (select(d.registry_number, d.regulator_guid, d.status, d.proceeding_date, d.executed, d.violation_codes)
             .where(d.offender_guid == org).order_by(d.proceeding_date.desc(), d.registry_number).limit(limit))
    return [DecreeLine(*r) for r in connection.execute(query)]
