"""From checked rows to batches of official requests: grouping, look-ups, per-request limits, the XSD.

A file's rows become objects (a contract's rows one contract, a house's rows one house with its premises,
any other row one object), objects become requests at each operation's limit (README "Supported
operations": 100 contracts, accounts or devices — devices one house per request —, 1,000 readings, one
house per importHouseUORequest), and every request is checked against the official XSD before it is
journaled. A request the schema refuses is split to find the rows that make it fail: those rows are
rejected locally (PRV001005, naming the column), the others go on.

Rows that name a premises, an account or a device by its number (as billing programs know them) are
resolved through the registry's exports (exportHouseData, exportAccountData, exportMeteringDeviceData),
one per house, all sent before any is waited for.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from lxml import etree

from providers import builders
from providers.codes import Local, RowError
from providers.layouts import Layout
from providers.operations import OPERATIONS
from providers.records import (
    Account,
    AccountType,
    Attachment,
    ContractHouse,
    Device,
    DeviceKind,
    House,
    ManagementContract,
    NsiRef,
    Person,
    Premises,
    PremisesKind,
    Reading,
)


@dataclass
class Row:
    """One data row of the file, once its cells are checked."""

    line: int
    values: dict[str, Any]


@dataclass
class RowRef:
    """A row's place in a request: its object's TransportGUID, and its house's (premises rows)."""

    line: int
    transport_guid: str
    parent_guid: str | None = None


@dataclass
class Batch:
    operation: str
    body: bytes  # the unsigned request, serialised at once (a plan of 200 lxml trees would hold ~1 GB)
    rows: list[RowRef]


@dataclass
class Unit:
    """One object of a request and the rows it came from."""

    record: Any
    rows: list[RowRef]
    group: str = ""  # objects of different groups never share a request (devices: the house)


@dataclass
class Plan:
    batches: list[Batch] = field(default_factory=list)
    rejected: list[RowError] = field(default_factory=list)


class Lookups:
    """Premises, accounts and devices by number, from the registry's exports (fetched per house, once)."""

    def __init__(self, fetch: Callable[[str, list[str]], dict[str, Any]] | None,
                 resources: Mapping[str, str] | None = None) -> None:
        self.fetch = fetch  # (what, houses) → house → zeep export; None: offline (no look-ups possible)
        self.resources = resources or {}  # NSI 2 code → GUID, for a device's own resource
        self.premises: dict[str, dict[tuple[str, str], str]] = {}
        self.accounts: dict[str, dict[str, str]] = {}
        self.devices: dict[str, list[tuple[str, str, tuple[str, ...]]]] = {}

    def prefetch(self, what: str, houses: set[str]) -> None:
        if self.fetch is None or not houses:
            return
        found = self.fetch(what, sorted(houses))
        for fias in houses:
            exported = found.get(fias)
            if what == "premises":
                self.premises[fias] = _premises_of(exported)
            elif what == "accounts":
                self.accounts[fias] = {a.AccountNumber: a.AccountGUID for a in exported or [] if a.AccountNumber}
            else:
                self.devices[fias] = [(d.BasicChatacteristicts.MeteringDeviceNumber, d.MeteringDeviceRootGUID,
                                       tuple(r.MunicipalResource.Code for r in d.MunicipalResourceNotEnergy or []))
                                      for d in exported or [] if d.StatusRootDoc == "Active"]

    def premises_guid(self, fias: str, kind: str, number: str, column: str) -> str:
        found = self.premises.get(fias, {}).get((kind, number.lower()))
        if found is None:
            found = self.premises.get(fias, {}).get(("", number.lower()))
        if found is None:
            raise RowError(Local.NOT_FOUND, f"premises {number!r} is not registered in house {fias}", column=column)
        return found

    def account_guid(self, fias: str, number: str) -> str:
        found = self.accounts.get(fias, {}).get(number)
        if found is None:
            raise RowError(Local.NOT_FOUND, f"account {number!r} is not open in house {fias} (or not yours)",
                           column="account_number")
        return found

    def device_root(self, fias: str, number: str, resource: str | None) -> tuple[str, tuple[str, ...]]:
        matches = [(root, codes) for n, root, codes in self.devices.get(fias, []) if n == number
                   and (resource is None or not codes or resource in codes)]
        if not matches:
            raise RowError(Local.NOT_FOUND, f"no active device {number!r} in house {fias}", column="device_number")
        if len(matches) > 1:
            raise RowError(Local.DUPLICATE, f"device {number!r} measures several resources in house {fias}: "
                                            "fill resource", column="resource")
        return matches[0]


