"""importAccountData and exportAccountData (house-management service): personal accounts."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

from gateway.domain import authority
from gateway.domain.accounts import Account, AccountToImport, AccountType, ExportAccounts, ImportAccounts
from gateway.domain.model import Organisation, OrgRole
from gateway.domain.results import ObjectResult
from gateway.domain.values import Guid, InvalidValue
from gateway.errors import Code, Conflict
from gateway.registry.accounts import Place
from gateway.registry.unit_of_work import UnitOfWork
from gateway.services.batch import write_batch

#: Account types this version can authorise, and who posts them: a management organisation's accounts
#: (under its management contract or charter) and a resource supplier's (under its supply contract). The
#: others need documents it does not keep yet (capital-repair fund owners, waste contracts, …).
ROLES_OF_TYPE = {AccountType.MANAGEMENT: authority.HOUSE_UO_ROLES,
                 AccountType.RESOURCE_SUPPLY: frozenset({OrgRole.RESOURCE_SUPPLY})}
CLOSE_REASON_NSI = 22
READ_ALL_ROLES = frozenset({OrgRole.REGULATOR, OrgRole.OPERATOR})


@dataclass(frozen=True, slots=True)
class AccountResult:
    """The CommonResult of one account, with the numbers the registry gave it (ImportAccount)."""

    result: ObjectResult
    unified_number: str | None = None
    service_id: str | None = None


def import_accounts(
    uow: UnitOfWork, sender: Organisation, command: ImportAccounts, *, message: Guid, now: datetime
) -> list[AccountResult]:
    """Open or update accounts; each TransportGUID succeeds or fails on its own (≤ 100 per message, XSD)."""
    valid = [a.data for a in command.accounts if not isinstance(a.data, InvalidValue)]
    places = uow.accounts.places(acc for data in valid for acc in data.accommodations)
    mandates = uow.documents.mandates(place[1] for place in places.values())
    on = authority.today(now)
    held = uow.accounts.open_numbers(sender.guid, {data.account_number for data in valid
                                                   if data.account_number and data.closed is None})
    seen: set[Guid] = set()
    results: list[AccountResult | None] = []
    to_save: list[tuple[int, AccountToImport]] = []
    for item in command.accounts:
        refused = _refusal(uow, sender, item, places, seen, mandates, on) or _number_taken(item, held)
        seen.add(item.transport_guid)
        if refused is None:
            to_save.append((len(results), item))
        results.append(None if refused is None else AccountResult(ObjectResult.failed(item.transport_guid, *refused)))
    for index, result in _save(uow, sender, to_save, places, now=now):
        results[index] = result
    return [r for r in results if r is not None]


def _save(uow: UnitOfWork, sender: Organisation, items: list[tuple[int, AccountToImport]], places: dict[str, Place],
          *, now: datetime) -> list[tuple[int, AccountResult]]:
    """All accounts in one set-based write; if that collides, one by one so each stands or falls alone."""
    def write(batch: list[tuple[int, AccountToImport]]) -> list[tuple[int, AccountResult]]:
        guids = [item.account_guid or Guid.new() for _, item in batch]
        rows = [(guid, item.data, item.account_guid is None) for guid, (_, item) in zip(guids, batch, strict=True)
                if not isinstance(item.data, InvalidValue)]
        with uow.savepoint():
            numbers = uow.accounts.save(rows, places, org=sender.guid, at=now)
        return [(index, AccountResult(ObjectResult(item.transport_guid, guid=guid, unique_number=els, update_date=now),
                                      els, service_ids[0]))
                for (index, item), guid, (els, service_ids) in zip(batch, guids, numbers, strict=True)]

    def refuse(entry: tuple[int, AccountToImport], conflict: Conflict) -> tuple[int, AccountResult]:
        # a concurrent message opened an account with the same number first (uq_accounts_open_number)
        code = Code.ACCOUNT_NUMBER_TAKEN if "account_number" in conflict.message else Code.VALUE_INVALID
        return entry[0], AccountResult(ObjectResult.failed(entry[1].transport_guid, code, conflict.message))

    return write_batch(items, write, refuse)


def _number_taken(item: AccountToImport, held: dict[str, Guid | None]) -> tuple[Code, str] | None:
    """An organisation's open accounts have distinct numbers: a second open account for the same number (a
    replayed or duplicated opening, the same number twice in one message) is refused. ``held`` maps each number
    to its open account and learns the numbers this message opens as it goes."""
    if isinstance(item.data, InvalidValue) or not item.data.account_number or item.data.closed is not None:
        return None
    number = item.data.account_number
    if number in held and held[number] != item.account_guid:
        owner = held[number]
        where = f"open account {owner}" if owner else "another account of this message"
        return Code.ACCOUNT_NUMBER_TAKEN, f"account number {number!r} is already used by {where}"
    held[number] = item.account_guid
    return None


def _refusal(uow: UnitOfWork, sender: Organisation, item: AccountToImport, places: dict[str, Place],
             seen: set[Guid], mandates: list[authority.Mandate], on: date) -> tuple[Code, str] | None:
    if item.transport_guid in seen:
        return Code.VALUE_INVALID, f"TransportGUID {item.transport_guid} is repeated"
    if isinstance(item.data, InvalidValue):
        return item.data.code, str(item.data)
    roles = ROLES_OF_TYPE.get(item.data.account_type)
    if roles is None:
        return Code.NOT_SUPPORTED, (f"{item.data.account_type.name.lower().replace('_', ' ')} accounts need "
                                    "documents this gateway version does not record yet")
    if sender.role not in roles:
        return Code.AUTHORITY_DENIED, (f"organisation {sender.guid} ({sender.role}) may not post "
                                       f"{item.data.account_type.name.lower().replace('_', ' ')} accounts")
    if item.account_guid is not None:
        holder = uow.accounts.holder(item.account_guid)
        if holder is None:
            return Code.ACCOUNT_NOT_FOUND, f"no account {item.account_guid} to update"
        if holder != sender.guid:
            return Code.AUTHORITY_DENIED, f"account {item.account_guid} belongs to another organisation"
    for accommodation in item.data.accommodations:
        place = places.get(accommodation.place)
        if place is None:
            if accommodation.premises_guid:
                return Code.PREMISES_NOT_FOUND, f"no premises {accommodation.premises_guid} is registered"
            if accommodation.living_room_guid:
                return Code.PREMISES_NOT_FOUND, f"no living room {accommodation.living_room_guid} is registered"
            return Code.HOUSE_NOT_FOUND, f"no house with FIAS GUID {accommodation.fias_house_guid} is registered"
        if denied := authority.refusal(sender, place[1], on, mandates, "its accounts"):
            return denied.code, denied.text
    if item.data.closed is not None and (
            why := uow.nsi.refusal(CLOSE_REASON_NSI, item.data.closed.reason, "CloseReason")):
        return Code.NSI_UNKNOWN, why
    return None


def export_accounts(uow: UnitOfWork, reader: Organisation, command: ExportAccounts) -> list[Account]:
    """Accounts hold personal data: an organisation sees the accounts it posted; regulators see all."""
    visible_to = None if reader.role in READ_ALL_ROLES else reader.guid
    return uow.accounts.find(house=command.fias_house_guid, guids=command.account_guids,
                             unified=command.unified_numbers, service_ids=command.service_ids,
                             visible_to=visible_to)
