"""Delegated powers end to end: a billing centre signs for two management companies (IsOperatorSignature).

A real gateway on 127.0.0.1 with its worker; the SDK's zeep-built requests signed with the billing centre's
TEST-ONLY GOST key, each header naming the management company whose data it is. Every end of a power — its
last day over at midnight UTC+12, a recall, a renunciation — refuses the next request with its own code and
leaves what was written before untouched; the hostile side (a function not given, a power from an
organisation that does not manage the house, a re-delegation) is refused too; and a real integrator's request
(``fixtures/real-requests/``) goes through end to end under a power, and is refused without one.
"""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import pytest
import requests
from click.testing import CliRunner
from lxml import etree
from sqlalchemy import select

from gateway.bootstrap import Gateway
from gateway.cli import main
from gateway.domain.authority import today
from gateway.domain.powers import Function, Power
from gateway.domain.provenance import Provenance
from gateway.domain.values import Guid
from gateway.errors import Code, PowerRefused
from gateway.messages import archive
from gateway.registry.tables import archive as archive_table
from gateway.registry.tables import houses, messages, meter_readings
from gateway.services import powers as power_services
from gateway.signing import sign
from gateway.soap.app import GatewayApp
from gateway.soap.server import EmbeddedServer
from gateway.xmlparse import parse_untrusted
from gateway.xsd import Service
from providers.builders import readings_request
from providers.client import GatewayFault, ProviderClient
from providers.dynamic import GisClient
from providers.records import Account, AccountType, Device, DeviceKind, NsiRef, Person, Reading
from tests.conftest import HM_PATH, management_contract
from tests.e2e.test_provider_toolkit import FAST

ROOT = Path(__file__).resolve().parents[2]
MC = "6e5d4c3b-2a19-4087-b6a5-f4e3d2c1b0a9"
MC2 = "d2e3f4a5-b6c7-4d8e-9f0a-1b2c3d4e5f60"
BILLING = "5b4a3c2d-1e0f-4a9b-8c7d-6e5f4a3b2c1d"
HOA = "0b7c9f3e-54a1-4c2d-9e8f-7a6b5c4d3e21"
SEVER_1 = "b6b7d2a0-1c3e-4f5a-8b9c-0d1e2f3a4b5c"
ZARECHYE_1 = "2e49bd1e-05d6-4f27-b2c3-271dbdb48d7b"
REAL_REQUEST = ROOT / "fixtures" / "real-requests" / "greengrass-importHouseUO-operator-signature.xml"
REAL_HOUSE = "7b416b97-23a3-42e2-965c-b0197bd6fdfe"
SINCE_JANUARY = date(2026, 1, 1)
READ_ON = date(2026, 11, 25)


def nsi(registry: int, code: str) -> NsiRef:
    import tomllib

    raw = tomllib.loads((ROOT / "fixtures" / "nsi" / f"nsi-{registry:03d}.toml").read_text(encoding="utf-8"))
    return NsiRef(code, next(i["guid"] for i in raw["item"] if i["code"] == code))


WATER = nsi(2, "1")


def sdk(server: EmbeddedServer, pki, org: str, *, signer: str | None = None) -> ProviderClient:  # type: ignore[no-untyped-def]
    """``org``'s client; with ``signer``, that organisation's software signing for ``org`` (IsOperatorSignature)."""
    issued = pki.by_org[signer or org]
    return ProviderClient(server.url, org_guid=org, key=issued.key, cert=issued.cert, gateway_cert=pki.gateway.cert,
                          polling=FAST, operator_signature=signer is not None)


def official(*path: str) -> etree._Element:
    return parse_untrusted(ROOT.joinpath("fixtures", *path).read_bytes())


def support(org: str) -> Provenance:
    return Provenance.of_operator("support-test", "the organisation's signed letter", org=Guid(org))


