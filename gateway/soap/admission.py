"""The door's database part: who sends, whether they may, and the stored message — on PostgreSQL started
while the request is still being validated and its signature verified.

What the door does for a signed request, in this order, every refusal a stable code: the schema (XSD), the
request's version, the signature (``gateway.signing.verify``), then the organisation the header names, the
certificate's binding or the operator's power, the operation's roles, the message's row (a resend found by its
MessageGUID), its replay key and its archive entry, then the commit and the Ack. The database steps up to the
row need nothing the verification makes: the certificate and the signed element's SHA-256 are what the
signature *claims* (``gateway.signing.claims``), read before anything is verified. So on PostgreSQL a thread of
the door's pool (``Early``) takes them in the request's unit of work while the request thread validates and
verifies — libxml2 and the canonicalisation release the interpreter lock, the database answers from its own
process — and the request thread waits for that thread only once it has verified. Then what the thread found
is answered in the order above: a request that fails the schema or its signature is refused for that, whatever
the thread found; and the thread's refusal, if it had one, comes next. Nothing the thread wrote outlives a
refusal: the unit of work rolls it back, as every refusal's. A message's row stored before its signature is
verified is never committed without that verification, never seen by a worker (it is not committed) and holds
only its own MessageGUID's unique key meanwhile; the replay key and the archive entry (the archive's lock is
held by one transaction at a time) follow the verification, in the request thread.

The thread starts only where its row can pay: a signed request whose certificate the signature names, on
PostgreSQL (on SQLite the row would hold the one writer's lock through the verification, and the database is
this process: nothing to overlap), with a SHA-256 reference for the row (a Streebog-256 digest is known only
once the element is canonicalised: such a request's thread takes the look-ups, the request thread the row).
An unregistered certificate or an unknown organisation stops the thread before the row. A certificate is no
secret (every signed request carries it), so a forged body under a registered one costs the database a row
written and rolled back: the early row is kept to envelopes of at most ``EARLY_ROW_MAX_BYTES`` (a month-end
message of 1,000 readings is about 0.5 MB), and a larger one is stored by the request thread once verified, its
thread taking only the look-ups: a forgery's rolled-back row is never larger than that. Measured on this
machine (``benchmarks.run accept``, README "Performance"): the look-ups and the row were 4–5 ms of the
acknowledgement's 16–18 ms on PostgreSQL.
"""

from __future__ import annotations

import logging
import os
import threading
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from datetime import datetime
from types import TracebackType

from gateway.domain.model import CertificateBinding, Organisation, OrgRole
from gateway.domain.powers import PowerRefusal, door_decision
from gateway.domain.values import Guid
from gateway.errors import Code, GatewayError, RequestRefused, TrustRefused
from gateway.messages import queue
from gateway.registry.unit_of_work import UnitOfWork
from gateway.signing.policy import check_binding
from gateway.soap.envelope import Sender

log = logging.getLogger(__name__)

#: the largest envelope whose row the early thread stores before the signature is verified (above: the request
#: thread stores it after verification); bounds what a forged body under a known certificate makes the database
#: write and roll back
EARLY_ROW_MAX_BYTES = 1024 * 1024


@dataclass(frozen=True)
class Signatory:
    """Who signed a request for the header's organisation (IsOperatorSignature), and under which power."""

    org: Guid
    power: Guid


@dataclass(frozen=True)
class Request:
    """What the database part takes of a request: plain values only, never the parsed document (the
    verification canonicalises it in place while the early thread runs)."""

    service: str
    operation: str
    roles: frozenset[OrgRole]
    sender: Sender
    body: bytes
    now: datetime


@dataclass(frozen=True)
class Admitted:
    """The sender may send it: the header's organisation, who signed for it (an operator under a power) or
    None (its own certificate, or no signature asked for)."""

    org: Organisation
    signer: Signatory | None


@dataclass(frozen=True)
class Stored:
    """The message's row: its new MessageGUID, or None when the organisation had used the MessageGUID before
    (a resend or a reuse, ``queue.resent`` tells which); ``digest``: the signed element's SHA-256 it holds."""

    guid: Guid | None
    digest: str


