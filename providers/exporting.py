"""``gateway-provider export KIND``: what the registry holds, as CSV in the same layout ``push`` reads.

The columns of KIND's push layout come first (so an export can be corrected and pushed back), then the
registry's own identifiers (GUIDs, unique numbers, ELS and ServiceID). Sources: exportHouseData (houses,
one row per premises), exportAccountData (accounts), exportMeteringDeviceData (devices) and
exportMeteringDeviceHistory (readings, every kept value of every device of the houses).
"""

from __future__ import annotations

import csv
import io
from collections.abc import Mapping, Sequence
from decimal import Decimal
from typing import Any

from providers.client import ProviderClient
from providers.layouts import ACCOUNT_TYPES, DEVICE_KINDS, LAYOUTS

KINDS = ("houses", "accounts", "devices", "readings")
_SHORT_TYPE = {value: spelling for spelling, value in reversed(list(ACCOUNT_TYPES.items()))}
_SHORT_KIND = {value: spelling for spelling, value in reversed(list(DEVICE_KINDS.items()))}


def _v(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, Decimal):
        return format(value.normalize(), "f")
    if hasattr(value, "isoformat"):
        return str(value.isoformat())[:10]
    return str(value)


def _code(ref: Any) -> str | None:
    return None if ref is None else ref.Code


def houses(client: ProviderClient, fias: Sequence[str]) -> list[dict[str, Any]]:
    rows = []
    for guid, house in client.export_house_many(fias).items():
        if house is None:
            continue
        apartment = house.ApartmentHouse
        basic = apartment.BasicCharacteristicts
        common = {"fias_house_guid": guid, "house_cadastral_number": basic.CadastralNumber,
                  "house_total_square": basic.TotalSquare, "house_state": _code(basic.State),
                  "used_year": basic.UsedYear, "floor_count": basic.FloorCount,
                  "underground_floor_count": apartment.UndergroundFloorCount,
                  "oktmo": basic.OKTMO.code if basic.OKTMO is not None else None,
                  "olson_tz": _code(basic.OlsonTZ), "cultural_heritage": basic.CulturalHeritage,
                  "house_guid": house.HouseGUID, "house_unique_number": house.HouseUniqueNumber}
        premises = [("residential", p) for p in apartment.ResidentialPremises or []] + [
            ("non_residential", p) for p in apartment.NonResidentialPremises or []]
        if not premises:
            rows.append(common)
        for kind, p in premises:
            rows.append({**common, "premises_kind": kind, "premises_number": p.PremisesNum,
                         "entrance": getattr(p, "EntranceNum", None), "total_area": p.TotalArea,
                         "gross_area": getattr(p, "GrossArea", None), "cadastral_number": p.CadastralNumber,
                         "no_cadastral_number": getattr(p, "NoCadastralNumber", None),
                         "premises_guid": p.PremisesGUID,
                         "premises_unique_number": getattr(p, "PremisesUniqueNumber", None)})
    return rows


def accounts(client: ProviderClient, fias: Sequence[str]) -> list[dict[str, Any]]:
    rows = []
    for guid, found in client.export_accounts_many(fias).items():
        for a in found or []:
            kind = next((flag for flag in _SHORT_TYPE if getattr(a, flag, None)), None)
            place = (a.Accommodation or [None])[0]
            person = a.PayerInfo.Ind if a.PayerInfo is not None else None
            rows.append({"account_number": a.AccountNumber, "account_type": _SHORT_TYPE.get(kind or ""),
                         "fias_house_guid": guid,
                         "premises_guid": place.PremisesGUID if place is not None else None,
                         "share_percent": place.SharePercent if place is not None else None,
                         "surname": person.Surname if person else None,
                         "first_name": person.FirstName if person else None,
                         "patronymic": person.Patronymic if person else None,
                         "total_square": a.TotalSquare, "residential_square": a.ResidentialSquare,
                         "heated_area": a.HeatedArea, "living_persons": a.LivingPersonsNumber,
                         "account_guid": a.AccountGUID, "unified_account_number": a.UnifiedAccountNumber,
                         "service_id": a.ServiceID, "closed": a.Closed is not None})
    return rows