def _premises_of(house: Any) -> dict[tuple[str, str], str]:
    if house is None:
        return {}
    apartment = house.ApartmentHouse
    found: dict[tuple[str, str], str] = {}
    for kind, items in (("residential", apartment.ResidentialPremises), ("non_residential",
                                                                        apartment.NonResidentialPremises)):
        for p in items or []:
            found[(kind, str(p.PremisesNum).lower())] = p.PremisesGUID
            found.setdefault(("", str(p.PremisesNum).lower()), p.PremisesGUID)
    return found


# ---- objects per kind


def _agree(rows: list[Row], columns: Sequence[str]) -> list[RowError]:
    """Rows of one object must give the same value for the object's own columns (empty = not said)."""
    errors = []
    first = rows[0]
    for row in rows[1:]:
        for name in columns:
            if row.values.get(name) is not None and row.values.get(name) != first.values.get(name):
                errors.append(RowError(Local.ROWS_DISAGREE, f"{row.values[name]} differs from "
                                       f"{first.values.get(name)} on line {first.line}", column=name, line=row.line))
    return errors


def _grouped(rows: list[Row], key: str) -> dict[Any, list[Row]]:
    groups: dict[Any, list[Row]] = {}
    for row in rows:
        groups.setdefault(row.values[key], []).append(row)
    return groups


CONTRACT_COLUMNS = ("signing_date", "effective_date", "plan_end_date", "contract_base", "attachment_name",
                    "attachment_description", "attachment_guid", "attachment_hash")


def contracts(rows: list[Row], _lookups: Lookups) -> tuple[list[Unit], list[RowError]]:
    units, errors = [], []
    for number, group in _grouped(rows, "contract_number").items():
        disagree = _agree(group, CONTRACT_COLUMNS)
        if disagree:
            errors.extend(disagree)
            errors.extend(_also(group, disagree, "another row of this contract disagrees"))
            continue
        v = group[0].values
        contract = ManagementContract(
            number=number, signing_date=v["signing_date"], effective_date=v["effective_date"],
            plan_end_date=v["plan_end_date"], base=v["contract_base"],
            attachment=Attachment(v["attachment_name"], v["attachment_description"] or v["attachment_name"],
                                  v["attachment_guid"], v["attachment_hash"]),
            houses=tuple(ContractHouse(r.values["fias_house_guid"], r.values["start_date"], r.values["end_date"])
                         for r in group))
        units.append(Unit(contract, [RowRef(r.line, contract.transport_guid) for r in group]))
    return units, errors


NO_ENTRANCE = {"нет", "none", "no", "-"}
HOUSE_COLUMNS = ("house_cadastral_number", "house_total_square", "house_state", "used_year", "floor_count",
                 "underground_floor_count", "oktmo", "olson_tz", "cultural_heritage")


def houses(rows: list[Row], _lookups: Lookups) -> tuple[list[Unit], list[RowError]]:
    units, errors = [], []
    for fias, group in _grouped(rows, "fias_house_guid").items():
        disagree = _agree(group, HOUSE_COLUMNS)
        premises, refs = [], []
        seen: dict[tuple[PremisesKind, str], int] = {}
        for row in group:
            v = row.values
            if v["premises_number"] is None:
                continue
            kind = PremisesKind(v["premises_kind"] or "residential")
            if v["total_area"] is None:
                disagree.append(RowError(Local.VALUE_MISSING, "a premises needs its total area", column="total_area",
                                         line=row.line))
                continue
            key = (kind, v["premises_number"].lower())
            if key in seen:
                disagree.append(RowError(Local.DUPLICATE, f"premises {v['premises_number']} is also on line "
                                         f"{seen[key]}", column="premises_number", line=row.line))
                continue
            seen[key] = row.line
            no_entrance = (v["entrance"] or "").lower() in NO_ENTRANCE
            if kind is PremisesKind.RESIDENTIAL and v["entrance"] is None:
                disagree.append(RowError(Local.VALUE_MISSING, "a flat needs its entrance number (or 'нет' if the "
                                         "house has none)", column="entrance", line=row.line))
                continue
            item = Premises(v["premises_number"], kind, v["total_area"], v["gross_area"],
                            None if no_entrance else v["entrance"], v["cadastral_number"],
                            bool(v["no_cadastral_number"]), no_entrance=no_entrance)
            premises.append(item)
            refs.append((row.line, item.transport_guid))
        if disagree:
            errors.extend(disagree)
            errors.extend(_also(group, disagree, "another row of this house is wrong; the house is sent whole"))
            continue
        v = group[0].values
        house = House(fias, v["house_total_square"], v["house_state"], v["used_year"], v["floor_count"],
                      v["underground_floor_count"], v["olson_tz"], v["oktmo"], bool(v["cultural_heritage"]),
                      v["house_cadastral_number"], False, tuple(premises))
        lines_with_premises = {line for line, _ in refs}
        units.append(Unit(house, [RowRef(line, guid, house.transport_guid) for line, guid in refs] + [
            RowRef(r.line, house.transport_guid) for r in group if r.line not in lines_with_premises]))
    return units, errors