def grant(gateway: Gateway, grantor: str, holder: str, *functions: Function, starts_on: date = SINCE_JANUARY,
          ends_on: date | None = None, accept: bool = True) -> Power:
    now = datetime.now(UTC)
    actor = power_services.Actor("support-test")
    with gateway.unit_of_work(support(grantor)) as uow:
        power = power_services.grant(uow, grantor=Guid(grantor), holder=Guid(holder), functions=frozenset(functions),
                                     starts_on=starts_on, ends_on=ends_on, now=now, actor=actor)
        uow.commit()
    if accept:
        with gateway.unit_of_work(support(holder)) as uow:
            power = power_services.accept(uow, power.guid, now=datetime.now(UTC), actor=actor)
            uow.commit()
    return power


def end(gateway: Gateway, how, power: Power, party: str) -> None:  # type: ignore[no-untyped-def]
    with gateway.unit_of_work(support(party)) as uow:
        how(uow, power.guid, now=datetime.now(UTC), actor=power_services.Actor("support-test"))
        uow.commit()


def reading(root: str, value: str, on: date = READ_ON) -> Reading:
    return Reading(root, on, WATER, Decimal(value))


@pytest.fixture
def metered(server: EmbeddedServer, live_worker, pki) -> dict[str, str]:  # type: ignore[no-untyped-def]
    """Each management company posted its house and a cold-water meter in flat 1 itself, with its own key."""
    roots = {}
    for org, house_file, fias in ((MC, "sever-1.xml", SEVER_1), (MC2, "zarechye-1.xml", ZARECHYE_1)):
        own = sdk(server, pki, org)
        assert all(o.ok for o in own.import_house(official("houses", house_file)).objects)
        flats = {p.PremisesNum: p.PremisesGUID for p in own.export_house(fias).ApartmentHouse.ResidentialPremises}
        [account] = own.import_accounts([Account(AccountType.UO, Person("Иванов", "Иван"), premises_guid=flats["1"],
                                                 total_square=Decimal(50), account_number="1001")]).objects
        assert account.ok and account.guid, account
        meter = Device(f"ХВ-{org[:4]}", DeviceKind.RESIDENTIAL, date(2026, 1, 15), resources=((WATER, Decimal(10)),),
                       premises_guids=(flats["1"],), account_guids=(account.guid,),
                       first_verified_on=date(2026, 1, 15), verification_interval=nsi(16, "6"))
        [registered] = own.import_devices(fias, [meter]).objects
        assert registered.ok, registered
        roots[org] = registered.extra["MeteringDeviceGUID"]
    return roots


def stored_readings(gateway: Gateway) -> list[tuple[str, str, str | None, str | None]]:
    """(device, posted_by, the message's signer, its power) of every kept reading."""
    r, m = meter_readings.c, messages.c
    with gateway.engine.connect() as connection:
        rows = connection.execute(select(r.device_root_guid, r.posted_by, m.signed_by, m.power_guid)
                                  .join_from(meter_readings, messages, r.message_guid == m.guid)
                                  .where(r.superseded_at.is_(None)).order_by(r.id)).all()
    return [tuple(row) for row in rows]  # type: ignore[misc]


# -- the billing centre at work -------------------------------------------------------------------------------------


