"""Delegated powers (``gateway.domain.powers``): stored, versioned, and read for the door and the worker."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Connection, and_, insert, or_, select, update

from gateway.domain.powers import Function, Power, PowerState
from gateway.domain.values import Guid
from gateway.registry.tables import organisations, powers
from gateway.registry.versions import History


class PowerRepository:
    def __init__(self, connection: Connection, history: History) -> None:
        self.connection = connection
        self._history = history

    def lock_grantor(self, grantor: Guid) -> None:
        """Serialise changes to one grantor's powers (the one-holder rule is checked, then written): PostgreSQL
        locks the grantor's organisation row until COMMIT; on SQLite the writer holds the database already."""
        if self.connection.dialect.name == "postgresql":
            self.connection.execute(select(organisations.c.guid).where(organisations.c.guid == str(grantor))
                                    .with_for_update())

    def add(self, power: Power, *, by: str, reason: str | None) -> None:
        self.connection.execute(insert(powers).values(
            guid=str(power.guid), grantor_guid=str(power.grantor), holder_guid=str(power.holder),
            functions=sorted(f.value for f in power.functions), starts_on=power.starts_on, ends_on=power.ends_on,
            state=power.state.value, version_number=power.version, granted_at=power.granted_at,
            accepted_at=power.accepted_at, ended_at=power.ended_at, changed_at=power.granted_at, changed_by=by,
            change_reason=reason))
        self._history.capture(powers, "guid", [str(power.guid)], new=True)

    def change_state(self, power: Power, to: PowerState, *, at: datetime, by: str, reason: str | None) -> Power:
        """A new version of ``power`` in state ``to`` (accepted, recalled or renounced) from ``at``."""
        values: dict[str, Any] = {"state": to.value, "version_number": power.version + 1, "changed_at": at,
                                  "changed_by": by, "change_reason": reason}
        if to is PowerState.ACCEPTED:
            values["accepted_at"] = at
        else:
            values["ended_at"] = at
        self.connection.execute(update(powers).where(powers.c.guid == str(power.guid)).values(**values))
        self._history.capture(powers, "guid", [str(power.guid)])
        got = self.get(power.guid)
        assert got is not None
        return got

    def get(self, guid: Guid) -> Power | None:
        row = self.connection.execute(select(powers).where(powers.c.guid == str(guid))).first()
        return _power(row._mapping) if row is not None else None

    def granted_by(self, grantor: Guid) -> list[Power]:
        return self._where(powers.c.grantor_guid == str(grantor))

    def held_by(self, holder: Guid) -> list[Power]:
        return self._where(powers.c.holder_guid == str(holder))

    def around(self, grantor: Guid, signer: Guid) -> list[Power]:
        """What the door decides from: the powers ``grantor`` granted ``signer``, and those that would chain them
        through a third organisation (``grantor`` → X, X → ``signer``) — one indexed query, however many powers a
        billing centre holds from other organisations."""
        p, g, s = powers.c, str(grantor), str(signer)
        first_hops = select(p.holder_guid).where(p.grantor_guid == g).scalar_subquery()
        last_hops = select(p.grantor_guid).where(p.holder_guid == s).scalar_subquery()
        return self._where(or_(
            and_(p.grantor_guid == g, p.holder_guid == s),
            and_(p.holder_guid == s, p.grantor_guid.in_(first_hops)),
            and_(p.grantor_guid == g, p.holder_guid.in_(last_hops))))

    def _where(self, condition: Any) -> list[Power]:
        rows = self.connection.execute(select(powers).where(condition).order_by(powers.c.id)).mappings()
        return [_power(row) for row in rows]


def _power(row: Any) -> Power:
    return Power(
        guid=Guid(row["guid"]), grantor=Guid(row["grantor_guid"]), holder=Guid(row["holder_guid"]),
        functions=frozenset(Function(f) for f in row["functions"]), starts_on=row["starts_on"],
        ends_on=row["ends_on"], state=PowerState(row["state"]), granted_at=row["granted_at"],
        accepted_at=row["accepted_at"], ended_at=row["ended_at"], version=row["version_number"])
