"""Penalty decrees (rap): stored with the decree as posted (JSON), versioned through the history like every
registry object, so a compliance report as of a date sees exactly the decrees known then."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import Connection, func, insert, select, update

from gateway.domain.decrees import (
    Decree,
    DecreeData,
    DecreeStatus,
    Official,
    ProceduralDocument,
    Reason,
)
from gateway.domain.model import NsiRef
from gateway.domain.values import Guid
from gateway.registry.tables import decrees
from gateway.registry.versions import History


def _ref(ref: NsiRef) -> dict[str, Any]:
    return {"code": ref.code, "guid": str(ref.guid), "name": ref.name}


def _unref(raw: dict[str, Any]) -> NsiRef:
    return NsiRef(raw["code"], Guid(raw["guid"]), raw.get("name"))


def _doc(document: ProceduralDocument) -> dict[str, Any]:
    return {"kind": _ref(document.kind), "name": document.name, "number": document.number,
            "on": document.on.isoformat(), "executed": document.executed, "attachments": list(document.attachments)}


def _undoc(raw: dict[str, Any]) -> ProceduralDocument:
    return ProceduralDocument(_unref(raw["kind"]), raw["name"], raw["number"], date.fromisoformat(raw["on"]),
                              raw.get("executed"), tuple(raw.get("attachments", ())))


def data_json(data: DecreeData) -> dict[str, Any]:
    official = data.official
    return {
        "offender": str(data.offender),
        "official": None if official is None else {"surname": official.surname, "first_name": official.first_name,
                                                   "patronymic": official.patronymic, "position": official.position},
        "control_roles": [_ref(r) for r in data.control_roles], "result_kind": _ref(data.result_kind),
        "document": _doc(data.document), "punishment_kinds": [_ref(r) for r in data.punishment_kinds],
        "authority": _ref(data.authority), "authority_name": data.authority_name,
        "accepted_by_position": data.accepted_by_position,
        "violation_objects": [_ref(r) for r in data.violation_objects],
        "proceeding_date": data.proceeding_date.isoformat(),
        "fine": None if data.fine is None else str(data.fine),
        "fine_paid_on": None if data.fine_paid_on is None else data.fine_paid_on.isoformat(),
        "disqualification": data.disqualification, "suspension": data.suspension, "description": data.description,
        "taken_action": data.taken_action, "executed": data.executed,
    }


def data_of(raw: dict[str, Any]) -> DecreeData:
    official = raw.get("official")
    return DecreeData(
        offender=Guid(raw["offender"]),
        official=Official(official["surname"], official["first_name"], official.get("patronymic"),
                          official["position"]) if official else None,
        control_roles=tuple(_unref(r) for r in raw["control_roles"]), result_kind=_unref(raw["result_kind"]),
        document=_undoc(raw["document"]), punishment_kinds=tuple(_unref(r) for r in raw["punishment_kinds"]),
        authority=_unref(raw["authority"]), authority_name=raw.get("authority_name"),
        accepted_by_position=raw["accepted_by_position"],
        violation_objects=tuple(_unref(r) for r in raw["violation_objects"]),
        proceeding_date=date.fromisoformat(raw["proceeding_date"]),
        fine=Decimal(raw["fine"]) if raw.get("fine") is not None else None,
        fine_paid_on=date.fromisoformat(raw["fine_paid_on"]) if raw.get("fine_paid_on") else None,
        disqualification=raw.get("disqualification"), suspension=raw.get("suspension"),
        description=raw.get("description"), taken_action=raw.get("taken_action"), executed=raw.get("executed"))


def _reason(reason: Reason | None) -> dict[str, Any] | None:
    if reason is None:
        return None
    return {"reason": _ref(reason.reason), "document": _doc(reason.document) if reason.document else None,
            "description": reason.description}


def _unreason(raw: dict[str, Any] | None) -> Reason | None:
    if not raw:
        return None
    return Reason(_unref(raw["reason"]), _undoc(raw["document"]) if raw.get("document") else None,
                  raw.get("description"))


def decree_of(row: Any) -> Decree:
    return Decree(Guid(row["guid"]), row["registry_number"], Guid(row["regulator_guid"]), DecreeStatus(row["status"]),
                  data_of(row["data"]), _unreason(row["change_reason"]), _unreason(row["cancel_reason"]))


def _columns(data: DecreeData) -> dict[str, Any]:
    return {"offender_guid": str(data.offender), "proceeding_date": data.proceeding_date, "executed": data.executed,
            "fine_paid_on": data.fine_paid_on,
            "violation_codes": sorted({r.code for r in data.violation_objects}), "data": data_json(data)}


class DecreeRepository:
    def __init__(self, connection: Connection, history: History) -> None:
        self.connection = connection
        self._history = history

    def get(self, guid: Guid) -> Decree | None:
        row = self.connection.execute(select(decrees).where(decrees.c.guid == str(guid))).mappings().first()
        return decree_of(row) if row is not None else None

    def _next_number(self) -> str:
        """The decree's registry number (``RegistryNumber``): sequential, unique — the count so far plus one, taken
        under the transaction's write (a concurrent writer's duplicate fails on the unique index and retries)."""
        count = self.connection.execute(select(func.count()).select_from(decrees)).scalar_one()
        return f"D{count + 1:010d}"

    def place(self, data: DecreeData, *, regulator: Guid, at: datetime) -> Decree:
        guid = Guid.new()
        number = self._next_number()
        self.connection.execute(insert(decrees).values(
            guid=str(guid), registry_number=number, regulator_guid=str(regulator),
            status=DecreeStatus.PUBLISHED.value, version_guid=str(Guid.new()), created_at=at, updated_at=at,
            **_columns(data)))
        self._history.capture(decrees, "guid", [str(guid)], new=True)
        return Decree(guid, number, regulator, DecreeStatus.PUBLISHED, data, None, None)

    def change(self, decree: Decree, data: DecreeData, change: Reason | None, *, at: datetime) -> Decree:
        self.connection.execute(update(decrees).where(decrees.c.guid == str(decree.guid)).values(
            version_guid=str(Guid.new()), updated_at=at, change_reason=_reason(change), **_columns(data)))
        self._history.capture(decrees, "guid", [str(decree.guid)])
        return Decree(decree.guid, decree.registry_number, decree.regulator, decree.status, data, change,
                      decree.cancel)

    def end(self, decree: Decree, status: DecreeStatus, cancel: Reason | None, *, at: datetime) -> Decree:
        """Cancel (a court or a higher authority set it aside) or annul (entered in error) a decree."""
        self.connection.execute(update(decrees).where(decrees.c.guid == str(decree.guid)).values(
            version_guid=str(Guid.new()), updated_at=at, status=status.value, cancel_reason=_reason(cancel)))
        self._history.capture(decrees, "guid", [str(decree.guid)])
        return Decree(decree.guid, decree.registry_number, decree.regulator, status, decree.data, decree.change,
                      cancel)

    def find(self, *, regulator: Guid | None, guids: Iterable[Guid] = (), proceeding_from: date | None = None,
             proceeding_to: date | None = None, limit: int = 1000) -> list[Decree]:
        """Decrees by GUID or by the date of bringing to liability; a regulator sees its own, an operator all."""
        d = decrees.c
        query = select(decrees).order_by(d.proceeding_date, d.registry_number).limit(limit)
        if regulator is not None:
            query = query.where(d.regulator_guid == str(regulator))
        if wanted := [str(g) for g in guids]:
            query = query.where(d.guid.in_(wanted))
        if proceeding_from is not None:
            query = query.where(d.proceeding_date >= proceeding_from)
        if proceeding_to is not None:
            query = query.where(d.proceeding_date <= proceeding_to)
        return [decree_of(r) for r in self.connection.execute(query).mappings()]