def test_a_billing_centre_posts_readings_for_two_management_companies_under_their_powers(  # type: ignore[no-untyped-def]
        gateway: Gateway, server: EmbeddedServer, pki, metered) -> None:
    powers = {MC: grant(gateway, MC, BILLING, Function.READINGS),
              MC2: grant(gateway, MC2, BILLING, Function.READINGS, Function.DEVICES)}

    results = {org: sdk(server, pki, org, signer=BILLING).import_readings([reading(metered[org], "12.5")])
               for org in (MC, MC2)}

    assert all(o.ok for state in results.values() for o in state.objects), results
    # the data are each company's own, signed by the billing centre under that company's power
    assert stored_readings(gateway) == [(metered[MC], MC, BILLING, str(powers[MC].guid)),
                                        (metered[MC2], MC2, BILLING, str(powers[MC2].guid))]
    with gateway.reader() as reader:
        changesets = {c.org_guid: c for c in reader.changesets(signed_by=BILLING)}
        posted = {m.org_guid: m for m in reader.messages(signed_by=BILLING)}
    assert {org: (c.kind, c.signed_by, c.power_guid) for org, c in changesets.items()} == {
        MC: ("message", BILLING, str(powers[MC].guid)), MC2: ("message", BILLING, str(powers[MC2].guid))}
    assert {org: m.power_guid for org, m in posted.items()} == {org: str(p.guid) for org, p in powers.items()}
    # support sees who signed a message, and under which power
    database = gateway.config.database
    env = {"GATEWAY_DATABASE__URL": database.url, "GATEWAY_DATABASE__SCHEMA": database.schema,
           "GATEWAY_LOGGING__LEVEL": "WARNING"}
    shown = CliRunner().invoke(main, ["messages", "show", str(posted[MC].guid)], env=env)
    assert shown.exit_code == 0, shown.output
    assert f"signed by    {BILLING} under power {powers[MC].guid}" in shown.output
    # the archive entry of each request names both parties, and the chain covers them
    with gateway.engine.connect() as connection:
        entries = connection.execute(select(archive_table.c.signed_by, archive_table.c.power_guid).where(
            archive_table.c.power_guid.is_not(None))).all()
        assert archive.verify(connection).intact
    assert sorted(e.power_guid for e in entries) == sorted(str(p.guid) for p in powers.values())
    # exports by each company show its own data, whoever posted them
    [history] = sdk(server, pki, MC).export_history([SEVER_1], root_guids=[metered[MC]])
    assert [str(v.MeteringValue) for v in history.OneRateDeviceValue.Values.CurrentValue] == ["12.5"]


def test_the_zeep_dynamic_client_signs_as_the_operator_too(  # type: ignore[no-untyped-def]
        gateway: Gateway, server: EmbeddedServer, pki, metered) -> None:
    grant(gateway, MC2, BILLING, Function.READINGS)
    billing = pki.by_org[BILLING]
    client = GisClient(server.url, org_guid=MC2, key=billing.key, cert=billing.cert, gateway_cert=pki.gateway.cert,
                       service="device-metering", operator_signature=True)

    result = client.import_and_wait_values([{
        "MeteringDeviceRootGUID": metered[MC2],
        "OneRateDeviceValue": {"CurrentValue": [{
            "MunicipalResource": {"Code": WATER.code, "GUID": WATER.guid}, "MeteringValue": "11",
            "DateValue": READ_ON, "TransportGUID": str(Guid.new()),
            "Period": {"Year": READ_ON.year, "Month": READ_ON.month}}]}}])

    assert [o.error_code for o in result.objects] == [None]
    assert stored_readings(gateway)[-1][1:3] == (MC2, BILLING)


def test_get_state_under_a_power_answers_the_grantors_header_and_the_holders_and_no_one_else(  # type: ignore[no-untyped-def]
        gateway: Gateway, server: EmbeddedServer, pki, metered) -> None:
    grant(gateway, MC, BILLING, Function.READINGS)
    billing, service = sdk(server, pki, MC, signer=BILLING), Service.DEVICE_METERING
    guid = billing.submit(readings_request([reading(metered[MC], "13")]))

    as_sent = billing.wait(guid, service=service)  # the billing centre's software, its header naming the company

    assert as_sent.objects[0].ok
    assert sdk(server, pki, MC).get_state(guid, service).objects[0].ok  # the grantor, on its own header
    assert sdk(server, pki, BILLING).get_state(guid, service).objects[0].ok  # the holder, on its own header
    with pytest.raises(GatewayFault) as unrelated:
        sdk(server, pki, HOA).get_state(guid, service)
    assert unrelated.value.code == Code.MESSAGE_NOT_FOUND


