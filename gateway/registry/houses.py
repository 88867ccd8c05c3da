"""House and premises repository: current rows plus a version row for every write."""

from __future__ import annotations

import zlib
from dataclasses import replace
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import Connection, CursorResult, RowMapping, insert, select, update

from gateway.domain.model import (
    Cadastral,
    CadastralStatus,
    House,
    HouseData,
    LivingRoom,
    NsiRef,
    Premises,
    PremisesData,
    PremisesKind,
    RoomData,
)
from gateway.domain.values import CadastralNumber, FiasHouseGuid, Guid, Oktmo
from gateway.registry import versions
from gateway.registry.sql import reserve_serials
from gateway.registry.tables import (
    account_accommodations,
    accounts,
    device_premises,
    houses,
    living_rooms,
    metering_devices,
    premises,
)
from gateway.registry.versions import AsOf, History


def _cadastral_columns(cadastral: Cadastral) -> dict[str, Any]:
    return {
        "cadastral_status": cadastral.status.value,
        "cadastral_number": str(cadastral.number) if cadastral.number else None,
    }


def _cadastral(row: RowMapping) -> Cadastral:
    status = CadastralStatus(row["cadastral_status"])
    number = CadastralNumber(row["cadastral_number"]) if row["cadastral_number"] else None
    return Cadastral(status, number)


def house_columns(data: HouseData) -> dict[str, Any]:
    return {
        "fias_house_guid": str(data.fias_house_guid),
        "house_type": "apartment",
        **_cadastral_columns(data.cadastral),
        "total_square": data.total_square,
        "state_code": data.state.code,
        "state_guid": str(data.state.guid),
        "used_year": data.used_year,
        "floor_count": data.floor_count,
        "underground_floor_count": data.underground_floor_count,
        "min_floor_count": data.min_floor_count,
        "oktmo": str(data.oktmo) if data.oktmo else None,
        "olson_tz_code": data.olson_tz.code,
        "olson_tz_guid": str(data.olson_tz.guid),
        "cultural_heritage": data.cultural_heritage,
    }


def premises_columns(data: PremisesData) -> dict[str, Any]:
    return {
        "kind": data.kind.value,
        "number": data.number,
        **_cadastral_columns(data.cadastral),
        "entrance_num": data.entrance_num,
        "total_area": data.total_area,
        "gross_area": data.gross_area,
        "is_common_property": data.is_common_property,
        "characteristic_code": data.characteristic.code if data.characteristic else None,
        "characteristic_guid": str(data.characteristic.guid) if data.characteristic else None,
    }