def _also(group: list[Row], errors: list[RowError], why: str) -> list[RowError]:
    """The other rows of an object that cannot go because some of its rows are wrong."""
    wrong = {e.line for e in errors}
    return [RowError(Local.ROWS_DISAGREE, why, line=r.line) for r in group if r.line not in wrong]


def accounts(rows: list[Row], lookups: Lookups) -> tuple[list[Unit], list[RowError]]:
    lookups.prefetch("premises", {r.values["fias_house_guid"] for r in rows
                                  if r.values["premises_number"] and not r.values["premises_guid"]})
    units, errors = [], []
    for row in rows:
        v = row.values
        try:
            premises = v["premises_guid"] or (lookups.premises_guid(v["fias_house_guid"], "", v["premises_number"],
                                                                    "premises_number")
                                              if v["premises_number"] else None)
        except RowError as error:
            error.line = row.line
            errors.append(error)
            continue
        account = Account(
            AccountType(v["account_type"]), Person(v["surname"], v["first_name"], v["patronymic"], v["snils"]),
            premises_guid=premises, fias_house_guid=None if premises else v["fias_house_guid"],
            share_percent=v["share_percent"], account_number=v["account_number"], total_square=v["total_square"],
            residential_square=v["residential_square"], heated_area=v["heated_area"],
            living_persons=v["living_persons"])
        units.append(Unit(account, [RowRef(row.line, account.transport_guid)]))
    return units, errors


def devices(rows: list[Row], lookups: Lookups) -> tuple[list[Unit], list[RowError]]:
    lookups.prefetch("premises", {r.values["fias_house_guid"] for r in rows
                                  if r.values["premises_number"] and not r.values["premises_guid"]})
    lookups.prefetch("accounts", {r.values["fias_house_guid"] for r in rows
                                  if r.values["account_number"] and not r.values["account_guid"]})
    units, errors = [], []
    for row in rows:
        try:
            device = _device(row.values, lookups)
        except RowError as error:
            error.line = row.line
            errors.append(error)
            continue
        units.append(Unit(device, [RowRef(row.line, device.transport_guid)], group=row.values["fias_house_guid"]))
    return units, errors


_PREMISES_KIND = {DeviceKind.RESIDENTIAL: "residential", DeviceKind.NON_RESIDENTIAL: "non_residential",
                  DeviceKind.COLLECTIVE_APARTMENT: "residential"}


def _device(v: dict[str, Any], lookups: Lookups) -> Device:
    fias, kind = v["fias_house_guid"], DeviceKind(v["device_kind"])
    premises: tuple[str, ...] = ()
    if kind in _PREMISES_KIND:
        if v["premises_guid"]:
            premises = (v["premises_guid"],)
        elif v["premises_number"]:
            premises = (lookups.premises_guid(fias, _PREMISES_KIND[kind], v["premises_number"], "premises_number"),)
        else:
            raise RowError(Local.VALUE_MISSING, "a premises device needs premises_number or premises_guid",
                           column="premises_number")
    accounts_: tuple[str, ...] = ()
    if v["account_guid"]:
        accounts_ = (v["account_guid"],)
    elif v["account_number"]:
        accounts_ = (lookups.account_guid(fias, v["account_number"]),)
    zones = tuple(z for z in (v["base_t1"], v["base_t2"], v["base_t3"]) if z is not None)
    if v["base_t3"] is not None and v["base_t2"] is None:
        raise RowError(Local.VALUE_MISSING, "base_t3 without base_t2", column="base_t2")
    if not zones and (v["resource"] is None or v["base_value"] is None):
        raise RowError(Local.VALUE_MISSING, "fill resource and base_value (or base_t1… for electricity)",
                       column="resource" if v["resource"] is None else "base_value")
    return Device(
        number=v["device_number"], kind=kind, commissioned_on=v["commissioned_on"],
        resources=() if zones else ((v["resource"], v["base_value"]),), energy=zones, premises_guids=premises,
        account_guids=accounts_, house_fias_guids=(fias,) if kind is DeviceKind.HOUSE else (), model=v["model"],
        stamp=v["stamp"], installed_on=v["installed_on"], first_verified_on=v["first_verified_on"],
        verification_interval=v["verification_interval"], remote=bool(v["remote"]))


