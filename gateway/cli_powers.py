"""``gateway powers``: grant, accept, recall, renounce and list delegated powers (README "Delegated powers").

Support staff record each change on the word of the organisation that makes it (the grantor grants and
recalls, the holder accepts and renounces): every change is a versioned change of the registry whose
provenance is the OS user with a reason (``Provenance.of_operator``), and one entry of the audit trail in the
same transaction; a refused change is audited too, as refused, with its code.
"""

from __future__ import annotations

import getpass
from datetime import UTC, datetime
from typing import Protocol

import click

from gateway import bootstrap
from gateway.cli_options import as_of_moment
from gateway.domain.authority import today
from gateway.domain.powers import Function, Power, PowerState
from gateway.domain.provenance import Provenance
from gateway.domain.values import Guid, InvalidValue
from gateway.errors import PowerRefused
from gateway.services import powers as power_services


class _Context(Protocol):
    def gateway(self, *, answers: bool = False) -> bootstrap.Gateway: ...


def _guid(value: str, what: str) -> Guid:
    try:
        return Guid(value)
    except InvalidValue as exc:
        raise click.BadParameter(str(exc), param_hint=what) from None


def _actor() -> power_services.Actor:
    return power_services.Actor(getpass.getuser())


def _refused(gateway: bootstrap.Gateway, action: str, target: str | None, error: PowerRefused,
             detail: dict[str, object], now: datetime) -> click.ClickException:
    """Audit a refused change (its own transaction: the change rolled back) and say why, with the code."""
    with gateway.unit_of_work() as uow:
        power_services.audit_refusal(uow, action, target, error, _actor(), now, detail)
        uow.commit()
    return click.ClickException(f"{error.code}: {error.message}")


@click.group("powers")
def powers_group() -> None:
    """Delegated powers: which organisation signs for which (IsOperatorSignature)."""


@powers_group.command("grant")
@click.argument("grantor")
@click.argument("holder")
@click.option("--function", "-f", "functions", multiple=True, required=True,
              type=click.Choice([f.value for f in Function]), help="A function the power covers (repeat).")
@click.option("--from", "starts_on", type=click.DateTime(["%Y-%m-%d"]),
              help="First day (default: today in UTC+12, the registry's calendar).")
@click.option("--to", "ends_on", type=click.DateTime(["%Y-%m-%d"]),
              help="Last day, inclusive (default: until recalled or renounced).")
@click.option("--reason", help="Why, for the record (default: the command).")
@click.pass_obj
def grant(obj: _Context, grantor: str, holder: str, functions: tuple[str, ...], starts_on: datetime | None,
          ends_on: datetime | None, reason: str | None) -> None:
    """GRANTOR lets HOLDER sign its requests for the given functions; HOLDER must then accept."""
    gateway, now = obj.gateway(), datetime.now(UTC)
    grantor_guid, holder_guid = _guid(grantor, "GRANTOR"), _guid(holder, "HOLDER")
    first = starts_on.date() if starts_on else today(now)
    last = ends_on.date() if ends_on else None
    wanted = frozenset(Function(f) for f in functions)
    reason = reason or f"gateway powers grant {grantor} {holder} {' '.join(sorted(wanted))}"
    provenance = Provenance.of_operator(_actor().name, reason, role="administrator", org=grantor_guid)
    try:
        with gateway.unit_of_work(provenance) as uow:
            power = power_services.grant(uow, grantor=grantor_guid, holder=holder_guid, functions=wanted,
                                         starts_on=first, ends_on=last, now=now, actor=_actor(), reason=reason)
            uow.commit()
    except PowerRefused as error:
        raise _refused(gateway, "powers.grant", None, error, {
            "grantor": str(grantor_guid), "holder": str(holder_guid), "functions": sorted(wanted),
            "starts_on": first.isoformat(), "ends_on": last.isoformat() if last else None}, now) from None
    click.echo(f"granted {power.guid}: {_line(power, now)}; the holder must accept it "
               f"(gateway powers accept {power.guid})")


