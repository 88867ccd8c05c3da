"""Account repository: accounts, what each pays for, their ELS and ServiceIDs, a version per write."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Any

from sqlalchemy import ARRAY, Connection, RowMapping, Text, bindparam, delete, func, or_, select, true, update

from gateway.domain.accounts import (
    Accommodation,
    Account,
    AccountData,
    AccountType,
    Closing,
    OrganisationPayer,
    PersonPayer,
    StoredAccommodation,
    service_id,
    unified_account_number,
)
from gateway.domain.model import NsiRef
from gateway.domain.values import FiasHouseGuid, Guid
from gateway.registry.houses import decimal_or_none
from gateway.registry.sql import among, reserve_serials
from gateway.registry.tables import (
    account_accommodations,
    accounts,
    houses,
    living_rooms,
    premises,
)
from gateway.registry.versions import History

#: Where an accommodation lies: (house GUID, the house's FIAS GUID, the house's OKTMO).
Place = tuple[Guid, FiasHouseGuid, str | None]


def _columns(data: AccountData) -> dict[str, Any]:
    payer: dict[str, Any] = {"payer_kind": None}
    if isinstance(data.payer, PersonPayer):
        p = data.payer
        payer = {"payer_kind": "person", "payer_surname": p.surname, "payer_first_name": p.first_name,
                 "payer_patronymic": p.patronymic, "payer_snils": p.snils, "payer_document_type": p.document_type,
                 "payer_document_series": p.document_series, "payer_document_number": p.document_number}
    elif isinstance(data.payer, OrganisationPayer):
        payer = {"payer_kind": "org", "payer_org_version_guid": str(data.payer.org_version_guid)}
    closed = data.closed
    return {
        "account_type": data.account_type.value, "account_number": data.account_number, "is_renter": data.is_renter,
        "living_persons": data.living_persons, "total_square": data.total_square,
        "residential_square": data.residential_square, "heated_area": data.heated_area,
        "closed_reason_code": closed.reason.code if closed else None,
        "closed_reason_guid": str(closed.reason.guid) if closed else None,
        "closed_on": closed.on if closed else None, "closed_description": closed.description if closed else None,
        **{k: None for k in ("payer_surname", "payer_first_name", "payer_patronymic", "payer_snils",
                             "payer_document_type", "payer_document_series", "payer_document_number",
                             "payer_org_version_guid")},
        **payer,
    }


def _data(row: RowMapping, stored: tuple[StoredAccommodation, ...]) -> AccountData:
    payer: PersonPayer | OrganisationPayer | None = None
    if row["payer_kind"] == "person":
        payer = PersonPayer(row["payer_surname"], row["payer_first_name"], row["payer_patronymic"],
                            row["payer_snils"], row["payer_document_type"], row["payer_document_series"],
                            row["payer_document_number"])
    elif row["payer_kind"] == "org":
        payer = OrganisationPayer(Guid(row["payer_org_version_guid"]))
    closed = None
    if row["closed_reason_code"]:
        closed = Closing(NsiRef(row["closed_reason_code"], Guid(row["closed_reason_guid"])), row["closed_on"],
                         row["closed_description"])
    return AccountData(
        account_type=AccountType(row["account_type"]), payer=payer,
        accommodations=tuple(s.accommodation for s in stored), account_number=row["account_number"],
        living_persons=row["living_persons"], total_square=decimal_or_none(row["total_square"]),
        residential_square=decimal_or_none(row["residential_square"]), heated_area=decimal_or_none(row["heated_area"]),
        is_renter=bool(row["is_renter"]), closed=closed,
    )


class AccountRepository:
    def __init__(self, connection: Connection, history: History) -> None:
        self.connection = connection
        self._history = history

    def places(self, items: Iterable[Accommodation]) -> dict[str, Place]:
        """Where each named premises or house lies, in two queries whatever the batch size."""
        items = list(items)  # read three times below: a generator would be spent by the first
        premises_guids = {str(a.premises_guid) for a in items if a.premises_guid}
        house_fias = {str(a.fias_house_guid) for a in items if a.fias_house_guid}
        room_guids = {str(a.living_room_guid) for a in items if a.living_room_guid}
        found: dict[str, Place] = {}
        if premises_guids:
            rows = self.connection.execute(
                select(premises.c.guid, houses.c.guid.label("house"), houses.c.fias_house_guid, houses.c.oktmo)
                .join_from(premises, houses, premises.c.house_guid == houses.c.guid)
                .where(among(self.connection, premises.c.guid, sorted(premises_guids))))
            found.update({f"p:{r.guid}": (Guid(r.house), FiasHouseGuid(r.fias_house_guid), r.oktmo) for r in rows})
        if house_fias:
            rows = self.connection.execute(select(houses.c.fias_house_guid, houses.c.guid, houses.c.oktmo)
                                           .where(among(self.connection, houses.c.fias_house_guid, sorted(house_fias))))
            found.update({f"h:{r.fias_house_guid}": (Guid(r.guid), FiasHouseGuid(r.fias_house_guid), r.oktmo)
                          for r in rows})
        if room_guids:
            rows = self.connection.execute(
                select(living_rooms.c.guid, houses.c.guid.label("house"), houses.c.fias_house_guid, houses.c.oktmo)
                .join_from(living_rooms, houses, living_rooms.c.house_guid == houses.c.guid)
                .where(among(self.connection, living_rooms.c.guid, sorted(room_guids))))
            found.update({f"r:{r.guid}": (Guid(r.house), FiasHouseGuid(r.fias_house_guid), r.oktmo)
                          for r in rows})
        return found

    def open_numbers(self, org: Guid, numbers: Iterable[str]) -> dict[str, Guid | None]:
        """Which of ``numbers`` the organisation's open accounts carry, and on which account."""
        wanted = sorted(numbers)
        if not wanted:
            return {}
        a = accounts.c
        # the conditions of the partial unique index uq_accounts_open_number, spelled out so that it can serve
        open_ = (a.posted_by == str(org), a.closed_on.is_(None), a.account_number.is_not(None))
        if self.connection.dialect.name == "postgresql":
            # one index probe per number (a LATERAL look-up): `account_number = ANY($2)` left PostgreSQL's generic
            # plan, made while the table was small, a sequential scan comparing every open account of the
            # organisation with each of the 100 numbers in turn (an array parameter is searched linearly, not
            # hashed) — 16 ms a message after 6,000 accounts and growing; a join on the numbers' array became a
            # hash join over the same scan (3 ms, growing); the probes cost the same whatever the table's size
            array = bindparam("numbers", wanted, type_=ARRAY(Text()))
            number = func.unnest(array).table_valued("number").render_derived()
            held = (select(a.account_number, a.guid).where(a.account_number == number.c.number, *open_)
                    .limit(1).lateral())
            query = select(held.c.account_number, held.c.guid).select_from(number).join(held, true())
        else:
            query = select(a.account_number, a.guid).where(a.account_number.in_(wanted), *open_)
        rows = self.connection.execute(query)
        return {r.account_number: Guid.stored(r.guid) for r in rows}

    def holder(self, guid: Guid) -> Guid | None:
        row = self.connection.execute(select(accounts.c.posted_by).where(accounts.c.guid == str(guid))).first()
        return Guid(row.posted_by) if row else None

    def save(self, items: list[tuple[Guid, AccountData, bool]], places: dict[str, Place], *, org: Guid,
             at: datetime) -> list[tuple[str, list[str]]]:
        """Create accounts (``True``) or write new versions (``False``), set-based; returns (ELS, ServiceIDs) each.

        New accounts cost one batched INSERT (PostgreSQL: their serials drawn first from the sequence; SQLite: a
        multi-row INSERT…RETURNING and one UPDATE for their ELS) whatever their number; accommodations and
        versions one INSERT each. A premises that stays in an account keeps its ServiceID across versions.
        """
        versions = [Guid.new() for _ in items]  # each write is a new version of its account
        columns = [_columns(data) for _, data, _ in items]
        unified: dict[Guid, str] = {}
        created = [(i, guid) for i, (guid, _, new) in enumerate(items) if new]
        if created:
            rows = [{"guid": str(guid), "posted_by": str(org), "version_guid": str(versions[i]), "created_at": at,
                     "updated_at": at, **columns[i]} for i, guid in created]
            ids = reserve_serials(self.connection, accounts, len(created))
            # serials known first: each ELS is written with its row, no UPDATE afterwards
            for (i, guid), serial, row in zip(created, ids, rows, strict=True):
                unified[guid] = unified_account_number(self._region(items[i][1], places), serial)
                row.update(id=serial, unified_number=unified[guid])
            self._history.insert(accounts, rows)  # the rows and their first versions
        kept: dict[Guid, dict[str, int]] = {guid: {} for guid, _, _ in items}
        changed = [(i, guid) for i, (guid, _, new) in enumerate(items) if not new]
        if changed:
            for i, guid in changed:
                unified[guid] = self.connection.execute(update(accounts).where(accounts.c.guid == str(guid)).values(
                    version_guid=str(versions[i]), updated_at=at, **columns[i]).returning(accounts.c.unified_number)
                ).scalar_one()
            acc = account_accommodations.c
            changed_guids = [str(guid) for _, guid in changed]
            for r in self.connection.execute(select(account_accommodations).where(
                    among(self.connection, acc.account_guid, changed_guids))).mappings():
                place = (f"r:{r['living_room_guid']}" if r["living_room_guid"] else
                         f"p:{r['premises_guid']}" if r["premises_guid"] else f"h:{r['fias_house_guid']}")
                kept[Guid(r["account_guid"])][place] = r["ordinal"]
            # the current state is replaced; what was there stays in the accommodations' history
            self._history.close(account_accommodations, "account_guid", changed_guids)
            self.connection.execute(delete(account_accommodations).where(
                among(self.connection, acc.account_guid, changed_guids)))
        per_account = [self._accommodation_rows(guid, data, places, unified[guid], kept[guid])
                       for guid, data, _ in items]
        if changed:
            self._history.capture(accounts, "guid", [str(guid) for _, guid in changed])
        # every accommodation of the accounts written is new (an update replaced them): rows and first versions
        self._history.insert(account_accommodations, [row for rows in per_account for row in rows])
        return [(unified[guid], [r["service_id"] for r in rows]) for (guid, _, _), rows in zip(items, per_account,
                                                                                              strict=True)]

    @staticmethod
    def _region(data: AccountData, places: dict[str, Place]) -> str:
        """The region of the account's first place (OKTMO's first two digits), "00" if unknown."""
        return (places[data.accommodations[0].place][2] or "00")[:2]

    @staticmethod
    def _accommodation_rows(guid: Guid, data: AccountData, places: dict[str, Place], els: str,
                            kept: dict[str, int]) -> list[dict[str, Any]]:
        next_ordinal = max(kept.values(), default=0) + 1
        rows: list[dict[str, Any]] = []
        for accommodation in data.accommodations:
            ordinal = kept.get(accommodation.place)
            if ordinal is None:
                ordinal, next_ordinal = next_ordinal, next_ordinal + 1
            premises_guid, fias = accommodation.premises_guid, accommodation.fias_house_guid
            rows.append({"account_guid": str(guid), "ordinal": ordinal,
                         "house_guid": str(places[accommodation.place][0]),
                         "premises_guid": str(premises_guid) if premises_guid else None,
                         "fias_house_guid": str(fias) if fias else None,
                         "living_room_guid": str(accommodation.living_room_guid)
                         if accommodation.living_room_guid else None,
                         "share_percent": accommodation.share_percent, "service_id": service_id(els, ordinal)})
        return rows

    def find(self, *, house: FiasHouseGuid | None = None, guids: Iterable[Guid] = (), unified: Iterable[str] = (),
             service_ids: Iterable[str] = (), visible_to: Guid | None = None) -> list[Account]:
        """Accounts matching any criterion, in a few indexed queries; ``visible_to`` limits them to one holder."""
        a, acc = accounts.c, account_accommodations.c
        # resolve house and ServiceID criteria to account GUIDs through their own indexes first: a single
        # query with IN (subquery) lets SQLite walk the whole accounts table (0.3 s at a million accounts)
        wanted = {str(g) for g in guids}
        if house is not None:
            house_guid = select(houses.c.guid).where(houses.c.fias_house_guid == str(house)).scalar_subquery()
            wanted.update(self.connection.execute(
                select(acc.account_guid).where(acc.house_guid == house_guid)).scalars())
        if service_list := list(service_ids):
            wanted.update(self.connection.execute(
                select(acc.account_guid).where(acc.service_id.in_(service_list))).scalars())
        criteria = []
        if wanted:
            criteria.append(a.guid.in_(sorted(wanted)))
        if unified_list := list(unified):
            criteria.append(a.unified_number.in_(unified_list))
        if not criteria:
            return []
        rows = self.connection.execute(select(accounts).where(or_(*criteria)).order_by(a.id)).mappings().all()
        if visible_to is not None:
            # filtered here, not in SQL: the set is small by construction, and a posted_by condition
            # tempts SQLite's planner into walking the holder's index (every account of a big company)
            rows = [r for r in rows if r["posted_by"] == str(visible_to)]
        if not rows:
            return []
        stored: dict[str, list[StoredAccommodation]] = {r["guid"]: [] for r in rows}
        for r in self.connection.execute(select(account_accommodations).where(
                acc.account_guid.in_(list(stored))).order_by(acc.account_guid, acc.ordinal)).mappings():
            place = Accommodation(
                premises_guid=Guid(r["premises_guid"]) if r["premises_guid"] else None,
                fias_house_guid=FiasHouseGuid(r["fias_house_guid"]) if r["fias_house_guid"] else None,
                living_room_guid=Guid(r["living_room_guid"]) if r["living_room_guid"] else None,
                share_percent=decimal_or_none(r["share_percent"]))
            stored[r["account_guid"]].append(StoredAccommodation(place, r["service_id"]))
        return [Account(Guid(r["guid"]), r["unified_number"], _data(r, tuple(stored[r["guid"]])), Guid(r["posted_by"]),
                        r["created_at"], r["updated_at"], tuple(stored[r["guid"]])) for r in rows]
