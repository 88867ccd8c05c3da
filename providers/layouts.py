"""Column layouts of the files ``gateway-provider push`` reads, and the checks each cell gets.

One ``Layout`` per KIND: its columns (name, type, required, maximum length from the official schema) and,
for schema errors, which column an XSD element comes from. Cells are checked here, on the provider's
machine: required present, GUIDs, dates (``YYYY-MM-DD`` or ``DD.MM.YYYY``, or an XLSX date), decimals
(``12.5`` or ``12,5``; spaces between thousands allowed), integers, yes/no, listed values, lengths, NSI
codes against the configured directories. docs/providers.md documents the same tables.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal, InvalidOperation
from typing import Any

from providers.codes import Local, RowError
from providers.records import NsiRef

_GUID = re.compile(r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$")
_DOTTED = re.compile(r"^(\d{1,2})\.(\d{1,2})\.(\d{4})$")
_PERIOD = re.compile(r"^(\d{4})-(\d{2})$")
TRUE, FALSE = {"1", "true", "yes", "y", "да", "д", "истина"}, {"0", "false", "no", "n", "нет", "н", "ложь"}


@dataclass(frozen=True)
class Column:
    name: str
    type: str  # text | guid | date | decimal | int | bool | period | choice | nsi
    required: bool = False
    max_length: int | None = None
    nsi: int | None = None  # registry number for type "nsi"
    choices: Mapping[str, str] = field(default_factory=dict)  # accepted spelling → value
    doc: str = ""


@dataclass(frozen=True)
class Layout:
    kind: str
    operation: str
    columns: tuple[Column, ...]
    #: official XSD element local name → column, to name the cell an XSD error is about
    elements: Mapping[str, str] = field(default_factory=dict)
    #: at least one column of each group must be filled (e.g. a premises by GUID or by number)
    one_of: tuple[tuple[str, ...], ...] = ()

    def column(self, name: str) -> Column:
        return next(c for c in self.columns if c.name == name)


Nsi = Mapping[int, Mapping[str, str]]  # registry → code → GUID


def text(value: Any) -> str:
    """A cell as text: XLSX numbers that are whole print without ``.0`` (a flat number 12, not 12.0)."""
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, datetime):
        return value.date().isoformat()
    return str(value).strip()


def _date(value: Any) -> date:
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    raw = text(value)
    dotted = _DOTTED.match(raw)
    try:
        if dotted:
            return date(int(dotted.group(3)), int(dotted.group(2)), int(dotted.group(1)))
        return date.fromisoformat(raw[:10]) if re.match(r"^\d{4}-\d{2}-\d{2}", raw) else _bad()
    except ValueError:
        raise ValueError(f"not a date: {raw!r} (YYYY-MM-DD or DD.MM.YYYY)") from None


def _bad() -> date:
    raise ValueError


def _decimal(value: Any) -> Decimal:
    raw = text(value).replace("\u00a0", "").replace(" ", "").replace(",", ".")
    try:
        number = Decimal(raw)
    except InvalidOperation:
        raise ValueError(f"not a number: {text(value)!r}") from None
    if not number.is_finite():
        raise ValueError(f"not a number: {text(value)!r}")
    return number


def _int(value: Any) -> int:
    raw = text(value)
    if not re.fullmatch(r"-?\d+", raw):
        raise ValueError(f"not a whole number: {raw!r}")
    return int(raw)


def _bool(value: Any) -> bool:
    if isinstance(value, bool):
        return value
    raw = text(value).lower()
    if raw in TRUE:
        return True
    if raw in FALSE:
        return False
    raise ValueError(f"not yes/no: {raw!r} (1/0, true/false, да/нет)")


def _guid(value: Any) -> str:
    raw = text(value)
    if not _GUID.match(raw):
        raise ValueError(f"not a GUID: {raw!r} (xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx)")
    return raw.lower()


def _period(value: Any) -> tuple[int, int]:
    if isinstance(value, datetime | date):
        return value.year, value.month
    raw = text(value)
    match = _PERIOD.match(raw) or re.match(r"^(\d{2})\.(\d{4})$", raw)
    if match is None:
        raise ValueError(f"not a month: {raw!r} (YYYY-MM)")
    year, month = (int(match.group(1)), int(match.group(2))) if len(match.group(1)) == 4 else \
        (int(match.group(2)), int(match.group(1)))
    if not 1 <= month <= 12:
        raise ValueError(f"not a month: {raw!r}")
    return year, month


PARSERS: dict[str, Callable[[Any], Any]] = {"guid": _guid, "date": _date, "decimal": _decimal, "int": _int,
                                            "bool": _bool, "period": _period}


def parse_cell(column: Column, value: Any, nsi: Nsi) -> Any:
    """The cell's value, or None when empty; ``RowError`` naming the column when it is wrong."""
    raw = text(value)
    if raw == "":
        if column.required:
            raise RowError(Local.VALUE_MISSING, "is empty but required", column=column.name)
        return None
    if column.max_length is not None and len(raw) > column.max_length:
        raise RowError(Local.VALUE_TOO_LONG, f"{len(raw)} characters, at most {column.max_length} allowed",
                       column=column.name)
    try:
        if column.type == "text":
            return raw
        if column.type == "choice":
            key = raw.lower()
            if key not in column.choices:
                raise ValueError(f"{raw!r} is not one of {', '.join(sorted(set(column.choices.values())))}")
            return column.choices[key]
        if column.type == "nsi":
            assert column.nsi is not None
            directory = nsi.get(column.nsi)
            if directory is None:
                raise RowError(Local.NSI_UNKNOWN, f"NSI {column.nsi} is not loaded: name its file in provider.toml "
                                                  "[push] nsi", column=column.name)
            if raw not in directory:
                raise RowError(Local.NSI_UNKNOWN, f"code {raw!r} is not in NSI {column.nsi}", column=column.name)
            return NsiRef(raw, directory[raw])
        return PARSERS[column.type](value)
    except ValueError as exc:
        raise RowError(Local.VALUE_INVALID, str(exc), column=column.name) from None


