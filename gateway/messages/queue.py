"""The message table as an archive and a queue."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from enum import StrEnum
from typing import Any

from sqlalchemy import Column, Connection, Engine, Table, and_, case, delete, func, or_, select, update
from sqlalchemy.dialects import postgresql, sqlite

from gateway.domain.values import Guid
from gateway.errors import Code, GatewayError, RequestRefused, TrustRefused
from gateway.messages import archive
from gateway.registry.db import BINARY_RESULTS
from gateway.registry.tables import messages, signed_payloads


class MessageState(StrEnum):
    RECEIVED = "received"
    PROCESSING = "processing"
    DONE = "done"
    DEAD = "dead"

    @property
    def request_state(self) -> int:
        """GIS AsyncRequestStateType: 1 received, 2 in processing, 3 processed (done or failed for good)."""
        return {"received": 1, "processing": 2}.get(self.value, 3)


@dataclass(frozen=True, slots=True)
class StoredMessage:
    guid: Guid
    requester_message_guid: Guid
    org_guid: Guid
    service: str
    operation: str
    state: MessageState
    received_at: datetime
    attempts: int
    #: the canonical signed element, for messages accepted before revision 0019; empty since then: the element
    #: is made again from ``request`` (``gateway.processing.operations.signed_content``), checked against
    #: ``payload_sha256``, its digest
    payload: bytes
    result: bytes | None = None
    last_error: str | None = None
    claim_token: str | None = None
    #: IsOperatorSignature: the organisation that signed for ``org_guid`` and the power it signed under
    signed_by: Guid | None = None
    power_guid: Guid | None = None
    payload_sha256: str | None = None
    #: the envelope as received; read only by ``claim`` (the worker's copy), None elsewhere
    request: bytes | None = None

    @property
    def parties(self) -> frozenset[Guid]:
        """Who may ask getState for it: the organisation whose data it is, and the one that signed it."""
        return frozenset({self.org_guid} | ({self.signed_by} if self.signed_by else set()))


_COLUMNS = (messages.c.guid, messages.c.requester_message_guid, messages.c.org_guid, messages.c.service,
            messages.c.operation, messages.c.state, messages.c.received_at, messages.c.attempts,
            messages.c.payload, messages.c.result, messages.c.last_error, messages.c.claim_token,
            messages.c.signed_by, messages.c.power_guid, messages.c.payload_sha256)


#: on PostgreSQL, these reads ask for the binary result format (``db.BINARY_RESULTS``): a bytea comes as text in
#: hex — twice its size, encoded by the server and decoded by the client; a 0.5 MB envelope took 3.4–3.6 ms to
#: read that way and 0.6 ms in binary (measured, PostgreSQL 15, psycopg 3.3), the worker's claim of a
#: 1,000-reading message 7.8 ms and 3.0 ms, and every getState poll reads the signed result
_BINARY = {BINARY_RESULTS: True}


def _stored(row: object) -> StoredMessage:
    r = row._mapping  # type: ignore[attr-defined]
    return StoredMessage(
        guid=Guid(r["guid"]), requester_message_guid=Guid(r["requester_message_guid"]),
        org_guid=Guid(r["org_guid"]), service=r["service"], operation=r["operation"],
        state=MessageState(r["state"]), received_at=r["received_at"], attempts=r["attempts"],
        payload=r["payload"], result=r["result"], last_error=r["last_error"], claim_token=r["claim_token"],
        signed_by=Guid.stored(r["signed_by"]) if r["signed_by"] else None,
        power_guid=Guid.stored(r["power_guid"]) if r["power_guid"] else None,
        payload_sha256=r["payload_sha256"], request=r.get("request"),
    )


@dataclass(frozen=True, slots=True)
class ReplayKey:
    """What identifies one signed request for replay detection: the digest of its canonical ds:SignedInfo
    (it covers the signed element's digest and the XAdES SigningTime and certificate, so two signings of the
    same content differ, and an ECDSA signature value made malleable does not), kept until ``keep_until`` —
    the signing certificate's end of validity, after which the signature is refused anyway."""

    digest: str
    keep_until: datetime


