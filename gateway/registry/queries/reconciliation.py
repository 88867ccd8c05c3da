"""Reconciliation's comparisons: the registry against a run's staged reference data, and against itself.

Each function is one set-based statement (joins the database does), streamed as plain rows; the jobs in
``gateway.sync.jobs`` turn rows into findings (kind, severity, evidence, suggested fix, score). The registry
side is always the current state: reconciliation is about what the registry holds now.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Any

from sqlalchemy import Connection, Select, and_, exists, func, not_, or_, select
from sqlalchemy.orm import aliased

from gateway.registry.tables import (
    account_accommodations,
    accounts,
    discrepancies,
    documents,
    houses,
    mandates,
    meter_readings,
    metering_devices,
    organisations,
    premises,
    staging_egrn,
    staging_gar_apartments,
    staging_gar_hierarchy,
    staging_gar_houses,
    staging_gar_params,
    staging_licences,
)

BATCH = 5_000
_MANAGEMENT = ("contract", "charter")


def _stream(connection: Connection, query: Select[Any]) -> Iterator[Any]:
    yield from connection.execute(query.execution_options(yield_per=BATCH)).mappings()


@dataclass(frozen=True, slots=True)
class PremisesAgainstRegister:
    """A registry premises beside the reference register's record for it."""

    premises_guid: str
    premises_number: str
    premises_kind: str
    cadastral_status: str
    cadastral_number: str | None
    total_area: Decimal | None
    house_guid: str
    fias_house_guid: str
    org_guid: str  # who posted the house
    register_number: str | None  # the register's cadastral number
    register_area: Decimal | None
    register_residential: bool | None
    register_purpose: str | None
    file: str | None
    line: int | None


def _against(r: Any, *, number: str, area: str, residential: str | None = None) -> PremisesAgainstRegister:
    return PremisesAgainstRegister(
        r["guid"], r["number"], r["kind"], r["cadastral_status"], r["cadastral_number"],
        None if r["total_area"] is None else Decimal(r["total_area"]), r["house_guid"], r["fias_house_guid"],
        r["posted_by"], r[number], None if r.get(area) is None else Decimal(r[area]),
        r.get(residential) if residential else None, r.get("purpose"), r.get("file"), r.get("line"))


_P = (premises.c.guid, premises.c.number, premises.c.kind, premises.c.cadastral_status, premises.c.cadastral_number,
      premises.c.total_area, premises.c.house_guid, houses.c.fias_house_guid, houses.c.posted_by)


# -- EGRN ------------------------------------------------------------------------------------------------------

def egrn_candidates(connection: Connection, run_id: str) -> Iterator[PremisesAgainstRegister]:
    """Premises without a CadastralNumber whose house's building has, in the extract, a room of the same
    number — and whose number no other premises of the registry carries already."""
    s, other = staging_egrn.c, premises.alias("other").c
    taken = exists().where(other.cadastral_number == s.cad_number)
    query = (select(*_P, s.cad_number.label("register"), s.area.label("register_area"), s.residential, s.purpose,
                    s.file, s.line)
             .select_from(premises).join(houses, houses.c.guid == premises.c.house_guid)
             .join(staging_egrn, and_(s.run_id == run_id, s.parent_cad_number == houses.c.cadastral_number,
                                      s.number == premises.c.number, s.kind == "room"))
             .where(premises.c.cadastral_status != "number", not_(taken))
             .order_by(premises.c.house_guid, premises.c.id))
    for r in _stream(connection, query):
        yield _against(r, number="register", area="register_area", residential="residential")


#: the database's arithmetic differs from the job's in the last digits: it passes a little more than the
#: tolerance, and the job decides exactly
_MARGIN = 0.999