def admit(uow: UnitOfWork, request: Request, fingerprint: str | None) -> Admitted:
    """The organisation the header names, the binding of the certificate that signed (``fingerprint``; None
    when no signature is asked for: nothing of it checked) or the operator's power, and the operation's roles."""
    org, binding = uow.organisations.sender(request.sender.org_guid, fingerprint)
    if org is None:
        raise RequestRefused(f"organisation {request.sender.org_guid} is not registered with this gateway",
                             code=Code.ORGANISATION_UNKNOWN)
    signer: Signatory | None = None
    if fingerprint is not None:
        if request.sender.operator_signature and binding is not None and binding.org_guid != org.guid:
            signer = _operator(uow, binding, fingerprint, org.guid, request.operation, request.now)
        else:  # the organisation's own certificate; another's without the flag is INT002007
            check_binding(binding, fingerprint=fingerprint, sender=org.guid, now=request.now)
    if request.roles and org.role not in request.roles:
        raise RequestRefused(f"{request.operation} is answered only for "
                             f"{' and '.join(sorted(r.value for r in request.roles))} organisations; "
                             f"organisation {org.guid} is a {org.role.value}", code=Code.OPERATION_ROLE_DENIED)
    return Admitted(org, signer)


def _operator(uow: UnitOfWork, binding: CertificateBinding, fingerprint: str, grantor: Guid, operation: str,
              now: datetime) -> Signatory:
    """IsOperatorSignature with another organisation's certificate: the certificate must be good for its
    own organisation, which must hold a power of the header's organisation in force now for the operation
    (README "Delegated powers": what the door checks; the data's dates are the worker's)."""
    check_binding(binding, fingerprint=fingerprint, sender=binding.org_guid, now=now)
    decided = door_decision(grantor, binding.org_guid, operation, now, uow.powers.around(grantor, binding.org_guid))
    if isinstance(decided, PowerRefusal):
        raise TrustRefused(decided.text, code=decided.code)
    return Signatory(binding.org_guid, decided.guid)


def store(uow: UnitOfWork, request: Request, admitted: Admitted, digest: str) -> Stored:
    """The message's row in ``uow``'s transaction (``queue.store``): the envelope, whose body element is the
    signed element (the worker takes it from there), and that element's SHA-256, ``digest``."""
    signer = admitted.signer
    guid = queue.store(uow.connection, org=admitted.org.guid, requester_message_guid=request.sender.message_guid,
                       service=request.service, operation=request.operation, request=request.body, payload=b"",
                       now=request.now, payload_sha256=digest, signed_by=signer.org if signer else None,
                       power=signer.power if signer else None)
    return Stored(guid, digest)


class Early:
    """``admit`` (and ``store``, when ``digest`` is given and the envelope is at most ``EARLY_ROW_MAX_BYTES``)
    in a thread of the door's pool, in ``uow`` — which that thread enters. A context manager: leaving it waits
    for the thread, then leaves the unit of work (a rollback unless the owner committed), so the owner never
    touches the connection while the thread runs."""

    def __init__(self, pool: ThreadPoolExecutor, uow: UnitOfWork, request: Request, fingerprint: str,
                 digest: str | None) -> None:
        self.uow, self.request, self.fingerprint = uow, request, fingerprint
        self.digest = digest if len(request.body) <= EARLY_ROW_MAX_BYTES else None
        self._entered = False
        self._future: Future[tuple[Admitted, Stored | None]] = pool.submit(self._run)

    def _run(self) -> tuple[Admitted, Stored | None]:
        self.uow.__enter__()
        self._entered = True
        admitted = admit(self.uow, self.request, self.fingerprint)
        return admitted, store(self.uow, self.request, admitted, self.digest) if self.digest else None

    def outcome(self) -> tuple[Admitted, Stored | None]:
        """What the thread found, its refusal raised here: to be asked once the signature is verified (and so
        the certificate and digest it started from are proved — ``verify`` was given the same claims)."""
        return self._future.result()

    def __enter__(self) -> Early:
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        try:
            # wait; a refusal or a fault of its own is the owner's (``outcome``), or superseded by the owner's
            # refusal — a superseded fault (the database, not the request) still reaches the log
            fault = self._future.exception()
            if fault is not None and fault is not exc and not isinstance(fault, GatewayError):
                log.warning("event=door_thread_fault_superseded error=%s detail=%s", type(fault).__name__,
                            str(fault)[:200])
        finally:
            if self._entered:
                self.uow.__exit__(exc_type, exc, tb)


class Pool:
    """The door's threads for ``Early``, one pool per process (made on first use: a pool's threads do not
    survive gunicorn's fork), as many threads as the database pool has connections — each holds one."""

    def __init__(self, size: int) -> None:
        self.size = max(1, size)
        self._lock = threading.Lock()
        self._pool: ThreadPoolExecutor | None = None
        self._pid = 0

    def get(self) -> ThreadPoolExecutor:
        with self._lock:
            if self._pool is None or self._pid != os.getpid():
                self._pool = ThreadPoolExecutor(max_workers=self.size, thread_name_prefix="door")
                self._pid = os.getpid()
            return self._pool
