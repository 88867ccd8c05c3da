"""importAccountRequest → ImportAccounts; accounts → exportAccountResult and ImportAccount results."""

from __future__ import annotations

from decimal import Decimal

from lxml import etree

from gateway import ns
from gateway.domain.accounts import (
    Accommodation,
    Account,
    AccountData,
    AccountToImport,
    AccountType,
    Closing,
    ExportAccounts,
    ImportAccounts,
    OrganisationPayer,
    PersonPayer,
)
from gateway.domain.values import FiasHouseGuid, Guid, InvalidValue, area, xs_date
from gateway.ns import q
from gateway.soap.xmlmap import (
    boolean,
    children,
    decoded,
    hm,
    iso,
    nsi,
    nsi_out,
    own_text,
    required,
    sub,
    text,
    transport_guid,
)

#: The official choice of account type flags, in schema order.
TYPE_FLAGS = {
    "isUOAccount": AccountType.MANAGEMENT, "isRSOAccount": AccountType.RESOURCE_SUPPLY,
    "isCRAccount": AccountType.CAPITAL_REPAIR, "isRCAccount": AccountType.SETTLEMENT_CENTRE,
    "isOGVorOMSAccount": AccountType.STATE_OR_MUNICIPAL, "isTKOAccount": AccountType.WASTE,
}
FLAG_OF = {kind: flag for flag, kind in TYPE_FLAGS.items()}
IR = ns.INDIVIDUAL_REGISTRY_BASE


_PAYER_INFO, _IND, _ORG, _IS_RENTER = hm("PayerInfo"), hm("Ind"), hm("Org"), hm("IsRenter")
_CLOSED, _ACCOMMODATION, _PERSONS = hm("Closed"), hm("Accommodation"), hm("LivingPersonsNumber")
_TOTAL, _RESIDENTIAL, _HEATED = hm("TotalSquare"), hm("ResidentialSquare"), hm("HeatedArea")
_ACCOUNT_NUMBER = q(ns.ACCOUNT_BASE, "AccountNumber")
_PREMISES, _FIAS, _ROOM, _SHARE = hm("PremisesGUID"), hm("FIASHouseGuid"), hm("LivingRoomGUID"), hm("SharePercent")
_SURNAME, _FIRST, _PATRONYMIC, _SNILS = q(IR, "Surname"), q(IR, "FirstName"), q(IR, "Patronymic"), q(IR, "SNILS")
_ID, _TYPE, _SERIES, _NUMBER = q(IR, "ID"), q(IR, "Type"), q(IR, "Series"), q(IR, "Number")
_TYPE_FLAGS = {hm(flag): kind for flag, kind in TYPE_FLAGS.items()}


def _payer(kids: dict[str, etree._Element]) -> tuple[PersonPayer | OrganisationPayer | None, bool]:
    info = kids.get(_PAYER_INFO)
    if info is None:
        raise InvalidValue("PayerInfo is missing")
    about = children(info)
    renter = boolean(own_text(about.get(_IS_RENTER))) is True
    person = about.get(_IND)
    if person is not None:
        fields = children(person)
        surname, first_name = own_text(fields.get(_SURNAME)), own_text(fields.get(_FIRST))
        if surname is None:
            raise InvalidValue("Surname is missing")
        if first_name is None:
            raise InvalidValue("FirstName is missing")
        document = fields.get(_ID)
        papers = children(document) if document is not None else {}
        document_type = papers.get(_TYPE)
        return PersonPayer(
            surname=surname, first_name=first_name, patronymic=own_text(fields.get(_PATRONYMIC)),
            snils=own_text(fields.get(_SNILS)),
            document_type=text(document_type, "Code", ns.NSI_BASE) if document_type is not None else None,
            document_series=own_text(papers.get(_SERIES)) if document is not None else None,
            document_number=own_text(papers.get(_NUMBER)) if document is not None else None,
        ), renter
    org = about.get(_ORG)
    if org is not None:
        return OrganisationPayer(Guid(required(org, "orgVersionGUID", ns.ORGANIZATIONS_REGISTRY_BASE))), renter
    return None, renter


def _accommodation(element: etree._Element) -> Accommodation:
    kids = children(element)
    premises, house = own_text(kids.get(_PREMISES)), own_text(kids.get(_FIAS))
    room = own_text(kids.get(_ROOM))
    share = own_text(kids.get(_SHARE))
    return Accommodation(premises_guid=Guid(premises) if premises else None,
                         fias_house_guid=FiasHouseGuid(house) if house else None,
                         living_room_guid=Guid(room) if room else None,
                         share_percent=area(share, "SharePercent") if share is not None else None)


