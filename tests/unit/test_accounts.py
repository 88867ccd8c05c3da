"""Account value rules and the numbers the registry gives (ELS, ServiceID), and their official XML."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from gateway import ns
from gateway.domain.accounts import (
    Accommodation,
    Account,
    AccountData,
    AccountType,
    Closing,
    PersonPayer,
    StoredAccommodation,
    service_id,
    unified_account_number,
)
from gateway.domain.model import NsiRef
from gateway.domain.values import FiasHouseGuid, Guid, InvalidValue
from gateway.soap import accounts_xml, results_xml
from gateway.xsd import Service, validate


@given(st.integers(0, 33**8 - 1), st.integers(0, 99).map(lambda r: f"{r:02d}"))
def test_unified_numbers_are_ten_characters_unique_per_serial(serial: int, region: str) -> None:
    number = unified_account_number(region, serial)
    assert len(number) == 10 and number[:2] == region and re.fullmatch(r"[0-9A-Z]{10}", number)
    assert not set(number[2:]) & set("IOQ")
    if serial:
        assert unified_account_number(region, serial - 1) != number


def test_service_ids_extend_the_unified_number_and_are_bounded() -> None:
    assert service_id("45000000AB", 1) == "45000000AB-01"
    assert len(service_id("45000000AB", 99)) == 13
    for bad in (0, 100):
        with pytest.raises(InvalidValue):
            service_id("45000000AB", bad)
    with pytest.raises(InvalidValue):
        unified_account_number("45", 33**8)


def test_an_account_pays_for_named_places_once_each() -> None:
    place = Accommodation(premises_guid=Guid.new())
    with pytest.raises(InvalidValue, match="at least one"):
        AccountData(AccountType.MANAGEMENT, None, ())
    with pytest.raises(InvalidValue, match="twice"):
        AccountData(AccountType.MANAGEMENT, None, (place, place))
    with pytest.raises(InvalidValue, match="exactly one"):
        Accommodation()
    with pytest.raises(InvalidValue, match="between 0 and 100"):
        Accommodation(premises_guid=Guid.new(), share_percent=Decimal("100.5"))


def test_an_exported_account_is_valid_against_the_official_schema() -> None:
    now = datetime(2026, 11, 23, 12, tzinfo=UTC)
    places = (StoredAccommodation(Accommodation(premises_guid=Guid.new(), share_percent=Decimal("50")),
                                  "45000000AB-01"),
              StoredAccommodation(Accommodation(fias_house_guid=FiasHouseGuid(str(Guid.new()))), "45000000AB-02"))
    data = AccountData(AccountType.MANAGEMENT, PersonPayer("Иванов", "Иван", snils="12345678901"),
                       tuple(p.accommodation for p in places), account_number="100500", living_persons=3,
                       total_square=Decimal("54.3000"), is_renter=True,
                       closed=Closing(NsiRef("1", Guid.new()), date(2026, 11, 1), "продажа"))
    root = results_xml.state_result(ns.HM, "11.0.0.1", Guid.new(), 3)
    accounts_xml.encode_export_account(root, Account(Guid.new(), "45000000AB", data, Guid.new(), now, now, places))
    validate(root, Service.HOUSE_MANAGEMENT)


def _import_request(*accounts: str) -> bytes:
    return (f'<hm:importAccountRequest xmlns:hm="{ns.HM}" xmlns:base="{ns.BASE}" xmlns:ab="{ns.ACCOUNT_BASE}" '
            f'xmlns:ir="{ns.INDIVIDUAL_REGISTRY_BASE}" xmlns:nsi="{ns.NSI_BASE}">' + "".join(accounts)
            + "</hm:importAccountRequest>").encode()


FULL = """<hm:Account><hm:isUOAccount>true</hm:isUOAccount><hm:isCRAccount>true</hm:isCRAccount>
<hm:LivingPersonsNumber> 3 </hm:LivingPersonsNumber><hm:TotalSquare>54.3</hm:TotalSquare>
<hm:ResidentialSquare>40.1</hm:ResidentialSquare><hm:HeatedArea>54</hm:HeatedArea>
<hm:Closed><hm:CloseReason><nsi:Code>2</nsi:Code><nsi:GUID>1f0e8d1c-1b2a-4c3d-9e8f-7a6b5c4d3e2f</nsi:GUID>
</hm:CloseReason><hm:CloseDate>2026-11-30</hm:CloseDate><hm:Description>moved</hm:Description></hm:Closed>
<hm:Accommodation><hm:PremisesGUID>2f0e8d1c-1b2a-4c3d-9e8f-7a6b5c4d3e2f</hm:PremisesGUID>
<hm:SharePercent>50</hm:SharePercent></hm:Accommodation>
<hm:Accommodation><hm:FIASHouseGuid>3f0e8d1c-1b2a-4c3d-9e8f-7a6b5c4d3e2f</hm:FIASHouseGuid></hm:Accommodation>
<!-- a comment among the children --><hm:PayerInfo><hm:IsRenter>1</hm:IsRenter><hm:Ind><ir:Surname>Иванов</ir:Surname>
<ir:FirstName>Иван</ir:FirstName><ir:Patronymic>Иванович</ir:Patronymic><ir:SNILS>12345678901</ir:SNILS>
<ir:ID><ir:Type><nsi:Code>1</nsi:Code></ir:Type><ir:Series>4510</ir:Series><ir:Number>123456</ir:Number></ir:ID>
</hm:Ind></hm:PayerInfo><base:TransportGUID>4f0e8d1c-1b2a-4c3d-9e8f-7a6b5c4d3e2f</base:TransportGUID>
<ab:AccountNumber>LS-1</ab:AccountNumber></hm:Account>"""


def test_an_account_with_every_field_decodes_to_what_it_says() -> None:
    from gateway.xmlparse import parse_untrusted

    (item,) = accounts_xml.decode_import_accounts(parse_untrusted(_import_request(FULL))).accounts
    data = item.data
    assert isinstance(data, AccountData)
    assert data.account_type is AccountType.MANAGEMENT  # the first flag in document order
    assert data.payer == PersonPayer(surname="Иванов", first_name="Иван", patronymic="Иванович",
                                     snils="12345678901", document_type="1", document_series="4510",
                                     document_number="123456")
    assert data.is_renter is True and data.living_persons == 3 and data.account_number == "LS-1"
    assert (data.total_square, data.residential_square, data.heated_area) == (Decimal("54.3"), Decimal("40.1"),
                                                                              Decimal("54"))
    assert data.accommodations == (
        Accommodation(premises_guid=Guid("2f0e8d1c-1b2a-4c3d-9e8f-7a6b5c4d3e2f"), share_percent=Decimal("50")),
        Accommodation(fias_house_guid=FiasHouseGuid("3f0e8d1c-1b2a-4c3d-9e8f-7a6b5c4d3e2f")))
    assert data.closed == Closing(NsiRef("2", Guid("1f0e8d1c-1b2a-4c3d-9e8f-7a6b5c4d3e2f"), None), date(2026, 11, 30),
                                  "moved")
    assert str(item.transport_guid) == "4f0e8d1c-1b2a-4c3d-9e8f-7a6b5c4d3e2f" and item.account_guid is None


@pytest.mark.parametrize("cut, message", [
    ("<ir:Surname>Иванов</ir:Surname>", "Surname is missing"),
    ("<ir:FirstName>Иван</ir:FirstName>", "FirstName is missing"),
    ("<hm:isUOAccount>true</hm:isUOAccount><hm:isCRAccount>true</hm:isCRAccount>", "account type flag"),
])
def test_an_account_missing_a_required_part_is_refused_alone(cut: str, message: str) -> None:
    from gateway.xmlparse import parse_untrusted

    broken = FULL.replace(cut, "")
    no_payer = FULL[:FULL.index("<hm:PayerInfo>")] + FULL[FULL.index("</hm:PayerInfo>") + len("</hm:PayerInfo>"):]
    decoded = accounts_xml.decode_import_accounts(parse_untrusted(_import_request(broken, no_payer, FULL)))
    first, second, third = (a.data for a in decoded.accounts)
    assert isinstance(first, InvalidValue) and message in str(first)
    assert isinstance(second, InvalidValue) and "PayerInfo is missing" in str(second)
    assert isinstance(third, AccountData)