# -- the door -------------------------------------------------------------------------------------------------------


def test_without_the_flag_another_organisations_certificate_is_still_refused(  # type: ignore[no-untyped-def]
        gateway: Gateway, server: EmbeddedServer, pki, metered) -> None:
    grant(gateway, MC, BILLING, Function.READINGS)
    issued = pki.by_org[BILLING]
    unflagged = ProviderClient(server.url, org_guid=MC, key=issued.key, cert=issued.cert,
                               gateway_cert=pki.gateway.cert, polling=FAST)

    with pytest.raises(GatewayFault) as refused:
        unflagged.import_readings([reading(metered[MC], "12")])

    assert refused.value.code == Code.CERTIFICATE_ORG_MISMATCH


def test_the_flag_with_the_organisations_own_certificate_is_the_organisation_signing_itself(  # type: ignore[no-untyped-def]
        gateway: Gateway, server: EmbeddedServer, pki, metered) -> None:
    result = sdk(server, pki, MC, signer=MC).import_readings([reading(metered[MC], "12")])

    assert result.objects[0].ok
    assert stored_readings(gateway) == [(metered[MC], MC, None, None)]


def test_the_door_refuses_an_operator_signature_without_an_accepted_power_for_the_operation(  # type: ignore[no-untyped-def]
        gateway: Gateway, server: EmbeddedServer, pki, metered) -> None:
    billing_for_mc, billing_for_mc2 = sdk(server, pki, MC, signer=BILLING), sdk(server, pki, MC2, signer=BILLING)

    def refused(client: ProviderClient, value: str) -> str:
        with pytest.raises(GatewayFault) as fault:
            client.import_readings([reading(metered[client.org_guid], value)])
        return fault.value.code

    assert refused(billing_for_mc, "12") == Code.POWER_NONE
    grant(gateway, MC, BILLING, Function.READINGS, accept=False)
    assert refused(billing_for_mc, "12") == Code.POWER_NOT_ACCEPTED
    grant(gateway, MC2, BILLING, Function.ACCOUNTS)  # a holder claiming a function it was not given
    assert refused(billing_for_mc2, "12") == Code.POWER_FUNCTION_NOT_COVERED
    grant(gateway, MC2, BILLING, Function.READINGS, starts_on=today(datetime.now(UTC)) + timedelta(days=3))
    assert refused(billing_for_mc2, "12") == Code.POWER_NOT_YET_VALID
    assert stored_readings(gateway) == []


# -- every end of a power ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize(("how", "party", "expected"), [
    (power_services.recall, MC, Code.POWER_RECALLED),
    (power_services.renounce, BILLING, Code.POWER_RENOUNCED),
])
def test_a_recalled_or_renounced_power_refuses_the_next_request_and_keeps_what_it_wrote(  # type: ignore[no-untyped-def]
        gateway: Gateway, server: EmbeddedServer, pki, metered, how, party: str, expected: Code) -> None:
    power = grant(gateway, MC, BILLING, Function.READINGS)
    billing = sdk(server, pki, MC, signer=BILLING)
    assert billing.import_readings([reading(metered[MC], "12")]).objects[0].ok

    end(gateway, how, power, party)
    with pytest.raises(GatewayFault) as refused:
        billing.import_readings([reading(metered[MC], "13", READ_ON + timedelta(days=1))])

    assert refused.value.code == expected
    assert stored_readings(gateway) == [(metered[MC], MC, BILLING, str(power.guid))]
    with gateway.reader() as reader:
        assert [c.power_guid for c in reader.changesets(power=str(power.guid))] == [str(power.guid)]


