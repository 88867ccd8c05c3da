"""importDecreesAndDocumentsData, exportDecreesAndDocumentsData (rap): inspectorates' penalty decrees.

Only a regulator or the operator posts decrees (the door refuses anyone else, ``Operation.roles``; checked
again here, since a role can change between acceptance and processing). A regulator posts decrees only on
organisations serving a house in its jurisdiction (``jurisdictions``: OKTMO prefixes) and changes, cancels or
annuls only its own decrees; the operator may act on any. Each TransportGuid stands or falls alone.
"""

from __future__ import annotations

from datetime import datetime

from gateway.domain.decrees import VIOLATION_OBJECT_NSI, Decree, DecreeData, DecreeStatus, DecreeToImport, ExportDecrees
from gateway.domain.model import Organisation, OrgRole
from gateway.domain.results import ObjectResult
from gateway.domain.values import Guid, InvalidValue
from gateway.errors import Code
from gateway.registry.unit_of_work import UnitOfWork

#: who may post and read decrees
DECREE_ROLES = frozenset({OrgRole.REGULATOR, OrgRole.OPERATOR})


def import_decrees(uow: UnitOfWork, sender: Organisation, commands: tuple[DecreeToImport | InvalidValue, ...], *,
                   message: Guid, now: datetime) -> list[ObjectResult]:
    results = []
    for command in commands:
        with uow.savepoint():
            results.append(_one(uow, sender, command, now=now))
    return results


def _one(uow: UnitOfWork, sender: Organisation, command: DecreeToImport | InvalidValue, *,
         now: datetime) -> ObjectResult:
    if isinstance(command, InvalidValue):
        return ObjectResult.failed(command.transport_guid, command.code, str(command))  # type: ignore[attr-defined]
    transport = command.transport_guid

    def failed(code: Code, text: str) -> ObjectResult:
        return ObjectResult.failed(transport, code, text)

    if sender.role not in DECREE_ROLES:
        return failed(Code.AUTHORITY_DENIED, f"organisation {sender.guid} ({sender.role}) may not post decrees")
    if command.procedural_documents:
        return failed(Code.NOT_SUPPORTED, "ImportProceduralDocuments is not accepted by this gateway; send the "
                                          "decree without its procedural documents")
    existing: Decree | None = None
    if command.decree_guid is not None:
        existing = uow.decrees.get(command.decree_guid)
        if existing is None or (sender.role is not OrgRole.OPERATOR and existing.regulator != sender.guid):
            # another regulator's decree is reported as a missing one: no existence oracle
            return failed(Code.DECREE_NOT_FOUND, f"no decree {command.decree_guid} posted by organisation "
                                                 f"{sender.guid}")
        if existing.status is not DecreeStatus.PUBLISHED:
            return failed(Code.DECREE_ENDED, f"decree {existing.guid} is {existing.status.value.lower()}; "
                                             "it cannot be changed")
    elif command.data is None:
        return failed(Code.VALUE_INVALID, "DecreeGuid is required to cancel or annul a decree")
    if command.data is not None:
        if (why := _refusal(uow, sender, command.data)) is not None:
            return failed(*why)
        if existing is None:
            stored = uow.decrees.place(command.data, regulator=sender.guid, at=now)
        else:
            if command.change is None:
                return failed(Code.VALUE_INVALID, "ChangeReason is required to change a decree")
            stored = uow.decrees.change(existing, command.data, command.change, at=now)
    else:
        assert existing is not None
        if command.annul:
            stored = uow.decrees.end(existing, DecreeStatus.ANNULLED, None, at=now)
        else:
            stored = uow.decrees.end(existing, DecreeStatus.CANCELLED, command.cancel, at=now)
    return ObjectResult(transport, guid=stored.guid, unique_number=stored.registry_number, update_date=now)


def _refusal(uow: UnitOfWork, sender: Organisation, data: DecreeData) -> tuple[Code, str] | None:
    offender = uow.organisations.get(data.offender)
    if offender is None:
        return Code.DECREE_OFFENDER_UNKNOWN, f"organisation {data.offender} is not registered with this gateway"
    if sender.role is OrgRole.REGULATOR:
        regions = uow.organisations.jurisdiction(sender.guid)
        if not regions:
            return Code.OUTSIDE_JURISDICTION, (f"organisation {sender.guid} has no jurisdiction configured; the "
                                               "operator sets its regions (organisations file: jurisdiction)")
        if not uow.organisations.serves_in(offender.guid, regions):
            return Code.OUTSIDE_JURISDICTION, (f"organisation {offender.guid} serves no house in your jurisdiction "
                                               f"(OKTMO {', '.join(regions)})")
    for ref in data.violation_objects:
        if why := uow.nsi.refusal(VIOLATION_OBJECT_NSI, ref, "ViolationObject"):
            return Code.NSI_UNKNOWN, why
    if data.fine_paid_on is not None and (data.executed is not True or data.fine is None):
        return Code.VALUE_INVALID, "FinePaymentDate is allowed only for an executed decree with a Fine"
    return None


def export_decrees(uow: UnitOfWork, sender: Organisation, query: ExportDecrees) -> list[Decree]:
    """A regulator's own decrees, or any for the operator."""
    if sender.role not in DECREE_ROLES:
        return []
    regulator = None if sender.role is OrgRole.OPERATOR else sender.guid
    return uow.decrees.find(regulator=regulator, guids=query.guids, proceeding_from=query.proceeding_from,
                            proceeding_to=query.proceeding_to)