def egrn_records_of_numbered(connection: Connection, run_id: str,
                             area_tolerance: float | None = None) -> Iterator[PremisesAgainstRegister]:
    """Premises with a CadastralNumber beside the extract's record of that number (area, purpose).

    With ``area_tolerance``, only those that differ from it: the area by about that share of the register's
    or more, or the purpose (residential or not) — at a million premises most agree, and rows the job would
    read only to drop cost more than the comparison."""
    s, p = staging_egrn.c, premises.c
    query = (select(*_P, s.cad_number.label("register"), s.area.label("register_area"), s.residential, s.purpose,
                    s.file, s.line)
             .select_from(premises).join(houses, houses.c.guid == premises.c.house_guid)
             .join(staging_egrn, and_(s.run_id == run_id, s.cad_number == premises.c.cadastral_number))
             .where(premises.c.cadastral_status == "number").order_by(premises.c.house_guid, premises.c.id))
    if area_tolerance is not None:
        query = query.where(or_(
            and_(s.area != 0, func.abs(p.total_area - s.area) >= func.abs(s.area) * (area_tolerance * _MARGIN)),
            and_(s.residential.is_not(None), s.residential != (p.kind == "residential"))))
    for r in _stream(connection, query):
        yield _against(r, number="register", area="register_area", residential="residential")


def egrn_unknown_numbers(connection: Connection, run_id: str) -> Iterator[PremisesAgainstRegister]:
    """Premises whose CadastralNumber the extract does not hold, in a house whose building the extract covers
    (it holds the building or rooms of it): a number the register does not know."""
    s, s2 = staging_egrn.c, aliased(staging_egrn).c
    covered = exists().where(s2.run_id == run_id, or_(s2.parent_cad_number == houses.c.cadastral_number,
                                                      s2.cad_number == houses.c.cadastral_number))
    known = exists().where(s.run_id == run_id, s.cad_number == premises.c.cadastral_number)
    query = (select(*_P).select_from(premises).join(houses, houses.c.guid == premises.c.house_guid)
             .where(premises.c.cadastral_status == "number", covered, not_(known))
             .order_by(premises.c.house_guid, premises.c.id))
    for r in _stream(connection, query):
        yield _against(r, number="cadastral_number", area="none")


def egrn_covered_houses(run_id: str) -> Any:
    """A condition on ``discrepancies``: the house is one whose building the run's extract covers."""
    s = staging_egrn.c
    covered = (select(houses.c.fias_house_guid).join(staging_egrn, and_(
        s.run_id == run_id, or_(s.parent_cad_number == houses.c.cadastral_number,
                                s.cad_number == houses.c.cadastral_number))))
    return discrepancies.c.fias_house_guid.in_(covered)


@dataclass(frozen=True, slots=True)
class DuplicateNumber:
    cadastral_number: str
    premises_guid: str
    premises_number: str
    house_guid: str
    fias_house_guid: str
    org_guid: str
    others: int  # how many other premises carry it


def duplicate_numbers(connection: Connection) -> Iterator[DuplicateNumber]:
    """Every premises whose CadastralNumber another premises of the registry carries too."""
    p = premises.c
    shared = (select(p.cadastral_number, func.count().label("n")).where(p.cadastral_status == "number")
              .group_by(p.cadastral_number).having(func.count() > 1).subquery("shared"))
    query = (select(p.cadastral_number, p.guid, p.number, p.house_guid, houses.c.fias_house_guid,
                    houses.c.posted_by, shared.c.n)
             .select_from(premises).join(shared, shared.c.cadastral_number == p.cadastral_number)
             .join(houses, houses.c.guid == p.house_guid).order_by(p.cadastral_number, p.id))
    for r in _stream(connection, query):
        yield DuplicateNumber(r["cadastral_number"], r["guid"], r["number"], r["house_guid"], r["fias_house_guid"],
                              r["posted_by"], int(r["n"]) - 1)


# -- GAR -------------------------------------------------------------------------------------------------------

@dataclass(frozen=True, slots=True)
class HouseAgainstGar:
    house_guid: str
    fias_house_guid: str
    org_guid: str
    oktmo: str | None
    successor_guid: str | None  # a retired object's next row, when it names another object
    end_date: date | None