def test_a_power_ends_at_midnight_utc_plus_12_of_its_last_day(  # type: ignore[no-untyped-def]
        gateway: Gateway, pki, metered) -> None:
    last_day = today(datetime.now(UTC))
    power = grant(gateway, MC, BILLING, Function.READINGS, ends_on=last_day)
    assert power.expires_at is not None
    moment = [power.expires_at - timedelta(seconds=1)]
    door = GatewayApp(gateway.engine, gateway.config, signer=gateway.signer, unit_of_work=gateway.unit_of_work,
                      clock=lambda: moment[0])

    with EmbeddedServer(door) as server:
        billing = sdk(server, pki, MC, signer=BILLING)
        before = billing.import_readings([reading(metered[MC], "12", last_day)])
        moment[0] = power.expires_at
        with pytest.raises(GatewayFault) as after:
            billing.import_readings([reading(metered[MC], "13", last_day)])

    assert before.objects[0].ok, before
    assert after.value.code == Code.POWER_EXPIRED and "UTC+12" in after.value.message
    assert stored_readings(gateway) == [(metered[MC], MC, BILLING, str(power.guid))]


@pytest.mark.parametrize(("how", "party", "expected"), [
    (power_services.recall, MC, Code.POWER_RECALLED_SINCE_ACCEPTANCE),
    (power_services.renounce, BILLING, Code.POWER_RENOUNCED_SINCE_ACCEPTANCE),
])
def test_a_power_ended_while_its_message_waits_in_the_queue_writes_nothing(  # type: ignore[no-untyped-def]
        gateway: Gateway, server: EmbeddedServer, pki, how, party: str, expected: Code) -> None:
    own = sdk(server, pki, MC)
    assert own.submit(official("houses", "sever-1.xml"))
    gateway.worker.drain()
    power = grant(gateway, MC, BILLING, Function.READINGS)
    billing = sdk(server, pki, MC, signer=BILLING)
    guid = billing.submit(readings_request([reading(str(Guid.new()), "12")]))

    end(gateway, how, power, party)
    gateway.worker.drain()
    state = billing.get_state(guid, Service.DEVICE_METERING)

    assert (state.request_state, state.error_code) == (3, expected)
    with gateway.reader() as reader:
        assert list(reader.changesets(power=str(power.guid))) == []


def test_readings_dated_outside_the_power_are_refused_one_by_one(  # type: ignore[no-untyped-def]
        gateway: Gateway, server: EmbeddedServer, pki, metered) -> None:
    grant(gateway, MC, BILLING, Function.READINGS, starts_on=date(2026, 11, 1))

    result = sdk(server, pki, MC, signer=BILLING).import_readings(
        [reading(metered[MC], "11", date(2026, 10, 25)), reading(metered[MC], "12", date(2026, 11, 25))])

    assert [o.error_code for o in result.objects] == [Code.POWER_DATE_NOT_COVERED, None]
    assert "before its first day" in (result.objects[0].description or "")


# -- the hostile side -----------------------------------------------------------------------------------------------


def test_a_power_from_an_organisation_that_does_not_manage_the_house_gives_no_right_to_it(  # type: ignore[no-untyped-def]
        gateway: Gateway, server: EmbeddedServer, pki, metered) -> None:
    grant(gateway, MC2, BILLING, Function.READINGS, Function.HOUSES)
    billing_for_mc2 = sdk(server, pki, MC2, signer=BILLING)

    [foreign_reading] = billing_for_mc2.import_readings([reading(metered[MC], "12")]).objects
    [foreign_house] = billing_for_mc2.import_house(official("houses", "sever-2.xml")).objects[:1]

    for refused in (foreign_reading, foreign_house):
        assert refused.error_code == Code.NO_MANDATE, refused
        assert "a power carries functions, not houses" in (refused.description or "")
    assert stored_readings(gateway) == []