def _account_data(account: etree._Element) -> AccountData:
    kids = children(account)
    kind = next((_TYPE_FLAGS[tag] for tag in kids if tag in _TYPE_FLAGS), None)
    if kind is None:
        raise InvalidValue("the account type flag (isUOAccount, isRSOAccount, …) is missing")
    payer, renter = _payer(kids)
    closed_el = kids.get(_CLOSED)
    closed = None
    if closed_el is not None:
        closed = Closing(nsi(closed_el, "CloseReason"), xs_date(required(closed_el, "CloseDate"), "CloseDate"),
                         text(closed_el, "Description"))
    persons = own_text(kids.get(_PERSONS))
    return AccountData(
        account_type=kind, payer=payer, is_renter=renter,
        accommodations=tuple(_accommodation(a) for a in account.iterchildren(_ACCOMMODATION)),
        account_number=own_text(kids.get(_ACCOUNT_NUMBER)),
        living_persons=int(persons) if persons is not None else None,
        total_square=_area(kids, _TOTAL, "TotalSquare"),
        residential_square=_area(kids, _RESIDENTIAL, "ResidentialSquare"),
        heated_area=_area(kids, _HEATED, "HeatedArea"), closed=closed,
    )


def _area(kids: dict[str, etree._Element], tag: str, what: str) -> Decimal | None:
    value = own_text(kids.get(tag))
    return area(value, what) if value is not None else None


def decode_import_accounts(request: etree._Element) -> ImportAccounts:
    """The command carried by a schema-valid ``hm:importAccountRequest`` (≤ 100 accounts, XSD)."""
    items = []
    for account in request.findall(hm("Account")):
        guid = text(account, "AccountGUID")
        items.append(AccountToImport(transport_guid(account), decoded(_account_data, account),
                                     Guid(guid) if guid else None))
    return ImportAccounts(tuple(items))


def decode_export_accounts(request: etree._Element) -> ExportAccounts:
    house = text(request, "FIASHouseGuid")
    return ExportAccounts(
        fias_house_guid=FiasHouseGuid(house) if house else None,
        account_guids=tuple(Guid(e.text or "") for e in request.findall(hm("AccountGUID"))),
        unified_numbers=tuple((e.text or "").strip() for e in request.findall(q(ns.ACCOUNT_BASE,
                                                                                 "UnifiedAccountNumber"))),
        service_ids=tuple((e.text or "").strip() for e in request.findall(q(ns.ACCOUNT_BASE, "ServiceID"))),
    )


def append_import_account(common: etree._Element, unified_number: str, service_id: str) -> None:
    """``hm:ImportAccount`` inside a CommonResult: the ELS and ServiceID the registry assigned."""
    numbers = etree.SubElement(common, hm("ImportAccount"))
    sub(numbers, "UnifiedAccountNumber", unified_number, ns.ACCOUNT_BASE)
    sub(numbers, "ServiceID", service_id, ns.ACCOUNT_BASE)


def _payer_out(parent: etree._Element, data: AccountData) -> None:
    info = etree.SubElement(parent, hm("PayerInfo"))
    if data.is_renter:
        sub(info, "IsRenter", True)
    if isinstance(data.payer, PersonPayer):
        person = etree.SubElement(info, hm("Ind"))
        sub(person, "Surname", data.payer.surname, IR)
        sub(person, "FirstName", data.payer.first_name, IR)
        sub(person, "Patronymic", data.payer.patronymic, IR)
        if data.payer.snils:
            sub(person, "SNILS", data.payer.snils, IR)
        elif data.payer.document_number:
            document = etree.SubElement(person, hm("ID"))
            sub(document, "Series", data.payer.document_series)
            sub(document, "Number", data.payer.document_number)
    elif isinstance(data.payer, OrganisationPayer):
        sub(etree.SubElement(info, hm("Org")), "orgVersionGUID", data.payer.org_version_guid,
            ns.ORGANIZATIONS_REGISTRY_BASE)


def encode_export_account(parent: etree._Element, account: Account) -> None:
    """``hm:exportAccountResult`` (exportAccountResultType) for one account, appended to ``parent``."""
    data = account.data
    result = etree.SubElement(parent, hm("exportAccountResult"))
    sub(result, FLAG_OF[data.account_type], True)
    sub(result, "CreationDate", iso(account.created_at))
    sub(result, "LivingPersonsNumber", data.living_persons)
    sub(result, "TotalSquare", data.total_square)
    sub(result, "ResidentialSquare", data.residential_square)
    sub(result, "HeatedArea", data.heated_area)
    if data.closed is not None:
        closed = etree.SubElement(result, hm("Closed"))
        nsi_out(closed, "CloseReason", data.closed.reason)
        sub(closed, "CloseDate", data.closed.on.isoformat())
        sub(closed, "Description", data.closed.description)
    for stored in account.accommodations:
        accommodation = etree.SubElement(result, hm("Accommodation"))
        place = stored.accommodation
        sub(accommodation, "PremisesGUID", place.premises_guid)
        sub(accommodation, "FIASHouseGuid", place.fias_house_guid)
        sub(accommodation, "LivingRoomGUID", place.living_room_guid)
        sub(accommodation, "SharePercent", place.share_percent)
    _payer_out(result, data)
    sub(result, "AccountNumber", data.account_number)
    sub(result, "AccountGUID", account.guid)
    sub(result, "UnifiedAccountNumber", account.unified_number, ns.ACCOUNT_BASE)
    if account.accommodations:
        sub(result, "ServiceID", account.accommodations[0].service_id, ns.ACCOUNT_BASE)