def gar_retired_houses(connection: Connection, run_id: str) -> Iterator[HouseAgainstGar]:
    """Registry houses whose FIAS GUID has rows in GAR but none actual and active, with the object GAR's last
    row of it leads to (its NEXTID row) when that is another object."""
    g, nxt = staging_gar_houses.c, aliased(staging_gar_houses).c
    current = exists().where(g.run_id == run_id, g.object_guid == houses.c.fias_house_guid, g.is_actual, g.is_active)
    listed = exists().where(g.run_id == run_id, g.object_guid == houses.c.fias_house_guid)

    def last(column: Any) -> Any:
        return (select(column).where(g.run_id == run_id, g.object_guid == houses.c.fias_house_guid)
                .order_by(g.row_id.desc()).limit(1).correlate(houses).scalar_subquery())

    successor = (select(nxt.object_guid).where(nxt.run_id == run_id, nxt.row_id == last(g.next_row_id))
                 .limit(1).correlate(houses).scalar_subquery())
    query = (select(houses.c.guid, houses.c.fias_house_guid, houses.c.posted_by, houses.c.oktmo,
                    successor.label("successor"), last(g.end_date).label("ended"))
             .where(listed, not_(current)).order_by(houses.c.id))
    for r in _stream(connection, query):
        found = r["successor"]
        yield HouseAgainstGar(r["guid"], r["fias_house_guid"], r["posted_by"], r["oktmo"],
                              found if found and found != r["fias_house_guid"] else None, r["ended"])


def _gar_areas(run_id: str) -> Any:
    """The municipalities (8-digit OKTMO) of the run's GAR houses: what the extract covers."""
    gp = staging_gar_params.c
    return (select(func.substr(gp.value, 1, 8)).where(gp.run_id == run_id, gp.owner == "house", gp.type_id == 7)
            .distinct())


def gar_unknown_houses(connection: Connection, run_id: str) -> Iterator[HouseAgainstGar]:
    """Registry houses of the extract's municipalities whose FIAS GUID GAR does not hold."""
    g = staging_gar_houses.c
    listed = exists().where(g.run_id == run_id, g.object_guid == houses.c.fias_house_guid)
    query = (select(houses.c.guid, houses.c.fias_house_guid, houses.c.posted_by, houses.c.oktmo)
             .where(func.substr(houses.c.oktmo, 1, 8).in_(_gar_areas(run_id)), not_(listed)).order_by(houses.c.id))
    for r in _stream(connection, query):
        yield HouseAgainstGar(r["guid"], r["fias_house_guid"], r["posted_by"], r["oktmo"], None, None)


def gar_premises(connection: Connection, run_id: str) -> Iterator[tuple[PremisesAgainstRegister, bool]]:
    """Premises of houses GAR holds as current (or whose retired GUID leads to a current successor), each with
    the cadastral number GAR gives its apartment of the same number (if any), and whether GAR knows such an
    apartment under the house at all."""
    g, a, hi, gp = staging_gar_houses.c, staging_gar_apartments.c, staging_gar_hierarchy.c, staging_gar_params.c
    nxt = aliased(staging_gar_houses).c
    current = (select(g.object_id).where(g.run_id == run_id, g.object_guid == houses.c.fias_house_guid,
                                         g.is_actual, g.is_active).limit(1).correlate(houses).scalar_subquery())
    last_next = (select(g.next_row_id).where(g.run_id == run_id, g.object_guid == houses.c.fias_house_guid)
                 .order_by(g.row_id.desc()).limit(1).correlate(houses).scalar_subquery())
    successor = (select(nxt.object_id).where(nxt.run_id == run_id, nxt.row_id == last_next, nxt.is_actual,
                                             nxt.is_active).limit(1).correlate(houses).scalar_subquery())
    # a retired house's premises are looked for under its successor, which holds them in GAR now
    gar_house = func.coalesce(current, successor)
    apartment = (select(a.object_id).select_from(staging_gar_apartments)
                 .join(staging_gar_hierarchy, and_(hi.run_id == run_id, hi.object_id == a.object_id))
                 .where(a.run_id == run_id, hi.parent_object_id == gar_house, a.number == premises.c.number)
                 .limit(1).correlate(premises, houses).scalar_subquery())
    number = (select(gp.value).where(gp.run_id == run_id, gp.owner == "apartment", gp.type_id == 8,
                                     gp.object_id == apartment).limit(1).correlate(premises, houses).scalar_subquery())
    query = (select(*_P, apartment.label("apartment"), number.label("register"))
             .select_from(premises).join(houses, houses.c.guid == premises.c.house_guid)
             .where(gar_house.is_not(None)).order_by(premises.c.house_guid, premises.c.id))
    for r in _stream(connection, query):
        yield _against(r, number="register", area="none"), r["apartment"] is not None


