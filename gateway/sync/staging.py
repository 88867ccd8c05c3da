"""Reference records → staging rows: only what the comparisons need, one pass over each source, constant
memory (rows are generated as the source streams and written in batches by ``registry.reconciliation``)."""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from datetime import date
from typing import Any

from gateway.sync.sources import EgrnExtracts, GarRegion, LicenceRegister

#: "кв. 5", "квартира 5", "пом. Н1", "помещение 12а", "ком. 3": the premises number at the end of an address
_NUMBER = re.compile(r"(?:кв(?:артира)?|пом(?:ещение)?|ком(?:ната)?)\.?\s*№?\s*([0-9A-Za-zА-Яа-яЁё/-]+)",
                     re.IGNORECASE)
CADASTRAL_NUMBER, OKTMO = 8, 7  # GAR PARAM TYPEIDs


def premises_number(address: str | None, name: str | None = None) -> str | None:
    """The premises number an EGRN record's readable address (or name) ends with, as the registry writes it
    (``Н1``, ``5``, ``12А``); None when neither names one."""
    for text in (address, name):
        if text:
            found = _NUMBER.findall(text)
            if found:
                return str(found[-1]).upper().strip("-/")
    return None


def egrn_rows(run_id: str, source: EgrnExtracts) -> Iterator[dict[str, Any]]:
    for record in source.objects():
        yield {"run_id": run_id, "cad_number": record.cad_number, "kind": record.kind,
               "parent_cad_number": record.house_cad_number,
               "number": premises_number(record.readable_address, record.name) if record.kind == "room" else None,
               "area": record.area, "residential": record.residential, "purpose": record.purpose,
               "address": (record.readable_address or "")[:1000] or None, "file": record.file, "line": record.line}


def gar_rows(run_id: str, regions: Iterable[GarRegion], today: date) -> dict[str, Iterator[dict[str, Any]]]:
    """Generators of staging rows per staging table, over every region folder (each file read once)."""
    folders = list(regions)

    def houses() -> Iterator[dict[str, Any]]:
        for region in folders:
            for h in region.houses():
                yield {"run_id": run_id, "object_id": h.object_id, "object_guid": h.object_guid.lower(),
                       "row_id": h.id, "next_row_id": h.next_id, "is_actual": h.is_actual, "is_active": h.is_active,
                       "end_date": h.end_date}

    def apartments() -> Iterator[dict[str, Any]]:
        for region in folders:
            for a in region.apartments():
                if a.is_actual and a.is_active:
                    yield {"run_id": run_id, "object_id": a.object_id, "number": a.number.strip().upper()}

    def hierarchy() -> Iterator[dict[str, Any]]:
        for region in folders:
            for item in region.adm_hierarchy():
                if item.is_active and item.parent_object_id is not None:
                    yield {"run_id": run_id, "object_id": item.object_id, "parent_object_id": item.parent_object_id}

    def params() -> Iterator[dict[str, Any]]:
        for region in folders:
            for owner, rows in (("house", region.house_params(types={OKTMO, CADASTRAL_NUMBER})),
                                ("apartment", region.apartment_params(types={CADASTRAL_NUMBER}))):
                for p in rows:
                    if p.in_force_on(today):
                        yield {"run_id": run_id, "owner": owner, "object_id": p.object_id, "type_id": p.type_id,
                               "value": p.value.strip()}

    return {"staging_gar_houses": houses(), "staging_gar_apartments": apartments(),
            "staging_gar_hierarchy": hierarchy(), "staging_gar_params": params()}


def licence_rows(run_id: str, source: LicenceRegister) -> Iterator[dict[str, Any]]:
    for licence in source.licences():
        if not licence.houses:
            yield {"run_id": run_id, "number": licence.number, "status": licence.status,
                   "ogrn": licence.licensee_ogrn, "fias_house_guid": None, "house_from": None, "house_to": None}
        for house in licence.houses:
            yield {"run_id": run_id, "number": licence.number, "status": licence.status,
                   "ogrn": licence.licensee_ogrn, "fias_house_guid": house.fias_house_guid.lower(),
                   "house_from": house.effective_from, "house_to": house.effective_to}
