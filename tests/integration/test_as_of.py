"""As-of reproducibility: what a read "as of D" answers later is exactly what a read on D answered.

A scenario drives every object kind through the services — registered, corrected, closed, terminated, archived,
back-dated — and takes a snapshot of the whole registry through the query layer after each step. Read again at
the end, as of each step's moment, the registry must give back each snapshot unchanged: no later correction,
back-dated reading or terminated contract leaks into the past. On SQLite and PostgreSQL.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

from sqlalchemy import Engine

from gateway.bootstrap import Gateway
from gateway.domain.accounts import (
    Accommodation,
    AccountData,
    AccountToImport,
    AccountType,
    Closing,
    ImportAccounts,
    PersonPayer,
)
from gateway.domain.authority import MandateKind
from gateway.domain.contracts import TerminateDocument
from gateway.domain.metering import (
    DeviceData,
    DeviceKind,
    DeviceResource,
    DeviceToArchive,
    DeviceToCreate,
    ImportDevices,
    ImportReadings,
    ReadingKind,
    ReadingToImport,
    VerificationToImport,
)
from gateway.domain.model import NsiRef, Organisation
from gateway.domain.oss import Choice, OwnedPremises, OwnerDecision
from gateway.domain.values import FiasHouseGuid, Guid
from gateway.registry.queries import Reader
from gateway.services import accounts as account_services
from gateway.services import contracts as contract_services
from gateway.services import houses as house_services
from gateway.services import metering as metering_services
from gateway.services import oss as oss_services
from gateway.soap import houses_xml, oss_xml
from gateway.xmlparse import parse_untrusted
from tests.conftest import message_uow
from tests.integration.test_house_updates import flat_update, update_request

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures"
MC = Guid("6e5d4c3b-2a19-4087-b6a5-f4e3d2c1b0a9")
SEVER_1 = FiasHouseGuid("b6b7d2a0-1c3e-4f5a-8b9c-0d1e2f3a4b5c")


def snapshot(engine: Engine, at: datetime | None = None) -> dict[str, list[Any]]:
    """Everything the query layer can tell, now or as of ``at``."""
    with engine.connect() as connection:
        reader = Reader(connection, at)
        return {
            "organisations": list(reader.organisations()), "documents": list(reader.documents()),
            "mandates": list(reader.mandates(live=False)), "houses": list(reader.houses()),
            "premises": list(reader.premises()), "rooms": list(reader.rooms()), "accounts": list(reader.accounts()),
            "accommodations": list(reader.accommodations()), "devices": list(reader.devices()),
            "readings": list(reader.readings()), "votings": list(reader.votings()),
            "protocols": list(reader.protocols()), "cadastral": reader.cadastral_counts(by="house"),
        }


class Scenario:
    """Runs one provider step in its own message and records the registry right after it."""

    def __init__(self, gateway: Gateway) -> None:
        self.engine = gateway.engine
        self.moments: list[tuple[str, datetime, dict[str, list[Any]]]] = []

    def step(self, name: str, action: Callable[..., Any]) -> Any:
        with message_uow(self.engine, MC) as uow:
            sender = uow.organisations.get(MC)
            assert isinstance(sender, Organisation)
            result = action(uow, sender, uow.provenance.message, datetime.now(UTC))  # type: ignore[union-attr]
            uow.commit()
        failed = [r for r in _results(result) if not r.ok]
        assert not failed, (name, failed)
        time.sleep(0.002)  # distinct moments on a coarse clock, not synchronisation
        self.moments.append((name, datetime.now(UTC), snapshot(self.engine)))
        time.sleep(0.002)
        return result


def _results(result: Any) -> list[Any]:
    items = result.results if hasattr(result, "results") else result
    return [getattr(i, "result", i) for i in items]


def _nsi(engine: Engine, registry: int) -> NsiRef:
    with message_uow(engine, MC) as uow:
        code, item = next(iter(uow.nsi.directory(registry).items()))
    return NsiRef(code, Guid(item.guid))


def test_every_kind_read_as_of_each_moment_gives_back_what_was_read_then(gateway: Gateway) -> None:
    engine = gateway.engine
    before = datetime.now(UTC)
    time.sleep(0.002)
    run = Scenario(gateway)
    water = _nsi(engine, 2)
    house_body = parse_untrusted((FIXTURES / "houses" / "sever-1.xml").read_bytes())
    run.step("house", lambda uow, s, m, now: house_services.import_house_uo(
        uow, s, houses_xml.decode_import_house_uo(house_body), message=m, now=now))
    flats = {p.number: p.guid for p in snapshot(engine)["premises"]}
    run.step("premises corrected", lambda uow, s, m, now: house_services.import_house_uo(
        uow, s, houses_xml.decode_import_house_uo(parse_untrusted(update_request(
            flat_update(Guid(flats["3"]), area="64.5")))), message=m, now=now))
    opened = run.step("account opened", lambda uow, s, m, now: account_services.import_accounts(
        uow, s, ImportAccounts((AccountToImport(Guid.new(), AccountData(
            AccountType.MANAGEMENT, PersonPayer("Иванов", "Иван"),
            (Accommodation(premises_guid=Guid(flats["1"])),), account_number="LS-1")),)), message=m, now=now))
    account = opened[0].result.guid
    device = run.step("device registered", lambda uow, s, m, now: metering_services.import_devices(
        uow, s, ImportDevices(SEVER_1, (DeviceToCreate(Guid.new(), DeviceData(
            number="ХВ-1", kind=DeviceKind.RESIDENTIAL, resources=(DeviceResource(water, False, (Decimal(10),)),),
            commissioned_on=date(2026, 1, 15), premises=(Guid(flats["1"]),), accounts=(account,))),)),
        message=m, now=now))[0].device

    def reading(value: str, on: date) -> Callable[..., Any]:
        return lambda uow, s, m, now: metering_services.import_readings(uow, s, ImportReadings(SEVER_1, (
            ReadingToImport(Guid.new(), device.root_guid, None, ReadingKind.CURRENT, water.code, (Decimal(value),),
                            on),)), message=m, now=now)

    run.step("September reading", reading("12", date(2026, 9, 25)))
    run.step("September corrected", reading("12.5", date(2026, 9, 25)))
    run.step("August back-dated", reading("11", date(2026, 8, 25)))
    run.step("verified", lambda uow, s, m, now: metering_services.import_readings(uow, s, ImportReadings(
        SEVER_1, (VerificationToImport(Guid.new(), device.root_guid, None, date(2026, 10, 1), date(2026, 10, 2),
                                       date(2026, 10, 2), True),)), message=m, now=now))
    closing = Closing(_nsi(engine, 22), date(2026, 11, 1), "переезд")
    run.step("account closed", lambda uow, s, m, now: account_services.import_accounts(
        uow, s, ImportAccounts((AccountToImport(Guid.new(), AccountData(
            AccountType.MANAGEMENT, PersonPayer("Иванов", "Иван"), (Accommodation(premises_guid=Guid(flats["1"])),),
            account_number="LS-1", closed=closing), account_guid=account),)), message=m, now=now))
    archiving = _nsi(engine, 21)
    verified = Guid(snapshot(engine)["devices"][0].version_guid)  # the verification made a new version
    run.step("device archived", lambda uow, s, m, now: metering_services.import_devices(
        uow, s, ImportDevices(SEVER_1, (DeviceToArchive(Guid.new(), verified, archiving,
                                                        on=date(2026, 11, 2)),)), message=m, now=now))
    protocol = run.step("protocol", lambda uow, s, m, now: oss_services.import_protocols(
        uow, s, oss_xml.decode_import_protocol(parse_untrusted((FIXTURES / "oss" / "sever-1-protocol.xml")
                                                              .read_bytes())), message=m, now=now))[0].protocol
    run.step("owners' decisions recounted", lambda uow, s, m, now: oss_services.import_decisions(
        uow, s, (OwnerDecision(Guid.new(), protocol.guid, "12345678901", (OwnedPremises("2", Decimal(1)),), 1,
                               Choice.AGAINST),), message=m, now=now))
    contract = next(d for d in snapshot(engine)["documents"] if d.kind == "contract")
    run.step("contract terminated", lambda uow, s, m, now: contract_services.import_documents(
        uow, s, MandateKind.CONTRACT, (TerminateDocument(Guid.new(), MandateKind.CONTRACT, Guid(contract.version_guid),
                                                         date(2026, 11, 30), "расторгнут"),), message=m, now=now))

    assert not snapshot(engine, before)["houses"]
    for name, moment, seen in run.moments:
        again = snapshot(engine, moment)
        for kind in seen:
            assert again[kind] == seen[kind], (name, kind)
    # the history is not trivially equal to the present: each step changed something the next one changed back
    distinct = {repr(seen) for _, _, seen in run.moments}
    assert len(distinct) == len(run.moments)


# -- random sequences of changes ------------------------------------------------------------------------------

from hypothesis import HealthCheck, given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

#: one provider step: (what, which flat, a value)
changes = st.lists(st.tuples(
    st.sampled_from(["area", "cadastral", "no_cadastral", "reading", "account", "close"]),
    st.integers(min_value=1, max_value=6), st.integers(min_value=1, max_value=60)), min_size=1, max_size=8)


def _flat_change(guid: str, kind: str, value: int) -> bytes:
    if kind == "area":
        return update_request(flat_update(Guid(guid), area=f"{40 + value}.5"))
    cadastral = (f"<hm:CadastralNumber>77:02:0018004:{3000 + value}</hm:CadastralNumber>" if kind == "cadastral"
                 else "<hm:NoCadastralNumber>true</hm:NoCadastralNumber>")
    return update_request(f"""<hm:ResidentialPremises><hm:ResidentialPremisesToUpdate>{cadastral}
      <hm:EntranceNum>1</hm:EntranceNum><base:TransportGUID>{Guid.new()}</base:TransportGUID>
      <hm:PremisesGUID>{guid}</hm:PremisesGUID></hm:ResidentialPremisesToUpdate></hm:ResidentialPremises>""")


@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(steps=changes)
def test_random_change_sequences_read_back_as_of_every_moment(gateway: Gateway, steps: list[tuple[str, int, int]]
                                                               ) -> None:
    engine = gateway.engine
    run = Scenario(gateway)
    run.step = _lenient(run)  # type: ignore[method-assign]  # refused objects are part of the sequence too
    if not snapshot(engine)["houses"]:
        run.step("house", lambda uow, s, m, now: house_services.import_house_uo(
            uow, s, houses_xml.decode_import_house_uo(parse_untrusted(
                (FIXTURES / "houses" / "sever-1.xml").read_bytes())), message=m, now=now))
    water = _nsi(engine, 2)
    reason = _nsi(engine, 22)
    now_state = snapshot(engine)
    flats = {int(p.number): p.guid for p in now_state["premises"] if p.number.isdigit()}
    if not now_state["devices"]:
        run.step("device", lambda uow, s, m, now: metering_services.import_devices(uow, s, ImportDevices(
            SEVER_1, (DeviceToCreate(Guid.new(), DeviceData(
                number="ХВ-Г", kind=DeviceKind.RESIDENTIAL, resources=(DeviceResource(water, False, (Decimal(1),)),),
                commissioned_on=date(2020, 1, 1), premises=(Guid(flats[1]),))),)), message=m, now=now))
    root = Guid(snapshot(engine)["devices"][0].root_guid)
    for kind, flat, value in steps:
        guid = flats.get(flat) or flats[1]
        if kind in ("area", "cadastral", "no_cadastral"):
            body = _flat_change(guid, kind, value)
            run.step(kind, lambda uow, s, m, now, body=body: house_services.import_house_uo(
                uow, s, houses_xml.decode_import_house_uo(parse_untrusted(body)), message=m, now=now))
        elif kind == "reading":  # a value for a month of 2026: back-dated, corrected or below the last, as it comes
            on = date(2026, 1 + value % 11, 1 + value % 28)
            run.step(kind, lambda uow, s, m, now, on=on, value=value: metering_services.import_readings(
                uow, s, ImportReadings(SEVER_1, (ReadingToImport(Guid.new(), root, None, ReadingKind.CURRENT,
                                                                 water.code, (Decimal(value),), on),)),
                message=m, now=now))
        elif kind == "account":
            run.step(kind, lambda uow, s, m, now, guid=guid, value=value: account_services.import_accounts(
                uow, s, ImportAccounts((AccountToImport(Guid.new(), AccountData(
                    AccountType.MANAGEMENT, PersonPayer("Случайный", "Гость"),
                    (Accommodation(premises_guid=Guid(guid)),), account_number=f"R-{value}")),)), message=m, now=now))
        else:
            state = snapshot(engine)
            open_accounts = [a for a in state["accounts"] if a.closed_on is None]
            if open_accounts:
                target = open_accounts[value % len(open_accounts)]
                places = tuple(Accommodation(premises_guid=Guid(a.premises_guid))
                               for a in state["accommodations"] if a.account_guid == target.guid and a.premises_guid)
                closed = AccountData(AccountType.MANAGEMENT, PersonPayer("Случайный", "Гость"), places,
                                     account_number=target.account_number,
                                     closed=Closing(reason, date(2026, 11, 1), None))
                run.step(kind, lambda uow, s, m, now, target=target, closed=closed: account_services.import_accounts(
                    uow, s, ImportAccounts((AccountToImport(Guid.new(), closed, account_guid=Guid(target.guid)),)),
                    message=m, now=now))
    for name, moment, seen in run.moments:
        assert snapshot(engine, moment) == seen, name


def _lenient(run: Scenario) -> Callable[..., Any]:
    def step(name: str, action: Callable[..., Any]) -> Any:
        with message_uow(run.engine, MC) as uow:
            sender = uow.organisations.get(MC)
            assert isinstance(sender, Organisation)
            result = action(uow, sender, uow.provenance.message, datetime.now(UTC))  # type: ignore[union-attr]
            uow.commit()
        time.sleep(0.002)
        run.moments.append((name, datetime.now(UTC), snapshot(run.engine)))
        time.sleep(0.002)
        return result
    return step