def parse_row(layout: Layout, index: Mapping[str, int], cells: list[Any], nsi: Nsi) -> tuple[dict[str, Any],
                                                                                            list[RowError]]:
    """Every column's value (None when empty or absent) and every error of the row, not only the first."""
    values: dict[str, Any] = {}
    errors: list[RowError] = []
    for column in layout.columns:
        position = index.get(column.name)
        cell = cells[position] if position is not None and position < len(cells) else None
        try:
            values[column.name] = parse_cell(column, cell, nsi)
        except RowError as error:
            errors.append(error)
            values[column.name] = None
    for group in layout.one_of:
        if all(values.get(name) is None for name in group) and not any(e.column in group for e in errors):
            errors.append(RowError(Local.VALUE_MISSING, f"fill one of {', '.join(group)}", column=group[0]))
    return values, errors


def missing_columns(layout: Layout, header: list[str]) -> list[str]:
    present = set(header)
    return [c.name for c in layout.columns if c.required and c.name not in present] + [
        "|".join(group) for group in layout.one_of if not present.intersection(group)]


def _choices(**names: str) -> dict[str, str]:
    return {spelling.lower(): value for value, spellings in names.items() for spelling in spellings.split("|")}


_G, _D, _N, _T = "guid", "date", "decimal", "text"

PREMISES_KINDS = _choices(residential="residential|жилое|кв|квартира|r", non_residential="non_residential|нежилое|н|n")
ACCOUNT_TYPES = _choices(isUOAccount="uo|ук", isRSOAccount="rso|рсо", isCRAccount="cr|кр",
                         isRCAccount="rc|рц", isOGVorOMSAccount="ogv", isTKOAccount="tko|тко")
DEVICE_KINDS = _choices(ResidentialPremiseDevice="residential|flat|ипу|квартирный",
                        NonResidentialPremiseDevice="non_residential|нежилое",
                        ApartmentHouseDevice="house|одпу|общедомовой",
                        CollectiveApartmentDevice="collective_apartment|коммунальная",
                        LivingRoomDevice="living_room|комнатный")

CONTRACTS = Layout("contracts", "importContractData", (
    Column("contract_number", _T, True, 255, doc="DocNum; rows with the same number are one contract"),
    Column("signing_date", _D, True), Column("effective_date", _D, True), Column("plan_end_date", _D, True),
    Column("contract_base", "nsi", True, nsi=58, doc="NSI 58 code: the ground of the contract"),
    Column("attachment_name", _T, True, 1024), Column("attachment_description", _T, False, 500),
    Column("attachment_guid", _G, True, doc="AttachmentGUID of the contract scan in the file store"),
    Column("attachment_hash", _T, True, 200, doc="AttachmentHASH (GOST R 34.11-94 / Streebog, hex)"),
    Column("fias_house_guid", _G, True), Column("start_date", _D, True), Column("end_date", _D),
), elements={"DocNum": "contract_number", "SigningDate": "signing_date", "EffectiveDate": "effective_date",
             "PlanDateComptetion": "plan_end_date", "Name": "attachment_name",
             "Description": "attachment_description", "AttachmentHASH": "attachment_hash",
             "FIASHouseGuid": "fias_house_guid", "StartDate": "start_date", "EndDate": "end_date"})

