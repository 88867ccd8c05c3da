"""House and premises updates (ApartmentHouseToUpdate, premises to update) and as-of reads, on both databases."""

from __future__ import annotations

import time
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

from click.testing import CliRunner
from sqlalchemy import Engine

from gateway.domain.accounts import (
    Accommodation,
    AccountData,
    AccountToImport,
    AccountType,
    ImportAccounts,
    PersonPayer,
)
from gateway.domain.model import Organisation
from gateway.domain.values import FiasHouseGuid, Guid
from gateway.errors import Code
from gateway.registry.unit_of_work import UnitOfWork
from gateway.services import accounts as account_services
from gateway.services import houses as house_services
from gateway.soap import houses_xml
from gateway.xmlparse import parse_untrusted
from gateway.xsd import Service, validate
from tests.conftest import message_uow

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures" / "houses"
MC = Guid("6e5d4c3b-2a19-4087-b6a5-f4e3d2c1b0a9")
SEVER_1 = FiasHouseGuid("b6b7d2a0-1c3e-4f5a-8b9c-0d1e2f3a4b5c")
NS = ('xmlns:hm="http://dom.gosuslugi.ru/schema/integration/house-management/" '
      'xmlns:base="http://dom.gosuslugi.ru/schema/integration/base/"')


def update_request(premises: str) -> bytes:
    return f"""<hm:importHouseUORequest {NS} Id="signed-data-container" base:version="13.2.3.2">
  <hm:ApartmentHouse>
    <hm:ApartmentHouseToUpdate>
      <hm:BasicCharacteristicts>
        <hm:FIASHouseGuid>{SEVER_1}</hm:FIASHouseGuid>
        <hm:TotalSquare>5500.25</hm:TotalSquare>
        <hm:FloorCount>10</hm:FloorCount>
      </hm:BasicCharacteristicts>
      <base:TransportGUID>{Guid.new()}</base:TransportGUID>
    </hm:ApartmentHouseToUpdate>
    {premises}
  </hm:ApartmentHouse>
</hm:importHouseUORequest>""".encode()


def flat_update(guid: Guid, *, number: str | None = None, area: str | None = None) -> str:
    number_element = f"<hm:PremisesNum>{number}</hm:PremisesNum>" if number else ""
    area_element = f"<hm:TotalArea>{area}</hm:TotalArea>" if area else ""
    return f"""<hm:ResidentialPremises><hm:ResidentialPremisesToUpdate>
      {number_element}<hm:EntranceNum>1</hm:EntranceNum>{area_element}
      <base:TransportGUID>{Guid.new()}</base:TransportGUID><hm:PremisesGUID>{guid}</hm:PremisesGUID>
    </hm:ResidentialPremisesToUpdate></hm:ResidentialPremises>"""


def run(engine: Engine, body: bytes):  # type: ignore[no-untyped-def]
    request = parse_untrusted(body)
    validate(request, Service.HOUSE_MANAGEMENT)  # the requests here are the official format
    with message_uow(engine, MC, operation="importHouseUOData", body=body) as uow:
        sender = uow.organisations.get(MC)
        assert isinstance(sender, Organisation)
        results = house_services.import_house_uo(uow, sender, houses_xml.decode_import_house_uo(request),
                                                 message=uow.provenance.message, now=datetime.now(UTC))
        uow.commit()
    return results


def flats(engine: Engine) -> dict[str, Guid]:
    with UnitOfWork(engine) as uow:
        house = uow.houses.get(SEVER_1)
        assert house is not None
        return {p.data.number: p.guid for p in house.premises}


def open_account(engine: Engine, premises: Guid) -> None:
    item = AccountToImport(Guid.new(), AccountData(AccountType.MANAGEMENT, PersonPayer("Иванов", "Иван"),
                                                   (Accommodation(premises_guid=premises),)))
    with message_uow(engine, MC, operation="importAccountData") as uow:
        sender = uow.organisations.get(MC)
        assert isinstance(sender, Organisation)
        results = account_services.import_accounts(uow, sender, ImportAccounts((item,)),
                                                   message=uow.provenance.message, now=datetime.now(UTC))
        uow.commit()
    assert results[0].result.ok, results


def test_an_update_changes_what_it_names_and_an_as_of_read_returns_the_earlier_version(engine: Engine) -> None:
    assert all(r.ok for r in run(engine, (FIXTURES / "sever-1.xml").read_bytes()))
    before_update = datetime.now(UTC)
    time.sleep(0.01)  # two distinct moments on a coarse clock, not synchronisation
    flat = flats(engine)
    results = run(engine, update_request(flat_update(flat["3"], area="64.5")))
    assert [r.error for r in results] == [None, None]
    with UnitOfWork(engine) as uow:
        now = uow.houses.get(SEVER_1)
        then = uow.houses.get(SEVER_1, as_of=before_update)
        never = uow.houses.get(SEVER_1, as_of=datetime(2000, 1, 1, tzinfo=UTC))
    assert now is not None and then is not None and never is None
    assert (now.data.total_square, now.data.floor_count, now.data.used_year) == (Decimal("5500.25"), 10, 1975)
    assert (then.data.total_square, then.data.floor_count) == (Decimal("5400.5"), 9)
    areas = {p.data.number: p.data.total_area for p in now.premises}
    old_areas = {p.data.number: p.data.total_area for p in then.premises}
    assert areas["3"] == Decimal("64.5") and old_areas["3"] == Decimal("63.0")
    assert [p.unique_number for p in now.premises] == [p.unique_number for p in then.premises]