def readings(rows: list[Row], lookups: Lookups) -> tuple[list[Unit], list[RowError]]:
    lookups.prefetch("devices", {r.values["fias_house_guid"] for r in rows
                                 if not r.values["device_root_guid"] and r.values["fias_house_guid"]})
    units, errors = [], []
    for row in rows:
        try:
            reading = _reading(row.values, lookups)
        except RowError as error:
            error.line = row.line
            errors.append(error)
            continue
        units.append(Unit(reading, [RowRef(row.line, reading.transport_guid)]))
    return units, errors


def _reading(v: dict[str, Any], lookups: Lookups) -> Reading:
    zones = tuple(z for z in (v["t1"], v["t2"], v["t3"]) if z is not None)
    if v["t3"] is not None and v["t2"] is None:
        raise RowError(Local.VALUE_MISSING, "t3 without t2", column="t2")
    resource = v["resource"]
    root = v["device_root_guid"]
    if root is None:
        if v["fias_house_guid"] is None:
            raise RowError(Local.VALUE_MISSING, "a device by number needs fias_house_guid", column="fias_house_guid")
        root, codes = lookups.device_root(v["fias_house_guid"], v["device_number"],
                                          resource.code if resource is not None else None)
        if resource is None and len(codes) == 1 and not zones and codes[0] in lookups.resources:
            resource = NsiRef(codes[0], lookups.resources[codes[0]])
    if not zones and (resource is None or v["value"] is None):
        raise RowError(Local.VALUE_MISSING, "fill value and resource (or t1… for electricity)",
                       column="value" if v["value"] is None else "resource")
    return Reading(root, v["date"], None if zones else resource, None if zones else v["value"], zones,
                   control=bool(v["control"]), period=v["period"])


ASSEMBLE = {"contracts": contracts, "houses": houses, "accounts": accounts, "devices": devices,
            "readings": readings}


def build(kind: str, group: str, records: list[Any]) -> etree._Element:
    if kind == "contracts":
        return builders.contracts_request(records)
    if kind == "houses":
        return builders.house_request(records[0])
    if kind == "accounts":
        return builders.accounts_request(records)
    if kind == "devices":
        return builders.devices_request(group, records)
    return builders.readings_request(records)


def plan(layout: Layout, rows: list[Row], lookups: Lookups, *, batch_size: int | None = None) -> Plan:
    """Objects from rows, requests from objects; every request already valid against the official XSD."""
    units, rejected = ASSEMBLE[layout.kind](rows, lookups)
    result = Plan(rejected=rejected)
    limit = min(x for x in (OPERATIONS[layout.operation].limit, batch_size) if x)
    chunk: list[Unit] = []
    for unit in units:
        if chunk and (len(chunk) >= limit or unit.group != chunk[0].group):
            _emit(layout, chunk, result)
            chunk = []
        chunk.append(unit)
    if chunk:
        _emit(layout, chunk, result)
    return result


def _emit(layout: Layout, units: list[Unit], result: Plan) -> None:
    try:
        body = build(layout.kind, units[0].group, [u.record for u in units])
    except builders.RequestInvalid:
        if len(units) == 1:
            _reject_unit(layout, units[0], result)
            return
        good = []
        for unit in units:  # find the objects the schema refuses; the rest make one request again
            try:
                build(layout.kind, unit.group, [unit.record])
                good.append(unit)
            except builders.RequestInvalid:
                _reject_unit(layout, unit, result)
        if good:
            _emit(layout, good, result)
        return
    result.batches.append(Batch(layout.operation, etree.tostring(body, encoding="UTF-8"),
                                [ref for u in units for ref in u.rows]))


def _reject_unit(layout: Layout, unit: Unit, result: Plan) -> None:
    try:
        build(layout.kind, unit.group, [unit.record])
        raise AssertionError("unreachable: the object alone is valid")
    except builders.RequestInvalid as exc:
        column = layout.elements.get(exc.element or "")
        message = str(exc).split(": ", 1)[-1] if ": " in str(exc) else str(exc)
        for ref in unit.rows:
            result.rejected.append(RowError(Local.SCHEMA_INVALID, _short(message), column=column, line=ref.line))


def _short(message: str) -> str:
    """lxml's schema message without the request's preamble and namespace URIs."""
    text = message.split("does not conform to the schema: ", 1)[-1]
    for uri in set(part.split("}")[0] + "}" for part in text.split("{")[1:]):
        text = text.replace("{" + uri, "")
    return text[:300]