def accept(
    connection: Connection, *, org: Guid, requester_message_guid: Guid, service: str, operation: str,
    request: bytes, payload: bytes, now: datetime, replay: ReplayKey | None = None,
    signed_by: Guid | None = None, power: Guid | None = None, payload_in_request: bool = False,
    payload_sha256: str | None = None,
) -> tuple[Guid, bool]:
    """Store an accepted request; returns (gateway MessageGUID, newly stored?).

    ``payload`` is the canonical signed element. ``payload_in_request``: ``request`` is a SOAP envelope whose
    body element is that element (the door's case), so only the payload's digest is stored and the worker takes
    the element from the envelope (``gateway.processing.operations.signed_content``); otherwise the payload is
    stored as given. ``payload_sha256``: the payload's hex SHA-256 when the caller has it already (the signature's
    own digest, ``Verified.signed_sha256``); computed here otherwise.

    ``signed_by`` and ``power``: another organisation signed it for ``org`` under that delegated power
    (IsOperatorSignature); both are kept with the message and in its archive entry.

    A resend of the same MessageGUID by the same organisation with the same signed content returns the
    original MessageGUID and stores nothing. The same MessageGUID with other content is refused. A signed
    request already accepted under another MessageGUID (the same ``replay`` key) is refused as a replay
    (INT002010): the RequestHeader is not signed, so a captured body could otherwise be processed twice.
    Both checks rest on unique keys, so concurrent senders cannot get the same body in twice. A refusal
    (``RequestRefused``, ``TrustRefused``) leaves rows of the request written in ``connection``'s transaction:
    the caller rolls it back.

    The three steps — ``store``, then ``resent`` when the MessageGUID was taken or ``seal`` when it was not —
    are also callable one by one, in this order and in one transaction (the door stores a message before its
    signature is verified, ``gateway.soap.admission``).
    """
    digest = payload_sha256 or hashlib.sha256(payload).hexdigest()
    guid = store(connection, org=org, requester_message_guid=requester_message_guid, service=service,
                 operation=operation, request=request, payload=b"" if payload_in_request else payload, now=now,
                 signed_by=signed_by, power=power, payload_sha256=digest)
    if guid is None:  # this MessageGUID was used before by this organisation: a resend, or a reuse
        return resent(connection, org=org, requester_message_guid=requester_message_guid, operation=operation,
                      payload=payload, payload_sha256=digest), False
    seal(connection, guid, org=org, request=request, now=now, replay=replay, signed_by=signed_by, power=power)
    return guid, True


def store(
    connection: Connection, *, org: Guid, requester_message_guid: Guid, service: str, operation: str,
    request: bytes, payload: bytes, now: datetime, payload_sha256: str, signed_by: Guid | None = None,
    power: Guid | None = None,
) -> Guid | None:
    """The message's row, RECEIVED under a new MessageGUID (returned); None when the organisation has used
    ``requester_message_guid`` before (``resent`` tells a resend from a reuse). ``payload``: as stored (empty
    when the envelope holds it). The row is not a message until ``seal`` adds its archive entry in the same
    transaction."""
    guid = Guid.new()
    # the unique keys decide, in one statement each and without a savepoint: a concurrent insert of the same
    # key makes ours wait for its transaction, then do nothing if it committed. The statements are made once
    # (parameters, not values, vary): a 0.5 MB request costs no statement building on the acknowledgement path
    stored = connection.execute(_NEW_MESSAGE[connection.dialect.name], {
        "guid": str(guid), "requester_message_guid": str(requester_message_guid), "org_guid": str(org),
        "service": service, "operation": operation, "state": MessageState.RECEIVED.value, "received_at": now,
        "attempts": 0, "request": request, "payload": payload, "payload_sha256": payload_sha256,
        "signed_by": str(signed_by) if signed_by else None, "power_guid": str(power) if power else None,
    }).first()
    return guid if stored is not None else None


def resent(connection: Connection, *, org: Guid, requester_message_guid: Guid, operation: str, payload: bytes,
           payload_sha256: str) -> Guid:
    """The MessageGUID of the message ``org`` accepted under ``requester_message_guid`` when this request is
    that one sent again (the same operation and signed content); ``RequestRefused`` (MESSAGE_REUSED) when not."""
    existing = _by_requester(connection, org, requester_message_guid)
    if existing is None:  # pragma: no cover - the conflicting row cannot vanish inside our statement's wait
        raise RequestRefused(f"MessageGUID {requester_message_guid} is being accepted by another request; "
                             "send it again", code=Code.MESSAGE_REUSED)
    same = existing.payload == payload if existing.payload else existing.payload_sha256 == payload_sha256
    if existing.operation != operation or not same:
        raise RequestRefused(
            f"MessageGUID {requester_message_guid} was already used by this organisation for another request "
            f"(accepted as {existing.guid}); use a new MessageGUID for new content",
            code=Code.MESSAGE_REUSED)
    return existing.guid


