"""``make demo``, part 8: a billing centre signs readings for two management companies under their powers.

The fixture billing centre (role ``operator``) runs both companies' information systems: each company grants
it a power, the billing centre accepts, and its software — the SDK with the billing centre's own TEST-ONLY key
and ``operator_signature=True`` — posts each company's data in that company's name (``IsOperatorSignature``).
Then what a power does not cover is refused at the door, a recall refuses the next request, and what the power
wrote stays the company's (README "Delegated powers").
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

from lxml import etree

from gateway import bootstrap, orgfile
from gateway.domain.model import OrgRole
from gateway.domain.powers import Function, Power
from gateway.domain.provenance import Provenance
from gateway.domain.values import Guid
from gateway.services import powers as power_services
from gateway.signing import keys
from providers.client import GatewayFault, ProviderClient
from providers.polling import PollSchedule
from providers.records import Account, AccountType, Device, DeviceKind, NsiRef, Person, Reading

SUPPORT = power_services.Actor("demo")
POLLING = PollSchedule(first=0.05, intervals=(0.05, 0.1, 0.2), give_up_after=60)
NOVEMBER = date(2026, 11, 25)


def _say(text: str = "") -> None:
    print(text, flush=True)


def _record(gateway: bootstrap.Gateway, party: Guid, why: str, change: Any) -> Power:
    """One change of a power as support records it: its own change set (operator provenance) and audit entry."""
    with gateway.unit_of_work(Provenance.of_operator(SUPPORT.name, why, role="operator", org=party)) as uow:
        power: Power = change(uow)
        uow.commit()
    return power


def _grant(gateway: bootstrap.Gateway, grantor: orgfile.OrgEntry, holder: orgfile.OrgEntry,
           *functions: Function) -> Power:
    g, h = grantor.organisation.guid, holder.organisation.guid
    now = datetime.now(UTC)
    power = _record(gateway, g, f"{grantor.organisation.name}'s letter granting a power", lambda uow: (
        power_services.grant(uow, grantor=g, holder=h, functions=frozenset(functions), starts_on=date(2026, 1, 1),
                             ends_on=None, now=now, actor=SUPPORT)))
    power = _record(gateway, h, f"{holder.organisation.name} accepts", lambda uow: (
        power_services.accept(uow, power.guid, now=datetime.now(UTC), actor=SUPPORT)))
    _say(f"   {grantor.organisation.name} → {holder.organisation.name}: {', '.join(sorted(functions))} from "
         f"{power.starts_on}, power {power.guid} {power.state}")
    return power


def _try(what: str, action: Any) -> None:
    try:
        action()
        _say(f"   {what}: ACCEPTED (unexpected)")
    except GatewayFault as fault:
        _say(f"   {what}: refused, {fault.code}: {fault.message}")


def run(gateway: bootstrap.Gateway, entries: list[orgfile.OrgEntry], clients: dict[Any, ProviderClient],
        issued: dict[Any, keys.Issued], answers: keys.Issued, url: str, roots: list[str]) -> None:
    _say("\n== 8. delegated powers: a billing centre signs for two management companies (IsOperatorSignature)")
    companies = [e for e in entries if e.organisation.role is OrgRole.MANAGEMENT_COMPANY]
    billing = next(e for e in entries if e.organisation.role is OrgRole.OPERATOR)
    first, second = companies[0], companies[1]
    powers = {first.organisation.guid: _grant(gateway, first, billing, Function.READINGS),
              second.organisation.guid: _grant(gateway, second, billing, Function.DEVICES, Function.READINGS)}

    def signing_for(company: orgfile.OrgEntry) -> ProviderClient:
        own = issued[billing.organisation.guid]
        return ProviderClient(url, org_guid=str(company.organisation.guid), key=own.key, cert=own.cert,
                              gateway_cert=answers.cert, polling=POLLING, operator_signature=True)

    water = _water(clients[first.organisation.guid], roots[0])
    second_root = _second_companys_meter(second, clients[second.organisation.guid], signing_for(second), water)
    for company, meters, start in ((first, roots, Decimal("15")), (second, [second_root], Decimal("21"))):
        values = [Reading(root, NOVEMBER, water, start + i) for i, root in enumerate(meters)]
        state = signing_for(company).import_readings(values)
        outcome = ", ".join("accepted" if o.ok else f"refused {o.error_code}" for o in state.objects)
        _say(f"   billing centre for {company.organisation.name}: November readings → {outcome} "
             "(the company's data, signed by the billing centre under its power)")

    mc = signing_for(first)
    _try(f"billing centre posting accounts for {first.organisation.name} (not a function it holds)",
         lambda: mc.import_accounts([Account(AccountType.UO, Person("Петров", "Пётр"),
                                             premises_guid=str(Guid.new()))]))
    recalled = _record(gateway, first.organisation.guid, f"{first.organisation.name} recalls the power", lambda uow: (
        power_services.recall(uow, powers[first.organisation.guid].guid, now=datetime.now(UTC), actor=SUPPORT)))
    _say(f"   {first.organisation.name} recalls power {recalled.guid}: {recalled.state}")
    _try("the billing centre's next reading for it", lambda: mc.import_readings(
        [Reading(roots[0], date(2026, 11, 30), water, Decimal("16"))]))
    fias = _house_of(first)
    [history] = clients[first.organisation.guid].export_history([fias], root_guids=roots[:1])
    kept = ", ".join(f"{v.DateValue.date()}: {v.MeteringValue}" for v in history.OneRateDeviceValue.Values.CurrentValue)
    _say(f"   what the power wrote stays the company's; its own export of ХВ-1: {kept}")
    with gateway.reader() as reader:
        posted = reader.messages(signed_by=str(billing.organisation.guid), limit=100)
    _say(f"   the registry holds {len(posted)} message(s) signed by the billing centre under a power, each "
         "recorded with its power, on its change set and in the archive")


def _water(client: ProviderClient, root: str) -> NsiRef:
    """The cold-water NSI reference of the company's first meter, as the registry exports it."""
    device = client.export_devices(root_guid=root)[0]
    resource = device.MunicipalResourceNotEnergy[0].MunicipalResource
    return NsiRef(str(resource.Code), str(resource.GUID))


def _house_of(entry: orgfile.OrgEntry) -> str:
    return str(etree.parse(str(entry.houses[0])).getroot().findtext(".//{*}FIASHouseGuid"))


def _second_companys_meter(company: orgfile.OrgEntry, own: ProviderClient, billing: ProviderClient,
                           water: NsiRef) -> str:
    """The second company opens flat 1's account itself; the billing centre registers its meter (devices)."""
    fias = _house_of(company)
    flats = {p.PremisesNum: p.PremisesGUID for p in own.export_house(fias).ApartmentHouse.ResidentialPremises}
    [account] = own.import_accounts([Account(AccountType.UO, Person("Смирнова", "Ольга"), premises_guid=flats["1"],
                                             total_square=Decimal("44.6"), account_number="2001")]).objects
    assert account.guid is not None, account
    meter = Device("ХВ-З1", DeviceKind.RESIDENTIAL, date(2026, 2, 1), model="ВСХ-15", premises_guids=(flats["1"],),
                   account_guids=(account.guid,), resources=((water, Decimal(20)),))
    [registered] = billing.import_devices(fias, [meter]).objects
    _say(f"   billing centre for {company.organisation.name}: meter ХВ-З1 in flat 1 → "
         + (f"registered as {registered.unique_number}" if registered.ok else f"refused {registered.error_code}"))
    return str(registered.extra.get("MeteringDeviceGUID", ""))

