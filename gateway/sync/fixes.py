"""Support's work on the worklist: acknowledge, resolve, and apply a suggested fix.

An applied fix is a versioned change of the registry with provenance "operator action" (who, why, which
discrepancy), recorded in the same transaction as the discrepancy's resolution and the audit entry: the fix,
its reason and its record stand or fall together. Only fixes the register states exactly are applied (a
premises taking the CadastralNumber EGRN or GAR holds for it); others — a house's retired FIAS GUID — are
suggestions for the provider, who posts the correction itself.
"""

from __future__ import annotations

from datetime import UTC, datetime

from gateway.bootstrap import Gateway
from gateway.domain.discrepancies import Status
from gateway.domain.provenance import Provenance
from gateway.domain.values import Guid, InvalidValue
from gateway.errors import Code, GatewayError, ObjectRejected
from gateway.registry import audit
from gateway.registry import reconciliation as store
from gateway.services import corrections


class WorklistRefused(GatewayError):
    """A worklist action that cannot be done as asked (unknown discrepancy, no applicable fix, closed)."""

    code = Code.NOT_SUPPORTED


def _discrepancy(gateway: Gateway, guid: str) -> store.DiscrepancyRow:
    with gateway.engine.connect() as connection:
        found = store.get(connection, guid)
    if found is None:
        raise WorklistRefused(f"no discrepancy {guid}", code=Code.VALUE_INVALID)
    return found


def acknowledge(gateway: Gateway, guid: str, *, actor: str, note: str | None, actor_kind: str = "os",
                origin: str | None = None) -> None:
    """``origin``: where the action came from (the console's client address; default this host)."""
    _change(gateway, guid, Status.ACKNOWLEDGED, "acknowledged", actor=actor, note=note, actor_kind=actor_kind,
            origin=origin)


def resolve(gateway: Gateway, guid: str, *, actor: str, note: str | None, actor_kind: str = "os",
            origin: str | None = None) -> None:
    _change(gateway, guid, Status.RESOLVED, "resolved", actor=actor, note=note, actor_kind=actor_kind, origin=origin)


def _change(gateway: Gateway, guid: str, status: Status, action: str, *, actor: str, note: str | None,
            actor_kind: str, origin: str | None) -> None:
    found = _discrepancy(gateway, guid)
    if found.status == Status.RESOLVED.value:
        raise WorklistRefused(f"discrepancy {guid} is resolved already ({found.closed_by}, "
                              f"{found.closed_at:%Y-%m-%d})" if found.closed_at else f"discrepancy {guid} is resolved")
    with gateway.engine.begin() as connection:
        store.transition(connection, guid, status, actor=actor, note=note, now=datetime.now(UTC), action=action)
        audit.record(connection, action=f"reconcile.{action}", target=guid, actor=actor, actor_kind=actor_kind,
                     detail={"kind": found.kind, "object": found.object_guid, "note": note}, origin=origin)


def apply(gateway: Gateway, guid: str, *, actor: str, reason: str, actor_kind: str = "os",
          origin: str | None = None) -> int:
    """Apply the discrepancy's suggested fix; returns the change set that recorded it."""
    found = _discrepancy(gateway, guid)
    fix = found.suggested_fix or {}
    if fix.get("action") != "set_cadastral_number":
        raise WorklistRefused(f"discrepancy {guid} ({found.kind}) has no fix the gateway applies itself; "
                              "the provider posts the correction")
    if found.status in (Status.RESOLVED.value, Status.AUTO_RESOLVED.value):
        raise WorklistRefused(f"discrepancy {guid} is {found.status}; nothing to apply")
    if not reason.strip():
        raise WorklistRefused("an applied fix needs a reason (--reason)", code=Code.VALUE_INVALID)
    now = datetime.now(UTC)
    provenance = Provenance.of_operator(actor, f"{reason} (discrepancy {guid}: {found.kind})", role="support",
                                        org=Guid(found.org_guid) if found.org_guid else None)
    with gateway.unit_of_work(provenance) as uow:
        try:
            corrections.set_cadastral_number(uow, Guid(fix["premises_guid"]), fix["cadastral_number"], now=now)
        except InvalidValue as exc:
            raise ObjectRejected(str(exc), code=exc.code) from None
        changeset = uow.history.changeset_id
        store.transition(uow.connection, guid, Status.RESOLVED, actor=actor, note=reason, now=now, action="applied",
                         changeset=changeset)
        audit.record(uow.connection, action="reconcile.apply", target=guid, actor=actor, actor_kind=actor_kind,
                     detail={"kind": found.kind, "fix": fix, "reason": reason, "changeset": changeset}, origin=origin)
        uow.commit()
    return changeset