def seal(connection: Connection, guid: Guid, *, org: Guid, request: bytes, now: datetime,
         replay: ReplayKey | None = None, signed_by: Guid | None = None, power: Guid | None = None) -> None:
    """The stored message's replay key (``TrustRefused``, SIGNATURE_REPLAYED, when another message holds it)
    and its archive entry."""
    if replay is not None:
        first = connection.execute(_NEW_REPLAY_KEY[connection.dialect.name], {
            "replay_key": replay.digest, "message_guid": str(guid), "org_guid": str(org), "accepted_at": now,
            "keep_until": replay.keep_until}).first()
        if first is None:
            # the caller's rollback takes the row just inserted away (the door's unit of work, as for every
            # refusal here). Never DELETE it: PostgreSQL checks each table referencing messages for the
            # deleted key, and meter_readings' message_guid has no index — at 1,000,000 stored readings a
            # replay took 249 ms to refuse instead of ~12, growing with every reading (measured, this machine)
            raise TrustRefused(
                "this signed request was already accepted under another MessageGUID (a replay of the "
                "same signature); sign every new request anew — a resend of the original MessageGUID "
                "is answered with its original Ack", code=Code.SIGNATURE_REPLAYED)
    archive.append(connection, guid, "request", request, at=now, signed_by=signed_by, power=power)


def _new_only(table: Table, key: list[str], returning: Column[Any]) -> dict[str, Any]:
    """INSERT … ON CONFLICT (key) DO NOTHING RETURNING ``returning``, per dialect name."""
    return {name: dialect.insert(table).on_conflict_do_nothing(index_elements=key).returning(returning)
            for name, dialect in (("postgresql", postgresql), ("sqlite", sqlite))}


_NEW_MESSAGE = _new_only(messages, ["org_guid", "requester_message_guid"], messages.c.guid)
_NEW_REPLAY_KEY = _new_only(signed_payloads, ["replay_key"], signed_payloads.c.replay_key)


def purge_replay_keys(connection: Connection, *, now: datetime) -> int:
    """Forget replay keys whose certificate has expired (a replay of those is refused as not valid now)."""
    return int(connection.execute(delete(signed_payloads).where(signed_payloads.c.keep_until < now)).rowcount)


def _by_requester(connection: Connection, org: Guid, requester: Guid) -> StoredMessage | None:
    row = connection.execute(select(*_COLUMNS).where(
        messages.c.org_guid == str(org), messages.c.requester_message_guid == str(requester)).execution_options(
        **_BINARY)).first()
    return _stored(row) if row else None


def find(connection: Connection, guid: Guid) -> StoredMessage | None:
    row = connection.execute(select(*_COLUMNS).where(messages.c.guid == str(guid)).execution_options(**_BINARY)).first()
    return _stored(row) if row else None


def claim(engine: Engine, *, now: datetime, lease_seconds: int) -> StoredMessage | None:
    """Take the oldest message that is waiting, or whose worker's lease expired, under a new lease."""
    claimable = or_(
        messages.c.state == MessageState.RECEIVED.value,
        and_(messages.c.state == MessageState.PROCESSING.value, messages.c.lease_until < now),
    )
    query = select(messages.c.guid).where(claimable).order_by(messages.c.received_at).limit(1)
    token = str(Guid.new())
    claimed = {"state": MessageState.PROCESSING.value, "attempts": messages.c.attempts + 1,
               "lease_until": now + timedelta(seconds=lease_seconds), "claim_token": token}
    if engine.dialect.name == "postgresql":
        # NO KEY UPDATE: the registry rows a message's processing writes refer to it, and so hold a KEY SHARE
        # lock on it until that transaction ends; a claim after an expired lease must not skip it for that.
        # One statement (pick, lease, read back): a claim is one round trip, not three
        pick = query.with_for_update(skip_locked=True, key_share=True).scalar_subquery()
        with engine.begin() as connection:
            row = connection.execute(update(messages).where(messages.c.guid == pick).values(**claimed)
                                     .returning(*_COLUMNS, messages.c.request).execution_options(**_BINARY)).first()
        return _stored(row) if row else None
    with engine.begin() as connection:
        guid = connection.execute(query).scalar()
        if guid is None:
            return None
        connection.execute(update(messages).where(messages.c.guid == guid).values(**claimed))
        row = connection.execute(select(*_COLUMNS, messages.c.request).where(messages.c.guid == guid)).first()
    return _stored(row)


class LeaseLost(GatewayError):
    """Another worker took the message over (our lease expired); our transaction must roll back."""

    fault_actor = "Server"


def complete(connection: Connection, message: StoredMessage, result: bytes, *, now: datetime) -> None:
    """Record the result, in the transaction that made the registry writes."""
    done = connection.execute(update(messages).where(
        messages.c.guid == str(message.guid), messages.c.claim_token == message.claim_token,
        messages.c.state == MessageState.PROCESSING.value,
    ).values(state=MessageState.DONE.value, result=result, processed_at=now, lease_until=None, last_error=None))
    if done.rowcount != 1:
        raise LeaseLost(f"message {message.guid}: lease lost before completion")
    archive.append(connection, message.guid, "result", result, at=now)


