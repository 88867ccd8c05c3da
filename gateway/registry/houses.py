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
from gateway.registry.sql import insert_with_serials
from gateway.registry.tables import (
    account_accommodations,
    accounts,
    device_premises,
    houses,
    living_rooms,
    metering_devices,
    object_versions,
    premises,
)


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
    """A version's data as JSON can hold it: decimals, dates and moments as their ISO/decimal text."""
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
    """Houses and their premises. Writes go with a version row; reads may be as of a past moment."""

    def __init__(self, connection: Connection) -> None:
        self.connection = connection

    def _record_version(
        self, object_type: str, guid: Guid, version: Guid, at: datetime, org: Guid, message: Guid,
        columns: dict[str, Any],
    ) -> None:
        self.connection.execute(
            insert(object_versions).values(
                version_guid=str(version), object_type=object_type, object_guid=str(guid), valid_from=at,
                org_guid=str(org), message_guid=str(message), data=json_ready(columns),
            )
        )

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

    def add_house(
        self, guid: Guid, data: HouseData, *, posted_by: Guid, message: Guid, at: datetime
    ) -> str:
        version = Guid.new()
        columns = house_columns(data)
        serial = _new_id(self.connection.execute(
            insert(houses).values(
                guid=str(guid), posted_by=str(posted_by), version_guid=str(version), created_at=at,
                updated_at=at, **columns,
            )
        ))
        unique_number = house_unique_number(data.oktmo, serial)
        self.connection.execute(update(houses).where(houses.c.id == serial).values(unique_number=unique_number))
        self._record_version("house", guid, version, at, posted_by, message,
                             {**columns, "unique_number": unique_number, "posted_by": str(posted_by)})
        return unique_number

    def add_premises(
        self, house_guid: Guid, house_unique: str, items: list[tuple[Guid, PremisesData]], *, org: Guid,
        message: Guid, at: datetime,
    ) -> list[str]:
        """Register premises of one house in two set-based statements; returns their unique numbers in order.

        One batched INSERT for the premises (their serials known first, ``insert_with_serials``) and one for
        their versions: a 1,000-flat house costs a few round trips, not four thousand.
        """
        if not items:
            return []
        rows = []
        versions: list[Guid] = []
        for guid, data in items:
            versions.append(Guid.new())
            rows.append({"guid": str(guid), "house_guid": str(house_guid), "version_guid": str(versions[-1]),
                         "created_at": at, "updated_at": at, **premises_columns(data)})
        ids = insert_with_serials(self.connection, premises, rows)
        uniques = [premises_unique_number(house_unique, serial) for serial in ids]
        self.connection.execute(insert(object_versions), [
            {"version_guid": str(version), "object_type": "premises", "object_guid": row["guid"], "valid_from": at,
             "org_guid": str(org), "message_guid": str(message),
             "data": json_ready({**premises_columns(data), "house_guid": str(house_guid), "unique_number": unique})}
            for version, row, (_, data), unique in zip(versions, rows, items, uniques, strict=True)
        ])
        return uniques

    def update_house(self, house: House, data: HouseData, *, org: Guid, message: Guid, at: datetime) -> None:
        """A new version of a registered house: the row holds the new state, the version row keeps it."""
        version = Guid.new()
        columns = house_columns(data)
        self.connection.execute(update(houses).where(houses.c.guid == str(house.guid)).values(
            version_guid=str(version), updated_at=at, **columns))
        self._record_version("house", house.guid, version, at, org, message,
                             {**columns, "unique_number": house.unique_number, "posted_by": str(house.posted_by)})

    def update_premises(self, item: Premises, data: PremisesData, *, org: Guid, message: Guid, at: datetime) -> None:
        version = Guid.new()
        columns = premises_columns(data)
        self.connection.execute(update(premises).where(premises.c.guid == str(item.guid)).values(
            version_guid=str(version), updated_at=at, **columns))
        self.connection.execute(insert(object_versions).values(
            version_guid=str(version), object_type="premises", object_guid=str(item.guid), valid_from=at,
            org_guid=str(org), message_guid=str(message),
            data=json_ready({**columns, "house_guid": str(item.house_guid), "unique_number": item.unique_number})))

    def add_room(self, guid: Guid, flat: Premises, data: RoomData, *, org: Guid, message: Guid, at: datetime) -> str:
        """A room of a registered flat; returns its unique number (the house's 25 digits, K and the row id)."""
        version = Guid.new()
        columns = {"number": data.number, **_cadastral_columns(data.cadastral), "square": data.square}
        serial = _new_id(self.connection.execute(insert(living_rooms).values(
            guid=str(guid), premises_guid=str(flat.guid), house_guid=str(flat.house_guid), version_guid=str(version),
            created_at=at, updated_at=at, **columns)))
        unique = room_unique_number(flat.unique_number, serial)
        self._record_version("living_room", guid, version, at, org, message,
                             {**columns, "premises_guid": str(flat.guid), "unique_number": unique})
        return unique

    def get_premises(self, guid: Guid) -> Premises | None:
        """One premises with its rooms."""
        row = self.connection.execute(select(premises, houses.c.unique_number.label("house_unique")).join_from(
            premises, houses, premises.c.house_guid == houses.c.guid).where(premises.c.guid == str(guid))
        ).mappings().first()
        if row is None:
            return None
        found = _premises(row, row["house_unique"])
        return replace(found, rooms=tuple(self.rooms_of(found.house_guid).get(found.guid, ())))

    def rooms_of(self, house_guid: Guid) -> dict[Guid, list[LivingRoom]]:
        """The house's rooms by flat, in the order they were registered."""
        rows = self.connection.execute(select(living_rooms, houses.c.unique_number.label("house_unique"))
                                       .join_from(living_rooms, houses, living_rooms.c.house_guid == houses.c.guid)
                                       .where(living_rooms.c.house_guid == str(house_guid))
                                       .order_by(living_rooms.c.id)).mappings()
        found: dict[Guid, list[LivingRoom]] = {}
        for r in rows:
            room = LivingRoom(Guid.stored(r["guid"]), room_unique_number(r["house_unique"], r["id"]),
                              Guid.stored(r["premises_guid"]),
                              RoomData(r["number"], _cadastral(r), decimal_or_none(r["square"])), r["updated_at"])
            found.setdefault(room.premises_guid, []).append(room)
        return found

    def get(self, fias: FiasHouseGuid, *, as_of: datetime | None = None) -> House | None:
        """The house as the registry holds it now — or held it at ``as_of``, rebuilt from its versions —
        with its premises in the order they were registered."""
        row = self.connection.execute(select(houses).where(houses.c.fias_house_guid == str(fias))).mappings().first()
        if row is None:
            return None
        if as_of is not None:
            return self._as_of(row, as_of)
        rows = self.connection.execute(
            select(premises).where(premises.c.house_guid == row["guid"]).order_by(premises.c.kind, premises.c.id)
        ).mappings()
        rooms = self.rooms_of(Guid.stored(row["guid"]))
        return House(
            guid=Guid(row["guid"]),
            unique_number=row["unique_number"],
            data=_house_data(row),
            posted_by=Guid(row["posted_by"]),
            version_guid=Guid(row["version_guid"]),
            updated_at=row["updated_at"],
            premises=tuple(replace(p, rooms=tuple(rooms.get(p.guid, ())))
                           for p in (_premises(r, row["unique_number"]) for r in rows)),
        )

    def _as_of(self, current: RowMapping, as_of: datetime) -> House | None:
        """Each object's last version recorded at or before ``as_of``; objects created later are absent."""
        ids = {r.guid: r.id for r in self.connection.execute(
            select(premises.c.guid, premises.c.id).where(premises.c.house_guid == current["guid"]))}
        room_ids = {r.guid: r.id for r in self.connection.execute(
            select(living_rooms.c.guid, living_rooms.c.id).where(living_rooms.c.house_guid == current["guid"]))}
        v = object_versions.c
        latest: dict[str, RowMapping] = {}
        rows = self.connection.execute(select(object_versions).where(
            v.object_guid.in_([current["guid"], *ids, *room_ids]),
            v.object_type.in_(["house", "premises", "living_room"]), v.valid_from <= as_of)
            .order_by(v.valid_from)).mappings()
        for version in rows:
            latest[version["object_guid"]] = version  # ordered by time: the last one wins
        house = latest.pop(current["guid"], None)
        if house is None:
            return None

        def state(version: RowMapping) -> dict[str, Any]:
            return {**version["data"], "guid": version["object_guid"], "version_guid": version["version_guid"],
                    "updated_at": version["valid_from"], "id": ids.get(version["object_guid"])}

        rooms: dict[str, list[LivingRoom]] = {}
        for guid in sorted((g for g in latest if g in room_ids), key=room_ids.__getitem__):
            room = latest.pop(guid)
            data = room["data"]
            rooms.setdefault(data["premises_guid"], []).append(LivingRoom(
                Guid.stored(guid), data["unique_number"], Guid.stored(data["premises_guid"]),
                RoomData(data["number"], _cadastral(data), decimal_or_none(data["square"])),
                room["valid_from"]))
        kept = sorted((state(p) for p in latest.values()), key=lambda r: (r["kind"], r["id"]))
        flats = (_premises(r, current["unique_number"]) for r in kept)  # type: ignore[arg-type]
        return House(guid=Guid(current["guid"]), unique_number=current["unique_number"],
                     data=_house_data(state(house)),  # type: ignore[arg-type]
                     posted_by=Guid(current["posted_by"]), version_guid=Guid(house["version_guid"]),
                     updated_at=house["valid_from"],
                     premises=tuple(replace(p, rooms=tuple(rooms.get(str(p.guid), ()))) for p in flats))

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