def gar_covered_houses(run_id: str) -> Any:
    """A condition on ``discrepancies``: the house's FIAS GUID or its municipality is in the run's extract."""
    g = staging_gar_houses.c
    listed = select(g.object_guid).where(g.run_id == run_id)
    in_areas = select(houses.c.fias_house_guid).where(func.substr(houses.c.oktmo, 1, 8).in_(_gar_areas(run_id)))
    return or_(discrepancies.c.fias_house_guid.in_(listed), discrepancies.c.fias_house_guid.in_(in_areas))


# -- licences --------------------------------------------------------------------------------------------------

@dataclass(frozen=True, slots=True)
class ManagedHouse:
    """A house a management company manages today, with what the licence register says of its licences."""

    fias_house_guid: str
    house_guid: str | None
    org_guid: str
    org_name: str
    ogrn: str
    mandate_from: date
    mandate_to: date | None
    active_licence: str | None  # an active licence of the company, if any
    any_licence: str | None  # a licence of the company whatever its status (and that status)
    any_status: str | None
    listed_until: date | None  # the active licence lists the house (its contract's end, if given)
    listed: bool


def managed_houses(connection: Connection, run_id: str, today: date) -> Iterator[ManagedHouse]:
    """Management contracts' houses in force today (management companies: an HOA or cooperative needs no
    licence), each against the company's licences in the register."""
    m, o, lic = mandates.c, organisations.c, staging_licences.c
    active = (select(lic.number).where(lic.run_id == run_id, lic.ogrn == o.ogrn, lic.status == "A")
              .order_by(lic.number).limit(1).correlate(organisations).scalar_subquery())
    anyone = (select(lic.number).where(lic.run_id == run_id, lic.ogrn == o.ogrn).order_by(lic.number).limit(1)
              .correlate(organisations).scalar_subquery())
    any_status = (select(lic.status).where(lic.run_id == run_id, lic.ogrn == o.ogrn).order_by(lic.number).limit(1)
                  .correlate(organisations).scalar_subquery())
    listing = (select(func.max(func.coalesce(lic.house_to, date(9999, 12, 31)))).where(
        lic.run_id == run_id, lic.ogrn == o.ogrn, lic.status == "A", lic.fias_house_guid == m.fias_house_guid)
        .correlate(organisations, mandates).scalar_subquery())
    query = (select(m.fias_house_guid, houses.c.guid.label("house"), o.guid, o.name, o.ogrn, m.starts_on, m.ends_on,
                    active.label("active"), anyone.label("anyone"), any_status.label("any_status"),
                    listing.label("listed_until"))
             .select_from(mandates).join(organisations, o.guid == m.org_guid)
             .join(documents, documents.c.guid == m.document_guid)
             .outerjoin(houses, houses.c.fias_house_guid == m.fias_house_guid)
             .where(m.kind == "contract", o.role == "management_company", m.annulled.is_(False),
                    m.starts_on <= today, or_(m.ends_on.is_(None), m.ends_on >= today))
             .order_by(m.fias_house_guid, m.id))
    for r in _stream(connection, query):
        until = r["listed_until"]
        yield ManagedHouse(r["fias_house_guid"], r["house"], r["guid"], r["name"], r["ogrn"], r["starts_on"],
                           r["ends_on"], r["active"], r["anyone"], r["any_status"],
                           None if until is None or until == date(9999, 12, 31) else until, until is not None)


# -- authority and providers among themselves --------------------------------------------------------------------

@dataclass(frozen=True, slots=True)
class HouseRow:
    house_guid: str
    fias_house_guid: str
    org_guid: str


def houses_without_manager(connection: Connection, today: date) -> Iterator[HouseRow]:
    """Registered houses no live management contract or charter covers today."""
    m = mandates.c
    managed = exists().where(m.fias_house_guid == houses.c.fias_house_guid, m.kind.in_(_MANAGEMENT),
                             m.annulled.is_(False), m.starts_on <= today, or_(m.ends_on.is_(None), m.ends_on >= today))
    query = select(houses.c.guid, houses.c.fias_house_guid, houses.c.posted_by).where(not_(managed)).order_by(
        houses.c.id)
    for r in _stream(connection, query):
        yield HouseRow(r["guid"], r["fias_house_guid"], r["posted_by"])


@dataclass(frozen=True, slots=True)
class Overlap:
    fias_house_guid: str
    org_guid: str
    other_org: str
    document: str
    other_document: str
    starts_on: date
    ends_on: date | None