def renew(engine: Engine, message: StoredMessage, *, now: datetime, lease_seconds: int) -> bool:
    """Extend the lease of a message its worker is still working on (the heartbeat). False: the lease is
    no longer ours (another worker claimed the message after our lease ran out, or it is finished)."""
    with engine.begin() as connection:
        renewed = connection.execute(update(messages).where(*_held(message)).values(
            lease_until=now + timedelta(seconds=lease_seconds)))
    return renewed.rowcount == 1


def _held(message: StoredMessage) -> tuple:  # type: ignore[type-arg]
    """Still ours: in processing under our claim. A commit whose answer was lost (the database went away
    as it committed) has made it done, and nothing may change it after that."""
    return (messages.c.guid == str(message.guid), messages.c.claim_token == message.claim_token,
            messages.c.state == MessageState.PROCESSING.value)


def record_failure(
    engine: Engine, message: StoredMessage, error: str, *, now: datetime, max_attempts: int, retry_in: float,
) -> MessageState:
    """After a failed attempt: retry later (the back-off held as a lease nobody holds: no claim token) or
    dead-letter after max_attempts."""
    state = MessageState.DEAD if message.attempts >= max_attempts else MessageState.PROCESSING
    with engine.begin() as connection:
        connection.execute(update(messages).where(*_held(message)).values(
            state=state.value, last_error=_storable(error), claim_token=None,
            lease_until=None if state is MessageState.DEAD else now + timedelta(seconds=retry_in),
            processed_at=now if state is MessageState.DEAD else None,
        ))
    return state


def release(engine: Engine, message: StoredMessage, error: str, *, now: datetime) -> bool:
    """Give a claim back after the database went away during processing: the attempt never had a chance,
    so it does not count towards the dead-letter state, and the message is claimable at once."""
    with engine.begin() as connection:
        released = connection.execute(update(messages).where(*_held(message)).values(
            lease_until=now, claim_token=None, attempts=messages.c.attempts - 1, last_error=_storable(error)))
    return released.rowcount == 1


def _storable(error: str) -> str:
    return error.replace("\x00", "")[:4000]  # PostgreSQL text refuses NUL


def depth(connection: Connection) -> dict[str, int]:
    """How many messages are in each state."""
    rows = connection.execute(select(messages.c.state, func.count()).group_by(messages.c.state))
    return {state: count for state, count in rows}


class Stage(StrEnum):
    """Where an unfinished message is: what the operator's alerts tell apart."""

    WAITING = "waiting"  # claimable and not claimed: never claimed yet, or a lease or back-off ran out
    IN_FLIGHT = "in_flight"  # leased by a worker working on it
    RETRYING = "retrying"  # failed, waiting out its back-off before it becomes claimable again


@dataclass(frozen=True, slots=True)
class StageCount:
    count: int
    oldest_received_at: datetime | None


def backlog(connection: Connection, *, now: datetime) -> dict[Stage, StageCount]:
    """Unfinished messages by stage, each with when its oldest message was received (one grouped query on
    the (state, received_at) index: done messages are not read)."""
    stage = case(  # waiting is exactly what ``claim`` may take
        (or_(messages.c.state == MessageState.RECEIVED.value, messages.c.lease_until < now), Stage.WAITING.value),
        (messages.c.claim_token.is_not(None), Stage.IN_FLIGHT.value),
        else_=Stage.RETRYING.value)
    rows = connection.execute(select(stage, func.count(), func.min(messages.c.received_at)).where(
        messages.c.state.in_([MessageState.RECEIVED.value, MessageState.PROCESSING.value])).group_by(stage))
    found = {Stage(name): StageCount(int(count), oldest) for name, count, oldest in rows}
    return {s: found.get(s, StageCount(0, None)) for s in Stage}


def oldest_waiting(connection: Connection, *, now: datetime | None = None) -> datetime | None:
    """When the oldest message waiting to be claimed was received: the queue's lag. Messages a worker is
    working on, or that wait out a back-off, are not waiting (``backlog`` counts them apart)."""
    return backlog(connection, now=now or datetime.now(UTC))[Stage.WAITING].oldest_received_at


def requeue(connection: Connection, guid: Guid) -> bool:
    """Put a dead message back in the queue (``gateway messages retry``) once its cause is fixed."""
    done = connection.execute(update(messages).where(
        messages.c.guid == str(guid), messages.c.state == MessageState.DEAD.value,
    ).values(state=MessageState.RECEIVED.value, attempts=0, lease_until=None, claim_token=None,
             processed_at=None))
    return done.rowcount == 1