def _change(obj: _Context, guid: str, to: PowerState, reason: str | None) -> None:
    gateway, now = obj.gateway(), datetime.now(UTC)
    power_guid = _guid(guid, "POWER")
    verb = {PowerState.ACCEPTED: "accept", PowerState.RECALLED: "recall", PowerState.RENOUNCED: "renounce"}[to]
    with gateway.unit_of_work() as uow:
        found = uow.powers.get(power_guid)
    party = None if found is None else (found.grantor if to is PowerState.RECALLED else found.holder)
    reason = reason or f"gateway powers {verb} {guid}"
    provenance = Provenance.of_operator(_actor().name, reason, role="administrator", org=party)
    change = {PowerState.ACCEPTED: power_services.accept, PowerState.RECALLED: power_services.recall,
              PowerState.RENOUNCED: power_services.renounce}[to]
    try:
        with gateway.unit_of_work(provenance) as uow:
            power = change(uow, power_guid, now=now, actor=_actor(), reason=reason)
            uow.commit()
    except PowerRefused as error:
        raise _refused(gateway, f"powers.{verb}", str(power_guid), error, {}, now) from None
    click.echo(f"{to} {power.guid}: {_line(power, now)}")


@powers_group.command("accept")
@click.argument("power")
@click.option("--reason", help="Why, for the record (default: the command).")
@click.pass_obj
def accept(obj: _Context, power: str, reason: str | None) -> None:
    """The holder accepts POWER: it is in force over its period."""
    _change(obj, power, PowerState.ACCEPTED, reason)


@powers_group.command("recall")
@click.argument("power")
@click.option("--reason", help="Why, for the record (default: the command).")
@click.pass_obj
def recall(obj: _Context, power: str, reason: str | None) -> None:
    """The grantor recalls POWER: the next request under it is refused; what it wrote stays, with its provenance."""
    _change(obj, power, PowerState.RECALLED, reason)


@powers_group.command("renounce")
@click.argument("power")
@click.option("--reason", help="Why, for the record (default: the command).")
@click.pass_obj
def renounce(obj: _Context, power: str, reason: str | None) -> None:
    """The holder renounces (or declines) POWER: the next request under it is refused."""
    _change(obj, power, PowerState.RENOUNCED, reason)


@powers_group.command("list")
@click.option("--grantor", help="Only the powers this organisation granted.")
@click.option("--holder", help="Only the powers this organisation holds.")
@click.option("--as-of", "as_of", help="An ISO moment with offset: the powers as the registry knew them then.")
@click.pass_obj
def list_powers(obj: _Context, grantor: str | None, holder: str | None, as_of: str | None) -> None:
    """Every power with its parties, functions, period and state (expired ones shown as such)."""
    moment = as_of_moment(as_of)
    gateway = obj.gateway()
    with gateway.reader(moment) as reader:
        names = {o.guid: o.name for o in reader.organisations()}
        rows = list(reader.powers(grantor=str(_guid(grantor, "--grantor")) if grantor else None,
                                  holder=str(_guid(holder, "--holder")) if holder else None))
    now = moment or datetime.now(UTC)
    for row in rows:
        power = Power(Guid.stored(row.guid), Guid.stored(row.grantor_guid), Guid.stored(row.holder_guid),
                      frozenset(Function(f) for f in row.functions), row.starts_on, row.ends_on,
                      PowerState(row.state), row.granted_at, row.accepted_at, row.ended_at, row.version_number)
        click.echo(f"{row.guid}  {names.get(row.grantor_guid, row.grantor_guid)} → "
                   f"{names.get(row.holder_guid, row.holder_guid)}  {_line(power, now)}  "
                   f"v{row.version_number} {row.changed_at.isoformat(timespec='seconds')} by {row.changed_by}")
    if not rows:
        click.echo("no powers")


def _line(power: Power, now: datetime) -> str:
    period = f"{power.starts_on.isoformat()}–{power.ends_on.isoformat() if power.ends_on else '…'}"
    return f"{', '.join(sorted(power.functions))}  {period}  {power.state_at(now)}"