def test_renumbering_is_refused_while_an_account_is_open_and_allowed_otherwise(engine: Engine) -> None:
    run(engine, (FIXTURES / "sever-1.xml").read_bytes())
    flat = flats(engine)
    open_account(engine, flat["1"])
    results = run(engine, update_request(flat_update(flat["1"], number="1А") + flat_update(flat["2"], number="2А")
                                         + flat_update(flat["4"], number="3")))
    codes = [r.error.code if r.error else None for r in results]
    assert codes == [None, Code.PREMISES_RENUMBER_BLOCKED, None, Code.PREMISES_DUPLICATE]
    assert set(flats(engine)) >= {"1", "2А", "4"}


def test_the_cli_prints_the_house_as_of_a_moment(engine: Engine, config) -> None:  # type: ignore[no-untyped-def]
    from gateway.cli import main

    run(engine, (FIXTURES / "sever-1.xml").read_bytes())
    moment = datetime.now(UTC).isoformat()
    time.sleep(0.01)
    run(engine, update_request(""))
    env = {"GATEWAY_DATABASE__URL": config.database.url, "GATEWAY_DATABASE__SCHEMA": config.database.schema,
           "GATEWAY_LOGGING__LEVEL": "WARNING"}
    then = CliRunner().invoke(main, ["registry", "house", str(SEVER_1), "--as-of", moment], env=env)
    now = CliRunner().invoke(main, ["registry", "house", str(SEVER_1)], env=env)
    assert then.exit_code == 0 and "<ns0:TotalSquare>5400.5</ns0:TotalSquare>" in then.output.replace("hm:", "ns0:")
    assert now.exit_code == 0 and "5500.25" in now.output
    missing = CliRunner().invoke(main, ["registry", "house", str(SEVER_1), "--as-of", "2001-01-01T00:00:00Z"],
                                 env=env)
    assert missing.exit_code == 1 and "was registered on" in missing.output


def test_every_object_has_a_history_and_any_version_can_be_read_as_of_a_moment(  # type: ignore[no-untyped-def]
        engine: Engine, config) -> None:
    import json

    from gateway.cli import main

    run(engine, (FIXTURES / "sever-1.xml").read_bytes())
    flat = flats(engine)["1"]
    moment = datetime.now(UTC).isoformat()
    time.sleep(0.01)
    run(engine, update_request(flat_update(flat, area="60.1")))
    env = {"GATEWAY_DATABASE__URL": config.database.url, "GATEWAY_DATABASE__SCHEMA": config.database.schema,
           "GATEWAY_LOGGING__LEVEL": "WARNING"}
    listed = CliRunner().invoke(main, ["registry", "history", str(flat)], env=env)
    assert listed.exit_code == 0 and listed.output.count("premises") == 2
    then = CliRunner().invoke(main, ["registry", "history", str(flat), "--as-of", moment], env=env)
    assert then.exit_code == 0 and json.loads(then.output)["data"]["total_area"] == "54.3"
    now = CliRunner().invoke(main, ["registry", "history", str(flat), "--as-of", datetime.now(UTC).isoformat()],
                             env=env)
    assert json.loads(now.output)["data"]["total_area"] == "60.1"


def test_an_as_of_read_includes_the_rooms_registered_by_then(engine: Engine) -> None:
    from lxml import etree

    from tests.e2e.test_rooms_flow import house_with_rooms, room

    run(engine, etree.tostring(house_with_rooms()))
    moment = datetime.now(UTC)
    time.sleep(0.01)
    flat = flats(engine)["1"]
    body = parse_untrusted(update_request(flat_update(flat)))
    body.find(".//{http://dom.gosuslugi.ru/schema/integration/house-management/}ResidentialPremises").append(
        room("3", "12"))
    assert all(r.ok for r in run(engine, etree.tostring(body)))
    with UnitOfWork(engine) as uow:
        now, then = uow.houses.get(SEVER_1), uow.houses.get(SEVER_1, as_of=moment)
    assert now is not None and then is not None
    rooms = {p.data.number: [r.data.number for r in p.rooms] for p in now.premises}
    earlier = {p.data.number: [r.data.number for r in p.rooms] for p in then.premises}
    assert rooms["1"] == ["1", "2", "3"] and earlier["1"] == ["1", "2"]
    flat_now = next(p for p in now.premises if p.data.number == "1")
    flat_then = next(p for p in then.premises if p.data.number == "1")
    assert [r.unique_number for r in flat_now.rooms][:2] == [r.unique_number for r in flat_then.rooms]
