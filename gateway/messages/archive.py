"""The tamper-evident archive (X-Road's message log, in spirit): a hash chain over what was exchanged.

Each entry records the SHA-256 of bytes the ``messages`` table keeps byte-exact — the request envelope as
received, and the signed getStateResult — and the chain value of the entry before it. Altering a stored
request or result, an entry, or removing an entry breaks a hash or a link; ``verify`` finds it.
Appends are serialised (an advisory lock on PostgreSQL, the write lock on SQLite), held only from the
append to the commit of the transaction that stores the message or its result.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import Connection, bindparam, func, insert, select, text

from gateway.domain.values import Guid
from gateway.registry.tables import TS, archive, messages

GENESIS = "0" * 64
#: pg_advisory_xact_lock key for appends ("dgarchiv" as a 64-bit integer).
_LOCK_KEY = int.from_bytes(b"dgarchiv", "big") >> 1


def _chain_fields(digest: str, kind: str, message_guid: str, recorded_at: datetime,
                  signed_by: str | None = None, power: str | None = None) -> str:
    """What an entry's chain value hashes after the previous entry's: ``|digest|kind|guid|recorded_at[|…]``."""
    parts = ["", digest, kind, message_guid, recorded_at.isoformat()]
    if signed_by is not None or power is not None:  # entries of requests signed under a power: both parties
        parts += [signed_by or "", power or ""]
    return "|".join(parts)


def _chain(prev: str, digest: str, kind: str, message_guid: str, recorded_at: datetime,
           signed_by: str | None = None, power: str | None = None) -> str:
    """sha256(prev | sha256 | kind | message_guid | recorded_at [| signed_by | power]), lower-case hex."""
    return hashlib.sha256((prev + _chain_fields(digest, kind, message_guid, recorded_at, signed_by,
                                                power)).encode()).hexdigest()


_LOCK = text("SELECT pg_advisory_xact_lock(:key)")
#: PostgreSQL: the last entry's chain value read and ours inserted in one statement (after ``_LOCK``);
#: sha256() over the UTF-8 of prev || fields is ``_chain``'s value (tests/integration/test_archive.py)
_APPEND = text(
    "INSERT INTO archive (message_guid, kind, sha256, prev, chain, recorded_at, signed_by, power_guid) "
    "SELECT :message_guid, :kind, :sha256, last.prev, "
    "encode(sha256(convert_to(last.prev || CAST(:fields AS text), 'UTF8')), 'hex'), :recorded_at, :signed_by, "
    ":power_guid FROM (SELECT coalesce((SELECT chain FROM archive ORDER BY seq DESC LIMIT 1), "
    "CAST(:genesis AS text)) AS prev) AS last RETURNING chain"
).bindparams(bindparam("recorded_at", type_=TS))


def append(connection: Connection, message_guid: Guid, kind: str, content: bytes, *, at: datetime,
           signed_by: Guid | None = None, power: Guid | None = None) -> str:
    """Add an entry for ``content`` (already stored in ``messages``) in the caller's transaction.

    A request another organisation signed under a delegated power records who signed and under which power;
    both are part of the entry's chain value, so neither can be altered or removed unnoticed.
    """
    digest = hashlib.sha256(content).hexdigest()
    at = at.astimezone(UTC)  # what the column gives back, so the chain recomputes from the stored value
    signer, under = (str(signed_by) if signed_by else None), (str(power) if power else None)
    if connection.dialect.name == "postgresql":
        # the lock first, in a statement of its own: the next statement's snapshot then sees the last entry
        # committed. Reading it and inserting ours is one statement, the chain value made by the database from
        # the same string ``_chain`` hashes (the link's own fields as a parameter after ``prev``)
        connection.execute(_LOCK, {"key": _LOCK_KEY})
        fields = _chain_fields(digest, kind, str(message_guid), at, signer, under)
        return str(connection.execute(_APPEND, {
            "message_guid": str(message_guid), "kind": kind, "sha256": digest, "recorded_at": at,
            "signed_by": signer, "power_guid": under, "fields": fields, "genesis": GENESIS}).scalar_one())
    prev = connection.execute(select(archive.c.chain).order_by(archive.c.seq.desc()).limit(1)).scalar()
    chain = _chain(prev or GENESIS, digest, kind, str(message_guid), at, signer, under)
    connection.execute(insert(archive).values(message_guid=str(message_guid), kind=kind, sha256=digest,
                                              prev=prev or GENESIS, chain=chain, recorded_at=at, signed_by=signer,
                                              power_guid=under))
    return chain


@dataclass(frozen=True)
class Problem:
    seq: int | None
    message_guid: str
    what: str


@dataclass(frozen=True)
class Report:
    entries: int
    head: str
    problems: list[Problem]

    @property
    def intact(self) -> bool:
        return not self.problems


def verify(connection: Connection) -> Report:
    """Recompute every hash and link of the chain, and check no request or result lacks its entry."""
    problems: list[Problem] = []
    prev = GENESIS
    entries = 0
    for seq, guid, kind, digest, entry_prev, chain, at, signed_by, power, request, result in _entries(connection):
        entries += 1
        content = request if kind == "request" else result
        if content is None or hashlib.sha256(content).hexdigest() != digest:
            problems.append(Problem(seq, guid, f"the archived {kind} bytes do not match their SHA-256"))
        if entry_prev != prev:
            problems.append(Problem(seq, guid, "link broken: an entry before this one was removed or altered"))
        if _chain(entry_prev, digest, kind, guid, at, signed_by, power) != chain:
            problems.append(Problem(seq, guid, "entry altered: its chain value does not match its fields"))
        prev = chain
    m, a = messages.c, archive.c
    requests = select(a.message_guid).where(a.kind == "request")
    results = select(a.message_guid).where(a.kind == "result")
    for (guid,) in connection.execute(select(m.guid).where(m.guid.not_in(requests))):
        problems.append(Problem(None, guid, "the request has no archive entry (entry removed)"))
    for (guid,) in connection.execute(select(m.guid).where(m.result.is_not(None), m.guid.not_in(results))):
        problems.append(Problem(None, guid, "the result has no archive entry (entry removed)"))
    return Report(entries, prev, problems)


def _entries(connection: Connection) -> Iterator[tuple]:  # type: ignore[type-arg]
    a, m = archive.c, messages.c
    query = (select(a.seq, a.message_guid, a.kind, a.sha256, a.prev, a.chain, a.recorded_at, a.signed_by,
                    a.power_guid, m.request, m.result)
             .join_from(archive, messages, a.message_guid == m.guid).order_by(a.seq)
             .execution_options(yield_per=200))
    yield from connection.execute(query)


def count(connection: Connection) -> int:
    return int(connection.execute(select(func.count()).select_from(archive)).scalar() or 0)


def verify_message(connection: Connection, guid: str) -> list[Problem]:
    """One message's entries checked (the console's message page): each hash against the stored bytes, each
    chain value against its fields, each link against the entry before it, and none missing. The whole chain is
    ``verify``'s (``gateway archive verify``)."""
    problems: list[Problem] = []
    kinds = set()
    a, m = archive.c, messages.c
    query = (select(a.seq, a.message_guid, a.kind, a.sha256, a.prev, a.chain, a.recorded_at, a.signed_by,
                    a.power_guid, m.request, m.result)
             .join_from(archive, messages, a.message_guid == m.guid).where(a.message_guid == guid).order_by(a.seq))
    for seq, message, kind, digest, entry_prev, chain, at, signed_by, power, request, result in connection.execute(
            query):
        kinds.add(kind)
        content = request if kind == "request" else result
        if content is None or hashlib.sha256(content).hexdigest() != digest:
            problems.append(Problem(seq, message, f"the archived {kind} bytes do not match their SHA-256"))
        if _chain(entry_prev, digest, kind, message, at, signed_by, power) != chain:
            problems.append(Problem(seq, message, "entry altered: its chain value does not match its fields"))
        before = connection.execute(select(a.chain).where(a.seq < seq).order_by(a.seq.desc()).limit(1)).scalar()
        if (before or GENESIS) != entry_prev:
            problems.append(Problem(seq, message, "link broken: the entry before this one was removed or altered"))
    stored = connection.execute(select(m.result.is_not(None)).where(m.guid == guid)).scalar()
    if "request" not in kinds:
        problems.append(Problem(None, guid, "the request has no archive entry (entry removed)"))
    if stored and "result" not in kinds:
        problems.append(Problem(None, guid, "the result has no archive entry (entry removed)"))
    return problems