def devices(client: ProviderClient, fias: Sequence[str]) -> list[dict[str, Any]]:
    rows = []
    for guid, found in client.export_devices_many(fias).items():
        for d in found or []:
            basic = d.BasicChatacteristicts
            kind = next((k for k in _SHORT_KIND if getattr(basic, k, None) is not None), None)
            place = getattr(basic, kind) if kind else None
            one = (d.MunicipalResourceNotEnergy or [None])[0]
            energy = d.MunicipalResourceEnergy
            rows.append({
                "fias_house_guid": guid, "device_number": basic.MeteringDeviceNumber,
                "device_kind": _SHORT_KIND.get(kind or ""),
                "premises_guid": ((getattr(place, "PremiseGUID", None) or [None])[0]) if place is not None else None,
                "account_guid": ((getattr(place, "AccountGUID", None) or [None])[0]) if place is not None else None,
                "resource": one.MunicipalResource.Code if one is not None else None,
                "base_value": one.MeteringValue if one is not None else None,
                "base_t1": energy.MeteringValueT1 if energy is not None else None,
                "base_t2": energy.MeteringValueT2 if energy is not None else None,
                "base_t3": energy.MeteringValueT3 if energy is not None else None,
                "model": basic.MeteringDeviceModel, "stamp": basic.MeteringDeviceStamp,
                "installed_on": basic.InstallationDate, "commissioned_on": basic.CommissioningDate,
                "first_verified_on": basic.FirstVerificationDate,
                "verification_interval": _code(basic.VerificationInterval), "remote": basic.RemoteMeteringMode,
                "device_root_guid": d.MeteringDeviceRootGUID, "device_version_guid": d.MeteringDeviceVersionGUID,
                "status": d.StatusRootDoc, "gis_number": d.MeteringDeviceGISGKHNumber})
    return rows


def readings(client: ProviderClient, fias: Sequence[str]) -> list[dict[str, Any]]:
    found = devices(client, fias)
    numbers = {d["device_root_guid"]: d["device_number"] for d in found}
    queries = []
    for house in fias:  # the request takes ≤ 100 devices
        roots = [d["device_root_guid"] for d in found if d["fias_house_guid"] == house]
        queries += [(house, roots[start:start + 100]) for start in range(0, len(roots), 100)]
    rows = []
    for history in client.export_history_many(queries) if queries else []:
        root = history.MeteringDeviceRootGUID
        common = {"device_root_guid": root, "fias_house_guid": history.FIASHouseGuid,
                  "device_number": numbers.get(root)}
        electric = history.ElectricDeviceValue is not None
        holder = history.ElectricDeviceValue if electric else history.OneRateDeviceValue
        values = holder.Values if holder is not None else None
        for kind in ("CurrentValue", "ControlValue"):
            for v in (getattr(values, kind, None) or []) if values is not None else []:
                reading = {"t1": v.MeteringValueT1, "t2": v.MeteringValueT2, "t3": v.MeteringValueT3} if electric \
                    else {"resource": v.MunicipalResource.Code, "value": v.MeteringValue}
                rows.append({**common, **reading, "date": v.DateValue, "period": _period(v),
                             "control": kind == "ControlValue", "entered": v.EnterIntoSystem})
    return rows


def _period(value: Any) -> str | None:
    period = getattr(value, "Period", None)
    return f"{int(period.Year):04d}-{int(period.Month):02d}" if period is not None else None


EXPORTS = {"houses": houses, "accounts": accounts, "devices": devices, "readings": readings}
EXTRA = {"houses": ["house_guid", "house_unique_number", "premises_guid", "premises_unique_number"],
         "accounts": ["account_guid", "unified_account_number", "service_id", "closed"],
         "devices": ["device_root_guid", "device_version_guid", "status", "gis_number"],
         "readings": ["entered"]}


def export(kind: str, client: ProviderClient, fias: Sequence[str], nsi: Mapping[int, Mapping[str, str]]
           ) -> tuple[list[str], list[dict[str, Any]]]:
    """The header (push layout columns, then the registry's) and the rows of KIND for the houses."""
    header = [c.name for c in LAYOUTS[kind].columns]
    header += [name for name in EXTRA[kind] if name not in header]
    return header, EXPORTS[kind](client, fias)


def to_csv(header: list[str], rows: list[dict[str, Any]], *, delimiter: str = ";") -> str:
    out = io.StringIO()
    writer = csv.writer(out, delimiter=delimiter, lineterminator="\r\n")
    writer.writerow(header)
    for row in rows:
        writer.writerow([_v(row.get(name)) for name in header])
    return out.getvalue()