HOUSES = Layout("houses", "importHouseUOData", (
    Column("fias_house_guid", _G, True), Column("house_cadastral_number", _T, False, 255),
    Column("house_total_square", _N, True), Column("house_state", "nsi", True, nsi=24),
    Column("used_year", "int", True), Column("floor_count", "int", True),
    Column("underground_floor_count", "int", True), Column("oktmo", _T, False, 11),
    Column("olson_tz", "nsi", True, nsi=32), Column("cultural_heritage", "bool"),
    Column("premises_kind", "choice", False, choices=PREMISES_KINDS, doc="residential | non_residential"),
    Column("premises_number", _T, False, 255), Column("entrance", _T, False, 255),
    Column("total_area", _N), Column("gross_area", _N), Column("cadastral_number", _T, False, 255),
    Column("no_cadastral_number", "bool"),
), elements={"CadastralNumber": "cadastral_number", "TotalSquare": "house_total_square", "UsedYear": "used_year",
             "FloorCount": "floor_count", "UndergroundFloorCount": "underground_floor_count", "code": "oktmo",
             "PremisesNum": "premises_number", "EntranceNum": "entrance", "TotalArea": "total_area",
             "GrossArea": "gross_area", "FIASHouseGuid": "fias_house_guid"})

ACCOUNTS = Layout("accounts", "importAccountData", (
    Column("account_number", _T, False, 30), Column("account_type", "choice", True, choices=ACCOUNT_TYPES),
    Column("fias_house_guid", _G, True), Column("premises_number", _T, False, 255), Column("premises_guid", _G),
    Column("share_percent", _N), Column("surname", _T, True, 60), Column("first_name", _T, True, 60),
    Column("patronymic", _T, False, 60), Column("snils", _T, False, 11), Column("total_square", _N),
    Column("residential_square", _N), Column("heated_area", _N), Column("living_persons", "int"),
), elements={"AccountNumber": "account_number", "Surname": "surname", "FirstName": "first_name",
             "Patronymic": "patronymic", "SNILS": "snils", "TotalSquare": "total_square",
             "ResidentialSquare": "residential_square", "HeatedArea": "heated_area",
             "LivingPersonsNumber": "living_persons", "SharePercent": "share_percent",
             "PremisesGUID": "premises_guid", "FIASHouseGuid": "fias_house_guid"})

DEVICES = Layout("devices", "importMeteringDeviceData", (
    Column("fias_house_guid", _G, True), Column("device_number", _T, True, 50),
    Column("device_kind", "choice", True, choices=DEVICE_KINDS,
           doc="residential | non_residential | house | collective_apartment | living_room"),
    Column("premises_number", _T, False, 255), Column("premises_guid", _G),
    Column("account_number", _T, False, 30), Column("account_guid", _G),
    Column("resource", "nsi", False, nsi=2, doc="NSI 2 code of a one-rate device"), Column("base_value", _N),
    Column("base_t1", _N, doc="electricity: base value of zone T1 (then T2, T3)"), Column("base_t2", _N),
    Column("base_t3", _N), Column("model", _T, False, 100), Column("stamp", _T, False, 100),
    Column("installed_on", _D), Column("commissioned_on", _D, True), Column("first_verified_on", _D),
    Column("verification_interval", "nsi", False, nsi=16), Column("remote", "bool"),
), elements={"MeteringDeviceNumber": "device_number", "MeteringDeviceModel": "model",
             "MeteringDeviceStamp": "stamp", "InstallationDate": "installed_on",
             "CommissioningDate": "commissioned_on", "FirstVerificationDate": "first_verified_on",
             "MeteringValue": "base_value", "MeteringValueT1": "base_t1", "MeteringValueT2": "base_t2",
             "MeteringValueT3": "base_t3", "PremiseGUID": "premises_guid", "AccountGUID": "account_guid"})

READINGS = Layout("readings", "importMeteringDeviceValues", (
    Column("device_root_guid", _G, doc="MeteringDeviceRootGUID; or fias_house_guid + device_number"),
    Column("fias_house_guid", _G), Column("device_number", _T, False, 50),
    Column("date", _D, True), Column("resource", "nsi", False, nsi=2, doc="NSI 2 code (one-rate devices)"),
    Column("value", _N), Column("t1", _N, doc="electricity: zone T1 (then T2, T3)"), Column("t2", _N),
    Column("t3", _N), Column("period", "period", doc="YYYY-MM the reading is for; default: the month of date"),
    Column("control", "bool", doc="a control reading (taken by the provider), not the resident's"),
), elements={"MeteringValue": "value", "MeteringValueT1": "t1", "MeteringValueT2": "t2", "MeteringValueT3": "t3",
             "DateValue": "date", "MeteringDeviceRootGUID": "device_root_guid"},
   one_of=(("device_root_guid", "device_number"),))

LAYOUTS = {layout.kind: layout for layout in (CONTRACTS, HOUSES, ACCOUNTS, DEVICES, READINGS)}
