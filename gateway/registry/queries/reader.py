"""``Reader``: every bulk and as-of read of the registry, one SQL statement per object kind."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import Connection, FromClause, Select, case, func, select

from gateway.registry import versions
from gateway.registry.queries.rows import (
    AccommodationRow,
    AccountRow,
    CadastralCount,
    ChangesetRow,
    DeviceRow,
    DocumentRow,
    HouseRow,
    MandateRow,
    MessageRow,
    OrganisationRow,
    PowerRow,
    PremisesRow,
    ProtocolRow,
    ReadingRow,
    RoomRow,
    VotingRow,
)
from gateway.registry.sql import among
from gateway.registry.tables import (
    account_accommodations,
    accounts,
    changesets,
    device_premises,
    documents,
    houses,
    living_rooms,
    mandates,
    messages,
    meter_readings,
    metering_devices,
    organisations,
    powers,
    premises,
    protocols,
    votings,
)

#: rows fetched from the database at a time: memory stays flat however many a query returns
BATCH = 2_000
_EXPLICIT = ("no_number", "not_registered")


def _decimal(value: Any) -> Decimal | None:
    return None if value is None else Decimal(value)


class Reader:
    """Reads the registry as it is now (``at=None``) or as the registry knew it at ``at``.

    The moment is fixed when the reader is made (``versions.as_of``: the commit barrier passed, in-flight
    change sets found), so every query of one reader sees the same registry — a report's tables agree.
    """

    def __init__(self, connection: Connection, at: datetime | None = None) -> None:
        self.connection = connection
        self.at = at
        self.moment = versions.as_of(connection, at) if at is not None else None

    def view(self, table: Any) -> FromClause:
        return versions.view(table, self.moment)

    def _stream(self, query: Select[Any]) -> Iterator[Any]:
        result = self.connection.execute(query.execution_options(yield_per=BATCH))
        try:
            yield from result.mappings()
        finally:
            result.close()

    def _in(self, column: Any, values: Iterable[str]) -> Any:
        return among(self.connection, column, sorted(set(values)))

    # -- organisations and their authority -----------------------------------------------------------------
    def organisations(self, *, roles: Iterable[str] = ()) -> Iterator[OrganisationRow]:
        o = self.view(organisations)
        query = select(o).order_by(o.c.name, o.c.guid)
        if wanted := list(roles):
            query = query.where(o.c.role.in_(wanted))
        for r in self._stream(query):
            yield OrganisationRow(r["guid"], r["name"], r["role"], r["ogrn"], r["inn"], r["kpp"], r["created_at"])

    def documents(self, *, org: str | None = None, kinds: Iterable[str] = ()) -> Iterator[DocumentRow]:
        d = self.view(documents)
        query = select(d).order_by(d.c.id)
        if org is not None:
            query = query.where(d.c.org_guid == org)
        if wanted := list(kinds):
            query = query.where(d.c.kind.in_(wanted))
        for r in self._stream(query):
            yield DocumentRow(r["guid"], r["version_guid"], r["version_number"], r["kind"], r["org_guid"],
                              r["number"], r["signed_on"], r["effective_on"], r["ends_on"], r["state"],
                              r["terminated_on"], r["metering_end_day"], r["metering_end_next_month"])

    def mandates(self, *, houses_: Iterable[str] = (), org: str | None = None, kinds: Iterable[str] = (),
                 live: bool = True) -> Iterator[MandateRow]:
        """Which organisation held which house, over which business period; ``live`` leaves out annulled ones."""
        m = self.view(mandates)
        query = select(m).order_by(m.c.fias_house_guid, m.c.starts_on, m.c.id)
        if wanted := list(houses_):
            query = query.where(self._in(m.c.fias_house_guid, wanted))
        if org is not None:
            query = query.where(m.c.org_guid == org)
        if kind_list := list(kinds):
            query = query.where(m.c.kind.in_(kind_list))
        if live:
            query = query.where(m.c.annulled.is_(False))
        for r in self._stream(query):
            yield MandateRow(r["document_guid"], r["kind"], r["org_guid"], r["fias_house_guid"], r["starts_on"],
                             r["ends_on"], bool(r["annulled"]))

    # -- houses, premises, rooms ---------------------------------------------------------------------------
    def houses(self, *, fias: Iterable[str] = (), region: str | None = None,
               posted_by: str | None = None) -> Iterator[HouseRow]:
        h = self.view(houses)
        query = select(h).order_by(h.c.id)
        if wanted := list(fias):
            query = query.where(self._in(h.c.fias_house_guid, wanted))
        if region:
            query = query.where(h.c.oktmo.startswith(region))
        if posted_by is not None:
            query = query.where(h.c.posted_by == posted_by)
        for r in self._stream(query):
            yield HouseRow(r["guid"], r["fias_house_guid"], r["unique_number"], r["oktmo"], r["cadastral_status"],
                           r["cadastral_number"], Decimal(r["total_square"]), r["used_year"], r["floor_count"],
                           r["posted_by"], r["version_guid"], r["created_at"], r["updated_at"])

    def premises(self, *, house_guids: Iterable[str] = (), region: str | None = None,
                 kinds: Iterable[str] = ()) -> Iterator[PremisesRow]:
        """Premises with their house's FIAS GUID and OKTMO, houses in registration order."""
        p, h = self.view(premises), self.view(houses)
        query = (select(p, h.c.fias_house_guid, h.c.oktmo).join_from(p, h, p.c.house_guid == h.c.guid)
                 .order_by(p.c.house_guid, p.c.kind, p.c.id))
        if wanted := list(house_guids):
            query = query.where(self._in(p.c.house_guid, wanted))
        if region:
            query = query.where(h.c.oktmo.startswith(region))
        if kind_list := list(kinds):
            query = query.where(p.c.kind.in_(kind_list))
        for r in self._stream(query):
            yield PremisesRow(r["guid"], r["house_guid"], r["fias_house_guid"], r["oktmo"], r["kind"], r["number"],
                              r["cadastral_status"], r["cadastral_number"], _decimal(r["total_area"]),
                              r["is_common_property"], r["characteristic_code"], r["version_guid"], r["created_at"],
                              r["updated_at"])

    def rooms(self, *, house_guids: Iterable[str] = ()) -> Iterator[RoomRow]:
        r_ = self.view(living_rooms)
        query = select(r_).order_by(r_.c.house_guid, r_.c.id)
        if wanted := list(house_guids):
            query = query.where(self._in(r_.c.house_guid, wanted))
        for r in self._stream(query):
            yield RoomRow(r["guid"], r["premises_guid"], r["house_guid"], r["number"], r["cadastral_status"],
                          r["cadastral_number"], _decimal(r["square"]), r["version_guid"], r["created_at"])

    def cadastral_counts(self, *, by: str = "house", region: str | None = None) -> list[CadastralCount]:
        """Premises by cadastral state, per house GUID, per OKTMO code or per region (OKTMO's first two
        digits): one aggregate query, computed by the database."""
        p, h = self.view(premises), self.view(houses)
        group = {"house": p.c.house_guid, "oktmo": h.c.oktmo,
                 "region": func.substr(h.c.oktmo, 1, 2)}.get(by)
        if group is None:
            raise ValueError(f"cadastral counts by {by!r}: choose house, oktmo or region")
        status = p.c.cadastral_status

        def counted(condition: Any) -> Any:
            return func.sum(case((condition, 1), else_=0))

        query = (select(group.label("grp"), func.count().label("n"), counted(status == "number").label("numbered"),
                        counted(status.in_(_EXPLICIT)).label("explicit"), counted(status == "missing").label("gap"))
                 .select_from(p).join(h, p.c.house_guid == h.c.guid).group_by(group).order_by(group))
        if region:
            query = query.where(h.c.oktmo.startswith(region))
        return [CadastralCount(r.grp, int(r.n), int(r.numbered or 0), int(r.explicit or 0), int(r.gap or 0))
                for r in self.connection.execute(query)]

    # -- accounts --------------------------------------------------------------------------------------------
    def accounts(self, *, posted_by: str | None = None, open_only: bool = False,
                 guids: Iterable[str] = ()) -> Iterator[AccountRow]:
        a = self.view(accounts)
        query = select(a.c.guid, a.c.unified_number, a.c.account_type, a.c.account_number, a.c.posted_by,
                       a.c.closed_on, a.c.closed_reason_code, a.c.version_guid, a.c.created_at,
                       a.c.updated_at).order_by(a.c.id)
        if posted_by is not None:
            query = query.where(a.c.posted_by == posted_by)
        if open_only:
            query = query.where(a.c.closed_on.is_(None))
        if wanted := list(guids):
            query = query.where(self._in(a.c.guid, wanted))
        for r in self._stream(query):
            yield AccountRow(r["guid"], r["unified_number"], r["account_type"], r["account_number"], r["posted_by"],
                             r["closed_on"], r["closed_reason_code"], r["version_guid"], r["created_at"],
                             r["updated_at"])

    def accommodations(self, *, house_guids: Iterable[str] = (), open_accounts: bool = False,
                       account_types: Iterable[str] = ()) -> Iterator[AccommodationRow]:
        """What each account pays for; ``open_accounts`` keeps those of accounts not closed (at the moment)."""
        acc = self.view(account_accommodations)
        query = select(acc).order_by(acc.c.house_guid, acc.c.account_guid, acc.c.ordinal)
        types = list(account_types)
        if open_accounts or types:
            a = self.view(accounts)
            query = query.join(a, a.c.guid == acc.c.account_guid)
            if open_accounts:
                query = query.where(a.c.closed_on.is_(None))
            if types:
                query = query.where(a.c.account_type.in_(types))
        if wanted := list(house_guids):
            query = query.where(self._in(acc.c.house_guid, wanted))
        for r in self._stream(query):
            yield AccommodationRow(r["account_guid"], r["ordinal"], r["house_guid"], r["premises_guid"],
                                   r["living_room_guid"], r["fias_house_guid"], _decimal(r["share_percent"]),
                                   r["service_id"])

    # -- metering --------------------------------------------------------------------------------------------
    def devices(self, *, house_guids: Iterable[str] = (), in_service: bool | None = None) -> Iterator[DeviceRow]:
        """Devices with the premises they serve (one query: their links aggregated per device)."""
        d, dp = self.view(metering_devices), self.view(device_premises)
        query = select(d).order_by(d.c.house_guid, d.c.id)
        if wanted := list(house_guids):
            query = query.where(self._in(d.c.house_guid, wanted))
        if in_service is True:
            query = query.where(d.c.archived_on.is_(None))
        elif in_service is False:
            query = query.where(d.c.archived_on.is_not(None))
        for chunk in _chunks(self._stream(query), BATCH):  # a batch of devices, then the premises they serve
            served: dict[str, list[str]] = {}
            for link in self.connection.execute(select(dp.c.device_root_guid, dp.c.premises_guid).where(
                    self._in(dp.c.device_root_guid, [r["root_guid"] for r in chunk]))):
                served.setdefault(link.device_root_guid, []).append(link.premises_guid)
            for r in chunk:
                codes = tuple(str(res["code"]) for res in (r["resources"] or ()))
                yield DeviceRow(r["root_guid"], r["version_guid"], r["version_number"], r["gis_number"],
                                r["house_guid"], r["fias_house_guid"], r["posted_by"], r["kind"], r["number"], codes,
                                r["installed_on"], r["commissioned_on"], r["first_verified_on"], r["verified_on"],
                                r["next_verification_on"], r["archived_on"], r["replaced_by"],
                                tuple(served.get(r["root_guid"], ())), r["created_at"])

    def readings(self, *, devices: Iterable[str] = (), period_from: str | None = None,
                 period_to: str | None = None, kinds: Iterable[str] = ()) -> Iterator[ReadingRow]:
        """Readings kept at the moment (a resubmission replaces the kept one), by device and date; periods
        ``YYYY-MM`` inclusive."""
        r_ = meter_readings.c
        query = (select(meter_readings).where(versions.kept(meter_readings, self.moment))
                 .order_by(r_.device_root_guid, r_.resource_code, r_.kind, r_.reading_date, r_.id))
        if wanted := list(devices):
            query = query.where(self._in(r_.device_root_guid, wanted))
        if period_from:
            query = query.where(r_.period >= period_from)
        if period_to:
            query = query.where(r_.period <= period_to)
        if kind_list := list(kinds):
            query = query.where(r_.kind.in_(kind_list))
        for r in self._stream(query):
            values = tuple(Decimal(v) for v in (r["v1"], r["v2"], r["v3"]) if v is not None)
            yield ReadingRow(r["guid"], r["device_root_guid"], r["resource_code"], r["kind"], r["period"],
                             r["reading_date"], values, tuple(f for f in (r["flags"] or "").split(",") if f),
                             r["posted_by"], r["message_guid"], r["recorded_at"])

    def latest_reading_dates(self, *, devices: Iterable[str] = ()) -> dict[tuple[str, str], date]:
        """(device, resource) → the date of its latest kept current reading: one aggregate query."""
        r_ = meter_readings.c
        query = (select(r_.device_root_guid, r_.resource_code, func.max(r_.reading_date).label("last"))
                 .where(versions.kept(meter_readings, self.moment), r_.kind == "current")
                 .group_by(r_.device_root_guid, r_.resource_code))
        if wanted := list(devices):
            query = query.where(self._in(r_.device_root_guid, wanted))
        return {(r.device_root_guid, r.resource_code): r.last for r in self.connection.execute(query)}

    # -- meetings --------------------------------------------------------------------------------------------
    def votings(self, *, house_guids: Iterable[str] = ()) -> Iterator[VotingRow]:
        v = self.view(votings)
        query = select(v).order_by(v.c.id)
        if wanted := list(house_guids):
            query = query.where(self._in(v.c.house_guid, wanted))
        for r in self._stream(query):
            yield VotingRow(r["guid"], r["house_guid"], r["fias_house_guid"], r["posted_by"], r["form"],
                            r["starts_at"], r["ends_at"], r["created_at"])

    def protocols(self, *, house_guids: Iterable[str] = ()) -> Iterator[ProtocolRow]:
        p = self.view(protocols)
        query = select(p).order_by(p.c.id)
        if wanted := list(house_guids):
            query = query.where(self._in(p.c.house_guid, wanted))
        for r in self._stream(query):
            results = tuple((int(i["number"]), str(i["majority"]), bool(i["made"]), i.get("declared_made"))
                            for i in r["results"])
            yield ProtocolRow(r["guid"], r["voting_guid"], r["version_number"], r["house_guid"],
                              r["fias_house_guid"], r["posted_by"], r["number"], r["protocol_date"],
                              Decimal(r["total_votes"]), Decimal(r["cast_votes"]), bool(r["competent"]), results,
                              tuple(f for f in (r["flags"] or "").split(",") if f), r["created_at"])

    # -- the message archive --------------------------------------------------------------------------------
    def messages(self, *, state: str | None = None, org: str | None = None, operation: str | None = None,
                 received_from: datetime | None = None, received_to: datetime | None = None,
                 signed_by: str | None = None, power: str | None = None,
                 limit: int = 50, offset: int = 0) -> list[MessageRow]:
        """Messages newest first (a page of ``limit`` from ``offset``); the bodies are not read. ``org`` is whose
        data a message holds; ``signed_by`` / ``power`` find those another organisation signed under a power."""
        m = messages.c
        query = select(m.guid, m.org_guid, m.service, m.operation, m.state, m.attempts, m.received_at,
                       m.processed_at, m.last_error, m.signed_by, m.power_guid
                       ).order_by(m.received_at.desc(), m.guid).limit(limit).offset(offset)
        for column, value in ((m.state, state), (m.org_guid, org), (m.operation, operation),
                              (m.signed_by, signed_by), (m.power_guid, power)):
            if value is not None:
                query = query.where(column == value)
        if received_from is not None:
            query = query.where(m.received_at >= received_from)
        if received_to is not None:
            query = query.where(m.received_at < received_to)
        return [MessageRow(r.guid, r.org_guid, r.service, r.operation, r.state, r.attempts, r.received_at,
                           r.processed_at, r.last_error, r.signed_by, r.power_guid)
                for r in self.connection.execute(query)]

    def dead_messages(self) -> list[str]:
        """The MessageGUIDs of every dead-lettered message."""
        return list(self.connection.execute(select(messages.c.guid).where(messages.c.state == "dead")
                                            .order_by(messages.c.received_at)).scalars())

    # -- delegated powers and where changes came from ----------------------------------------------------------
    def powers(self, *, grantor: str | None = None, holder: str | None = None,
               guids: Iterable[str] = ()) -> Iterator[PowerRow]:
        """Delegated powers as the registry held them at the moment, oldest first."""
        p = self.view(powers)
        query = select(p).order_by(p.c.id)
        if grantor is not None:
            query = query.where(p.c.grantor_guid == grantor)
        if holder is not None:
            query = query.where(p.c.holder_guid == holder)
        if wanted := list(guids):
            query = query.where(self._in(p.c.guid, wanted))
        for r in self._stream(query):
            yield PowerRow(r["guid"], r["grantor_guid"], r["holder_guid"], tuple(r["functions"]), r["starts_on"],
                           r["ends_on"], r["state"], r["version_number"], r["granted_at"], r["accepted_at"],
                           r["ended_at"], r["changed_at"], r["changed_by"], r["change_reason"])

    def changesets(self, *, ids: Iterable[int] = (), org: str | None = None, signed_by: str | None = None,
                   power: str | None = None, messages_: Iterable[str] = ()) -> Iterator[ChangesetRow]:
        """Committed change sets (known at the moment) with their provenance: whose data (``org_guid``), and for
        a message signed under a delegated power, who signed it and under which power. History rows name theirs
        in ``changeset_id`` (readings and owners' decisions too)."""
        c = changesets.c
        query = select(changesets).where(c.committed_at.is_not(None)).order_by(c.id)
        if self.at is not None:
            query = query.where(c.committed_at <= self.at)
        if wanted := sorted(set(ids)):
            query = query.where(c.id.in_(wanted))
        for column, value in ((c.org_guid, org), (c.signed_by, signed_by), (c.power_guid, power)):
            if value is not None:
                query = query.where(column == value)
        if message_list := list(messages_):
            query = query.where(self._in(c.message_guid, message_list))
        for r in self._stream(query):
            yield ChangesetRow(int(r["id"]), r["kind"], r["org_guid"], r["message_guid"], r["signed_by"],
                               r["power_guid"], r["run_id"], r["actor"], r["role"], r["reason"], r["started_at"],
                               r["committed_at"])

    # -- counts ----------------------------------------------------------------------------------------------
    def count(self, table: Any) -> int:
        """How many objects of a kind the registry held at the moment."""
        view = self.view(table)
        return int(self.connection.execute(select(func.count()).select_from(view)).scalar() or 0)



def _chunks(rows: Iterator[Any], size: int) -> Iterator[list[Any]]:
    chunk: list[Any] = []
    for row in rows:
        chunk.append(dict(row))
        if len(chunk) == size:
            yield chunk
            chunk = []
    if chunk:
        yield chunk