def management_overlaps(connection: Connection) -> Iterator[Overlap]:
    """Two organisations' management mandates over one house in overlapping periods (each pair once)."""
    a, b = mandates.alias("a"), aliased(mandates, name="b")
    query = (select(a.c.fias_house_guid, a.c.org_guid, b.c.org_guid.label("other"), a.c.document_guid,
                    b.c.document_guid.label("other_document"), func.max(a.c.starts_on, b.c.starts_on).label("s")
                    if connection.dialect.name == "sqlite" else func.greatest(a.c.starts_on, b.c.starts_on)
                    .label("s"),
                    a.c.ends_on)
             .select_from(a).join(b, and_(a.c.fias_house_guid == b.c.fias_house_guid, a.c.org_guid < b.c.org_guid))
             .where(a.c.kind.in_(_MANAGEMENT), b.c.kind.in_(_MANAGEMENT), a.c.annulled.is_(False),
                    b.c.annulled.is_(False),
                    or_(a.c.ends_on.is_(None), b.c.starts_on <= a.c.ends_on),
                    or_(b.c.ends_on.is_(None), a.c.starts_on <= b.c.ends_on))
             .order_by(a.c.fias_house_guid))
    for r in _stream(connection, query):
        yield Overlap(r["fias_house_guid"], r["org_guid"], r["other"], r["document_guid"], r["other_document"],
                      r["s"], r["ends_on"])


@dataclass(frozen=True, slots=True)
class SupplierAccount:
    account_guid: str
    org_guid: str  # the supplier
    premises_guid: str
    house_guid: str


def supplier_accounts_without_manager(connection: Connection) -> Iterator[SupplierAccount]:
    """Open supply accounts on premises for which no open management account exists."""
    acc, a = account_accommodations.c, accounts.c
    acc2, a2 = aliased(account_accommodations).c, aliased(accounts).c
    managed = (exists().where(acc2.premises_guid == acc.premises_guid, acc2.account_guid == a2.guid,
                              a2.account_type == "uo", a2.closed_on.is_(None)))
    query = (select(a.guid, a.posted_by, acc.premises_guid, acc.house_guid)
             .select_from(account_accommodations).join(accounts, a.guid == acc.account_guid)
             .where(a.account_type == "rso", a.closed_on.is_(None), acc.premises_guid.is_not(None), not_(managed))
             .order_by(a.id))
    for r in _stream(connection, query):
        yield SupplierAccount(r["guid"], r["posted_by"], r["premises_guid"], r["house_guid"])


@dataclass(frozen=True, slots=True)
class DeviceReadings:
    root_guid: str
    number: str
    house_guid: str
    fias_house_guid: str
    org_guid: str
    limit_date: date  # archived on / next verification due on
    readings: int
    first: date
    last: date


def _device_readings(connection: Connection, limit: Any) -> Iterator[DeviceReadings]:
    d, r = metering_devices.c, meter_readings.c
    query = (select(d.root_guid, d.number, d.house_guid, d.fias_house_guid, d.posted_by, limit.label("limit"),
                    func.count().label("n"), func.min(r.reading_date).label("first"),
                    func.max(r.reading_date).label("last"))
             .select_from(metering_devices).join(meter_readings, r.device_root_guid == d.root_guid)
             .where(limit.is_not(None), r.superseded_at.is_(None), r.kind == "current", r.reading_date > limit)
             .group_by(d.root_guid, d.number, d.house_guid, d.fias_house_guid, d.posted_by, limit)
             .order_by(d.root_guid))
    for row in _stream(connection, query):
        yield DeviceReadings(row["root_guid"], row["number"], row["house_guid"], row["fias_house_guid"],
                             row["posted_by"], row["limit"], int(row["n"]), row["first"], row["last"])


def readings_after_archive(connection: Connection) -> Iterator[DeviceReadings]:
    """Archived devices with kept readings dated after their archiving."""
    return _device_readings(connection, metering_devices.c.archived_on)


def readings_after_verification_due(connection: Connection) -> Iterator[DeviceReadings]:
    """Devices with kept readings dated after their next verification fell due (and no verification since)."""
    return _device_readings(connection, metering_devices.c.next_verification_on)