def test_a_holder_cannot_pass_a_power_on(gateway: Gateway, server: EmbeddedServer, pki, metered) -> None:  # type: ignore[no-untyped-def]
    # the HOA gave the billing centre its own readings first; then the management company gave the HOA its own
    grant(gateway, HOA, BILLING, Function.READINGS)
    grant(gateway, MC, HOA, Function.READINGS)

    with pytest.raises(PowerRefused) as regranted:  # the HOA now holds the company's readings: it grants none
        grant(gateway, HOA, MC2, Function.READINGS, starts_on=date(2027, 1, 1))
    with pytest.raises(GatewayFault) as chained:  # and the billing centre cannot sign for the company through it
        sdk(server, pki, MC, signer=BILLING).import_readings([reading(metered[MC], "12")])

    assert regranted.value.code is Code.POWER_REDELEGATION
    assert chained.value.code == Code.POWER_REDELEGATED and HOA in chained.value.message
    assert stored_readings(gateway) == []


# -- a real integrator's request --------------------------------------------------------------------------------------


def real_request_signed_by(issued) -> bytes:  # type: ignore[no-untyped-def]
    """The vendored capture, signed by the operator as the integrator's stack signs it on the way out: the request
    element gets its ds:Signature in place, every other byte of the envelope (CRLF, tabs, prefixes) stays."""
    raw = REAL_REQUEST.read_bytes()
    start = raw.index(b"<ns3:importHouseUORequest")
    close = b"</ns3:importHouseUORequest>"
    stop = raw.index(close) + len(close)
    element = parse_untrusted(raw)[1][0]  # soap:Body / ns3:importHouseUORequest
    sign(element, key=issued.key, cert=issued.cert)
    signed = etree.tostring(element, encoding="UTF-8", with_tail=False)
    signed = re.sub(rb"^<\?xml[^>]*\?>\s*", b"", signed)
    return raw[:start] + signed.replace(b"\r\n", b"\n").replace(b"\n", b"\r\n") + raw[stop:]


def post_raw(server: EmbeddedServer, body: bytes) -> requests.Response:
    return requests.post(server.url + HM_PATH, data=body, timeout=30,
                         headers={"Content-Type": "text/xml; charset=utf-8", "SOAPAction": '"urn:importHouseUOData"'})


def test_the_real_operator_signed_request_is_accepted_under_a_power_and_refused_without_one(  # type: ignore[no-untyped-def]
        gateway: Gateway, server: EmbeddedServer, live_worker, pki) -> None:
    own = sdk(server, pki, MC)
    assert all(o.ok for o in own.import_official(management_contract([REAL_HOUSE], number="УК-ГГ/2016")).objects)
    envelope = real_request_signed_by(pki.by_org[BILLING])
    assert envelope.count(b"\r\n") > 50 and b"<ns2:IsOperatorSignature>true</ns2:IsOperatorSignature>" in envelope

    without = post_raw(server, envelope)
    power = grant(gateway, MC, BILLING, Function.HOUSES)
    with_power = post_raw(server, envelope)

    assert without.status_code == 500 and b"<base:ErrorCode>INT002011</base:ErrorCode>" in without.content
    assert with_power.status_code == 200, with_power.content
    guid = parse_untrusted(with_power.content).findtext(".//{*}Ack/{*}MessageGUID")
    assert guid
    state = sdk(server, pki, MC, signer=BILLING).wait(guid)
    assert [(o.transport_guid, o.error_code) for o in state.objects] == [("8af06e1e-5e98-422f-ba9d-71f5f5304e32", None)]
    with gateway.engine.connect() as connection:
        house = connection.execute(select(houses.c.posted_by, houses.c.cadastral_status).where(
            houses.c.fias_house_guid == REAL_HOUSE)).one()
        message = connection.execute(select(messages.c.org_guid, messages.c.signed_by, messages.c.power_guid,
                                            messages.c.request, messages.c.requester_message_guid).where(
            messages.c.guid == guid)).one()
    assert tuple(house) == (MC, "not_registered")
    assert message[:3] == (MC, BILLING, str(power.guid))
    assert message.request == envelope  # archived byte for byte
    assert message.requester_message_guid == "af248f69-22b8-4cb0-9a46-15f4c423b681"  # the integrator's own
