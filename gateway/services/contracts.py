"""importContractData, importCharterData (house-management): the documents that give authority over houses."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from gateway.domain import authority
from gateway.domain.authority import MANDATE_OF_ROLE, MandateKind
from gateway.domain.commands import Unsupported
from gateway.domain.contracts import (
    AnnulDocument,
    DocumentCommand,
    DocumentState,
    PlaceDocument,
    StoredDocument,
    TerminateDocument,
)
from gateway.domain.model import Organisation
from gateway.domain.results import ObjectResult
from gateway.domain.values import Guid, InvalidValue
from gateway.errors import Code
from gateway.registry.unit_of_work import UnitOfWork
from gateway.services import preamble

#: NSI directory of a management contract's ContractBase
CONTRACT_BASE_NSI = 58

KIND_NAMES = {MandateKind.CONTRACT: "management contract", MandateKind.CHARTER: "charter",
              MandateKind.SUPPLY: "resource supply contract"}


@dataclass(frozen=True, slots=True)
class DocumentResult:
    """One document's CommonResult, with the document as stored (importContract / importCharter)."""

    result: ObjectResult
    document: StoredDocument | None = None


def import_documents(uow: UnitOfWork, sender: Organisation, kind: MandateKind, commands: tuple[DocumentCommand, ...],
                     *, message: Guid, now: datetime) -> list[DocumentResult]:
    """Place, terminate or annul documents of one ``kind``; each TransportGUID stands or falls alone."""
    results = []
    for command in commands:
        with uow.savepoint():
            results.append(_one(uow, sender, kind, command, now=now))
    return results


def _one(uow: UnitOfWork, sender: Organisation, kind: MandateKind, command: DocumentCommand, *,
         now: datetime) -> DocumentResult:
    transport = command.transport_guid
    name = KIND_NAMES[kind]

    def failed(code: Code, text: str) -> DocumentResult:
        return DocumentResult(ObjectResult.failed(transport, code, text))

    if refused := preamble.not_supported(command):
        return failed(refused.code, refused.description)
    assert not isinstance(command, Unsupported)
    if kind not in MANDATE_OF_ROLE.get(sender.role, frozenset()):
        return failed(Code.AUTHORITY_DENIED, f"organisation {sender.guid} ({sender.role}) may not post a {name}")
    if isinstance(command, PlaceDocument):
        if isinstance(command.data, InvalidValue):
            return failed(command.data.code, str(command.data))
        data = command.data
        if data.base is not None and (why := uow.nsi.refusal(CONTRACT_BASE_NSI, data.base, "ContractBase")):
            return failed(Code.NSI_UNKNOWN, why)
        existing = uow.documents.mandates(h.fias_house_guid for h in data.houses)
        for house in data.houses:
            other = authority.conflicting(kind, sender.guid, house.fias_house_guid, house.starts_on,
                                          house.ends_on or data.ends_on, existing)
            if other is not None:
                until = other.ends_on.isoformat() if other.ends_on else "open-ended"
                return failed(Code.MANDATE_CONFLICT,
                              f"house {house.fias_house_guid} is managed by organisation {other.org} under "
                              f"{KIND_NAMES[other.kind]} {other.document} from {other.starts_on} ({until}); "
                              "a house has one manager at a time")
        stored = uow.documents.place(Guid.new(), data, org=sender.guid, at=now)
        return DocumentResult(ObjectResult(transport, guid=stored.guid, update_date=now), stored)
    document = uow.documents.by_version(command.version_guid, kind)
    if document is None:
        return failed(Code.CONTRACT_NOT_FOUND, f"no {name} has current version {command.version_guid}")
    if document.org != sender.guid:
        return failed(Code.AUTHORITY_DENIED, f"{name} {document.guid} belongs to organisation {document.org}")
    if document.state is not DocumentState.APPROVED:
        return failed(Code.VALUE_INVALID, f"{name} {document.guid} is already {document.state.value}")
    if isinstance(command, TerminateDocument):
        stored = uow.documents.end(document, DocumentState.TERMINATED, on=command.on, reason=command.reason, at=now)
    else:
        assert isinstance(command, AnnulDocument)
        stored = uow.documents.end(document, DocumentState.ANNULLED, on=None, reason=command.reason, at=now)
    return DocumentResult(ObjectResult(transport, guid=stored.guid, update_date=now), stored)