def json_ready(value: Any) -> Any:
    """A value as a JSON column can hold it: decimals, dates and moments as their ISO/decimal text."""
    if isinstance(value, dict):
        return {k: json_ready(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [json_ready(v) for v in value]
    if isinstance(value, Decimal | datetime | date):
        return str(value) if isinstance(value, Decimal) else value.isoformat()
    return value


def _house_data(row: RowMapping) -> HouseData:
    return HouseData(
        fias_house_guid=FiasHouseGuid(row["fias_house_guid"]),
        cadastral=_cadastral(row),
        total_square=Decimal(row["total_square"]),
        state=NsiRef(row["state_code"], Guid(row["state_guid"])),
        used_year=row["used_year"],
        floor_count=row["floor_count"],
        underground_floor_count=row["underground_floor_count"],
        min_floor_count=row["min_floor_count"],
        oktmo=Oktmo(row["oktmo"]) if row["oktmo"] else None,
        olson_tz=NsiRef(row["olson_tz_code"], Guid(row["olson_tz_guid"])),
        cultural_heritage=bool(row["cultural_heritage"]),
    )


def decimal_or_none(value: Any) -> Decimal | None:
    return None if value is None else Decimal(value)


def _premises(row: RowMapping, house_unique: str) -> Premises:
    return Premises(
        guid=Guid(row["guid"]),
        unique_number=premises_unique_number(house_unique, row["id"]),
        house_guid=Guid(row["house_guid"]),
        version_guid=Guid(row["version_guid"]),
        updated_at=row["updated_at"],
        data=PremisesData(
            kind=PremisesKind(row["kind"]),
            number=row["number"],
            cadastral=_cadastral(row),
            total_area=decimal_or_none(row["total_area"]),
            gross_area=decimal_or_none(row["gross_area"]),
            entrance_num=row["entrance_num"],
            is_common_property=row["is_common_property"],
            characteristic=NsiRef(row["characteristic_code"], Guid.stored(row["characteristic_guid"]))
            if row.get("characteristic_code") else None,
        ),
    )


def _new_id(result: CursorResult[Any]) -> int:
    key = result.inserted_primary_key
    assert key is not None, "an INSERT of one row returns its primary key"
    return int(key[0])


def house_unique_number(oktmo: Oktmo | None, serial: int) -> str:
    """premises-base:HouseUniqueNumberType, ``[0-9]{25}-[0-9]{5}``: OKTMO (11) + serial (14) - check (5)."""
    head = f"{str(oktmo) if oktmo else '0':0>11}{serial:014d}"
    return f"{head}-{zlib.crc32(head.encode()) % 100000:05d}"


def room_unique_number(house_number: str, serial: int) -> str:
    """A room's unique number: the house's 25 digits, ``K`` and the room's row id (xs:string in the schema)."""
    return f"{house_number[:25]}-K{serial:09d}"


def premises_unique_number(house_number: str, serial: int) -> str:
    """premises-base:PremisesUniqueNumberType, ``[0-9]{25}-[0-9]{10}``: the house's 25 digits + the row id.

    Derived, not stored: both parts never change once the house and the premises exist.
    """
    return f"{house_number[:25]}-{serial:010d}"


class HouseRepository:
    """Houses, their premises and rooms: the current rows, each write captured as a version (``History``)."""

    def __init__(self, connection: Connection, history: History) -> None:
        self.connection = connection
        self._history = history

    def guid_of(self, fias: FiasHouseGuid) -> Guid | None:
        """The registry GUID of the house with this FIAS GUID, if it is registered."""
        found = self.find_house_holder(fias)
        return found[0] if found else None

    def find_house_holder(self, fias: FiasHouseGuid) -> tuple[Guid, Guid] | None:
        """The house GUID and the organisation holding it, if the house is registered."""
        row = self.connection.execute(
            select(houses.c.guid, houses.c.posted_by).where(houses.c.fias_house_guid == str(fias))
        ).first()
        return (Guid(row.guid), Guid(row.posted_by)) if row else None

    def add_house(self, guid: Guid, data: HouseData, *, posted_by: Guid, at: datetime) -> str:
        serial = _new_id(self.connection.execute(
            insert(houses).values(
                guid=str(guid), posted_by=str(posted_by), version_guid=str(Guid.new()), created_at=at,
                updated_at=at, **house_columns(data),
            )
        ))
        unique_number = house_unique_number(data.oktmo, serial)
        self.connection.execute(update(houses).where(houses.c.id == serial).values(unique_number=unique_number))
        self._history.capture(houses, "guid", [str(guid)], new=True)
        return unique_number

    def add_premises(
        self, house_guid: Guid, house_unique: str, items: list[tuple[Guid, PremisesData]], *, at: datetime,
    ) -> list[str]:
        """Register premises of one house in set-based statements; returns their unique numbers in order.

        Their serials drawn first (``reserve_serials``), then the premises and their first versions
        (``History.insert``: one statement on PostgreSQL, an INSERT and an INSERT … SELECT on SQLite). A
        1,000-flat house costs a few round trips, not four thousand.
        """
        if not items:
            return []
        rows = [{"guid": str(guid), "house_guid": str(house_guid), "version_guid": str(Guid.new()),
                 "created_at": at, "updated_at": at, **premises_columns(data)} for guid, data in items]
        ids = reserve_serials(self.connection, premises, len(rows))
        self._history.insert(premises, [{**row, "id": serial} for row, serial in zip(rows, ids, strict=True)])
        return [premises_unique_number(house_unique, serial) for serial in ids]

    def update_house(self, house: House, data: HouseData, *, at: datetime) -> None:
        """A new version of a registered house: the row holds the new state, its history the earlier ones."""
        self.connection.execute(update(houses).where(houses.c.guid == str(house.guid)).values(
            version_guid=str(Guid.new()), updated_at=at, **house_columns(data)))
        self._history.capture(houses, "guid", [str(house.guid)])

    def update_premises(self, item: Premises, data: PremisesData, *, at: datetime) -> None:
        self.connection.execute(update(premises).where(premises.c.guid == str(item.guid)).values(
            version_guid=str(Guid.new()), updated_at=at, **premises_columns(data)))
        self._history.capture(premises, "guid", [str(item.guid)])

    def add_room(self, guid: Guid, flat: Premises, data: RoomData, *, at: datetime) -> str:
        """A room of a registered flat; returns its unique number (the house's 25 digits, K and the row id)."""
        columns = {"number": data.number, **_cadastral_columns(data.cadastral), "square": data.square}
        serial = _new_id(self.connection.execute(insert(living_rooms).values(
            guid=str(guid), premises_guid=str(flat.guid), house_guid=str(flat.house_guid),
            version_guid=str(Guid.new()), created_at=at, updated_at=at, **columns)))
        self._history.capture(living_rooms, "guid", [str(guid)], new=True)
        return room_unique_number(flat.unique_number, serial)

    def get_premises(self, guid: Guid) -> Premises | None:
        """One premises with its rooms."""
        row = self.connection.execute(select(premises, houses.c.unique_number.label("house_unique")).join_from(
            premises, houses, premises.c.house_guid == houses.c.guid).where(premises.c.guid == str(guid))
        ).mappings().first()
        if row is None:
            return None
        found = _premises(row, row["house_unique"])
        return replace(found, rooms=tuple(self.rooms_of(found.house_guid).get(found.guid, ())))

    def premises_with_cadastral_number(self, number: CadastralNumber) -> Guid | None:
        """The premises carrying ``number`` (one, if the registry is consistent), if any."""
        found = self.connection.execute(select(premises.c.guid).where(
            premises.c.cadastral_number == str(number)).limit(1)).scalar()
        return Guid.stored(found) if found else None

    def rooms_of(self, house_guid: Guid, *, as_of: AsOf | None = None) -> dict[Guid, list[LivingRoom]]:
        """The house's rooms by flat, in the order they were registered (now, or at ``as_of``)."""
        r_ = versions.view(living_rooms, as_of)
        rows = self.connection.execute(select(r_, houses.c.unique_number.label("house_unique"))
                                       .join_from(r_, houses, r_.c.house_guid == houses.c.guid)
                                       .where(r_.c.house_guid == str(house_guid))
                                       .order_by(r_.c.id)).mappings()
        found: dict[Guid, list[LivingRoom]] = {}
        for r in rows:
            room = LivingRoom(Guid.stored(r["guid"]), room_unique_number(r["house_unique"], r["id"]),
                              Guid.stored(r["premises_guid"]),
                              RoomData(r["number"], _cadastral(r), decimal_or_none(r["square"])), r["updated_at"])
            found.setdefault(room.premises_guid, []).append(room)
        return found

    def get(self, fias: FiasHouseGuid, *, as_of: datetime | AsOf | None = None) -> House | None:
        """The house as the registry holds it now — or knew it at ``as_of`` — with its premises in the order they
        were registered and their rooms. One query per kind through ``versions.view``, for the present or a past
        moment alike."""
        if isinstance(as_of, datetime):
            as_of = versions.as_of(self.connection, as_of)
        h = versions.view(houses, as_of)
        row = self.connection.execute(select(h).where(h.c.fias_house_guid == str(fias))).mappings().first()
        if row is None:
            return None
        p = versions.view(premises, as_of)
        rows = self.connection.execute(
            select(p).where(p.c.house_guid == row["guid"]).order_by(p.c.kind, p.c.id)).mappings()
        rooms = self.rooms_of(Guid.stored(row["guid"]), as_of=as_of)
        return House(
            guid=Guid(row["guid"]),
            unique_number=row["unique_number"],
            data=_house_data(row),
            posted_by=Guid(row["posted_by"]),
            version_guid=Guid(row["version_guid"]),
            updated_at=row["updated_at"],
            premises=tuple(replace(q, rooms=tuple(rooms.get(q.guid, ())))
                           for q in (_premises(r, row["unique_number"]) for r in rows)),
        )

    def open_links(self, guids: list[Guid]) -> set[Guid]:
        """Premises (of those given) with an open personal account or a metering device in service."""
        wanted = [str(g) for g in guids]
        if not wanted:
            return set()
        acc, a = account_accommodations.c, accounts.c
        held = set(self.connection.execute(select(acc.premises_guid).join_from(
            account_accommodations, accounts, acc.account_guid == a.guid).where(
            acc.premises_guid.in_(wanted), a.closed_on.is_(None))).scalars())
        dp, d = device_premises.c, metering_devices.c
        held.update(self.connection.execute(select(dp.premises_guid).join_from(
            device_premises, metering_devices, dp.device_root_guid == d.root_guid).where(
            dp.premises_guid.in_(wanted), d.archived_on.is_(None))).scalars())
        return {Guid(g) for g in held}
