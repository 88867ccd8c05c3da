"""The WSGI application: official service paths, WSDL/XSD serving, the accept pipeline and getState."""

from __future__ import annotations

import hashlib
import json
import logging
import re
from collections.abc import Callable, Iterable
from datetime import UTC, datetime
from functools import lru_cache
from pathlib import Path
from typing import Any

from lxml import etree
from prometheus_client import CONTENT_TYPE_LATEST
from sqlalchemy import Engine, text

from gateway import metrics, ns
from gateway.config import Config
from gateway.domain.values import Guid, InvalidValue
from gateway.errors import (
    BodyTooLarge,
    Code,
    FramingRefused,
    GatewayError,
    MessageNotFound,
    RequestRefused,
)
from gateway.messages import exposition, queue
from gateway.messages.queue import MessageState
from gateway.ns import q
from gateway.registry import audit
from gateway.registry.unit_of_work import UnitOfWork
from gateway.signing import Claimed, Signer, Verified, claims, verify
from gateway.soap import admission, binding, envelope, results_xml
from gateway.soap.operations import ENDPOINTS, GET_STATE_REQUEST, OPERATIONS, Endpoint, Operation, by_body
from gateway.soap.router import Handler, Router, StartResponse
from gateway.xmlparse import parse_untrusted
from gateway.xsd import SCHEMA_ROOT, check_version, validate

log = logging.getLogger("gateway.soap")

_SCHEMA_FILE = re.compile(r"[A-Za-z0-9_.-]+\.xsd")
SOAP_CONTENT_TYPE = "text/xml; charset=utf-8"
#: the organisation a refused request claims: its header's orgPPAGUID (or SenderID), looked for near the start
_CLAIMED_ORG = re.compile(rb"(?:orgPPAGUID|SenderID)>\s*([0-9A-Fa-f]{8}-(?:[0-9A-Fa-f]{4}-){3}[0-9A-Fa-f]{12})\s*<")
_CLAIM_WINDOW = 16 * 1024
#: the door trims its record of refusals to the retention settings every this many rows
REFUSALS_TRIM = 500


@lru_cache(maxsize=16)
def _wsdl(endpoint: Endpoint, base_url: str) -> bytes:
    """The official WSDL with ``soap:address`` pointing at this gateway (schema imports stay relative)."""
    tree = etree.parse(str(endpoint.schema.wsdl), etree.XMLParser(resolve_entities=False, no_network=True))
    for address in tree.iter(q(ns.WSDL_SOAP, "address")):
        address.set("location", base_url.rstrip("/") + endpoint.path)
    return bytes(etree.tostring(tree, xml_declaration=True, encoding="UTF-8"))


def _known_operation(action: str) -> str:
    """A metrics label from the sender's SOAPAction, bounded to the operations we know (labels are memory)."""
    name = action.removeprefix("urn:")
    return name if name in OPERATIONS or name == "getState" else "other"


def _utcnow() -> datetime:
    return datetime.now(UTC)


def _claims(body: etree._Element) -> Claimed | None:
    """What ``body``'s signature claims, read before the schema is checked, or None when it cannot be read:
    ``verify`` then refuses it in its turn, after the schema (the order of the door's refusals is kept)."""
    try:
        return claims(body)
    except Exception:  # noqa: BLE001 - any reason is verify's to give, after the schema's
        return None


class GatewayApp:
    """A WSGI callable for gunicorn or the embedded server; made by ``bootstrap.Gateway.app``."""

    def __init__(self, engine: Engine, config: Config, *, unit_of_work: Callable[[], UnitOfWork],
                 signer: Signer | None = None, clock: Callable[[], datetime] = _utcnow) -> None:
        self.engine = engine
        self.config = config
        self.signer = signer
        #: the door writes no versioned data: its units of work name no provenance
        self.unit_of_work = unit_of_work
        self.clock = clock
        self.router = self._routes()
        #: the threads that start the door's database steps while a request's signature is verified
        self._door = admission.Pool(config.database.pool_size)

    # -- HTTP ---------------------------------------------------------------------------------------
    def _routes(self) -> Router:
        """Each service path: POST the SOAP door, GET ?wsdl its WSDL, anything else 405; the vendored XSDs
        under each service's folder; /health and /metrics. ``router.mount`` adds more (the web console)."""
        router = Router(self._not_found)
        for endpoint in ENDPOINTS.values():
            router.add(endpoint.path, {"POST": self._soap_handler(endpoint), "GET": self._wsdl_handler(endpoint)},
                       otherwise=self._not_allowed)
            router.prefix(endpoint.prefix, {"GET": self._schema})
        router.add("/health", {"GET": lambda _environ, start_response: self._health(start_response)})
        router.add("/metrics", {"GET": lambda _environ, start_response: self._respond(
            start_response, 200, exposition.page(self.engine), CONTENT_TYPE_LATEST)})
        return router

    def __call__(self, environ: dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
        return self.router(environ, start_response)

    def _soap_handler(self, endpoint: Endpoint) -> Handler:
        def handle(environ: dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
            status, body = self.soap(endpoint, environ)
            return self._respond(start_response, status, body, SOAP_CONTENT_TYPE)

        return handle

    def _wsdl_handler(self, endpoint: Endpoint) -> Handler:
        def handle(environ: dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
            if environ.get("QUERY_STRING", "").lower() != "wsdl":
                return self._not_allowed(environ, start_response)
            return self._respond(start_response, 200, _wsdl(endpoint, self._base_url(environ)), SOAP_CONTENT_TYPE)

        return handle

    def _not_allowed(self, environ: dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
        error = RequestRefused(f"{environ.get('REQUEST_METHOD', 'GET')} is not allowed here; POST a SOAP 1.1 "
                               "envelope or GET ?wsdl", code=Code.METHOD_NOT_ALLOWED)
        return self._respond(start_response, 405, envelope.fault(error, self.clock()), SOAP_CONTENT_TYPE,
                             [("Allow", "GET, POST")])

    def _schema(self, environ: dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
        schema = self._schema_file(environ.get("PATH_INFO", "") or "/")
        if schema is None:
            return self._not_found(environ, start_response)
        return self._respond(start_response, 200, schema.read_bytes(), "text/xml; charset=utf-8")

    def _not_found(self, _environ: dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
        return self._respond(start_response, 404, b"not found\n", "text/plain; charset=utf-8")

    @staticmethod
    def _respond(start_response: StartResponse, status: int, body: bytes, content_type: str,
                 extra: list[tuple[str, str]] | None = None) -> list[bytes]:
        reasons = {200: "OK", 400: "Bad Request", 404: "Not Found", 405: "Method Not Allowed",
                   408: "Request Timeout", 413: "Payload Too Large", 415: "Unsupported Media Type",
                   500: "Internal Server Error", 503: "Service Unavailable"}
        headers = [("Content-Type", content_type), ("Content-Length", str(len(body))), *(extra or [])]
        start_response(f"{status} {reasons.get(status, 'Error')}", headers)
        return [body]

    def _base_url(self, environ: dict[str, Any]) -> str:
        if self.config.server.public_url:
            return self.config.server.public_url
        host = environ.get("HTTP_HOST") or f"{environ.get('SERVER_NAME')}:{environ.get('SERVER_PORT')}"
        return f"{environ.get('wsgi.url_scheme', 'http')}://{host}"

    @staticmethod
    def _schema_file(path: str) -> Path | None:
        """Vendored XSDs at the URLs the WSDL's relative imports resolve to (``services/``, ``lib/``)."""
        for endpoint in ENDPOINTS.values():
            if not path.startswith(endpoint.prefix):
                continue
            folder, _, name = path[len(endpoint.prefix):].partition("/")
            if not _SCHEMA_FILE.fullmatch(name):
                return None
            directory = {"services": endpoint.schema.folder, "lib": SCHEMA_ROOT / "lib"}.get(folder)
            candidate = directory / name if directory else None
            return candidate if candidate is not None and candidate.is_file() else None
        return None

    def _health(self, start_response: StartResponse) -> list[bytes]:
        try:
            with self.engine.connect() as connection:
                connection.execute(text("SELECT 1"))
                depth = queue.depth(connection)
                oldest = queue.oldest_waiting(connection)
            body = {"status": "ok", "database": "ok", "messages": depth,
                    "queue_lag_seconds": round(exposition.queue_lag(oldest), 3)}
            status = 200
        except Exception as exc:  # noqa: BLE001 - health reports the failure instead of raising it
            body, status = {"status": "unavailable", "database": type(exc).__name__}, 503
        return self._respond(start_response, status, json.dumps(body).encode(), "application/json")

    def _read_body(self, environ: dict[str, Any]) -> bytes:
        """The whole body, as long as its Content-Length says (RFC 9112 §6.3): a length that is not a
        decimal number, or a body that ends before it, is refused — never processed as far as it came.
        ``gateway.soap.front`` has checked all this before the app is called; any other WSGI server may not have.
        """
        limit = self.config.limits.max_body_bytes
        raw = (environ.get("CONTENT_LENGTH") or "").strip()
        if raw and not raw.isdigit():
            raise FramingRefused(f"Content-Length {raw[:40]!r} is not a decimal number of bytes (RFC 9112 §6.3)")
        declared = int(raw) if raw else -1
        if declared > limit:
            raise BodyTooLarge(f"request body of {declared} bytes exceeds the limit of {limit} bytes")
        stream = environ["wsgi.input"]
        body = bytes(stream.read(declared) if declared >= 0 else stream.read(limit + 1))
        if len(body) > limit:
            raise BodyTooLarge(f"request body exceeds the limit of {limit} bytes")
        if 0 <= declared != len(body):
            raise FramingRefused(f"the body ended after {len(body)} of the {declared} bytes its Content-Length "
                                 "declares", code=Code.BODY_LENGTH_MISMATCH)
        return body

    # -- SOAP ---------------------------------------------------------------------------------------
    def soap(self, endpoint: Endpoint, environ: dict[str, Any]) -> tuple[int, bytes]:
        now = self.clock()
        action = (environ.get("HTTP_SOAPACTION") or "").strip().strip('"')
        body: bytes | None = None
        try:
            charset = binding.check_media_type(environ.get("CONTENT_TYPE"))
            binding.check_soap_action(environ.get("HTTP_SOAPACTION"))
            body = self._read_body(environ)
            binding.check_encoding(body, charset)
            return 200, self._handle(endpoint, body, action, now)
        except GatewayError as error:
            log.warning("event=refused endpoint=%s action=%s code=%s peer=%s reason=%s",
                        endpoint.name, action or "-", error.code, environ.get("REMOTE_ADDR", "-"),
                        error.message[:300])
            metrics.REFUSALS.labels(str(error.code)).inc()
            metrics.REQUESTS.labels(_known_operation(action), "refused").inc()
            self._record_refusal(error, environ, action, body, now)
            return error.http_status, envelope.fault(error, now)
        except Exception:  # noqa: BLE001 - never leak internals; the log has the traceback
            log.exception("event=internal_error endpoint=%s action=%s", endpoint.name, action or "-")
            internal = GatewayError("internal error; the request was not accepted, send it again later")
            internal.fault_actor = "Server"
            return 500, envelope.fault(internal, now)

    def _record_refusal(self, error: GatewayError, environ: dict[str, Any], action: str, body: bytes | None,
                        now: datetime) -> None:
        """The bounded record of door refusals (``gateway audit refusals``): never the body, only its digest.
        The organisation is the one the header claims (unverified); every REFUSALS_TRIM-th row trims the record
        to the retention settings. A database that cannot take the row costs the row, never the fault."""
        claimed = _CLAIMED_ORG.search(body[:_CLAIM_WINDOW]) if body else None
        settings = self.config.audit
        try:
            with self.engine.begin() as connection:
                row = audit.record_refusal(
                    connection, at=now, code=str(error.code), peer=environ.get("REMOTE_ADDR"),
                    claimed_org=claimed.group(1).decode("ascii").lower() if claimed else None,
                    operation=action.removeprefix("urn:") or None,
                    body_sha256=hashlib.sha256(body).hexdigest() if body is not None else None,
                    body_bytes=len(body) if body is not None else None)
                if row % REFUSALS_TRIM == 0:
                    audit.prune(connection, now=now, keep_days=0, refusals_keep_days=settings.refusals_keep_days,
                                refusals_max_rows=settings.refusals_max_rows)
        except Exception as exc:  # noqa: BLE001 - the fault is answered whatever the record's fate
            log.warning("event=refusal_not_recorded code=%s reason=%s", error.code, type(exc).__name__)

    def _handle(self, endpoint: Endpoint, body: bytes, action: str, now: datetime) -> bytes:
        request = envelope.split(parse_untrusted(body))
        header = request.header.find(q(ns.BASE, "RequestHeader")) if request.header is not None else None
        if header is not None:
            try:
                validate(header, endpoint.schema)
            except RequestRefused as exc:
                raise RequestRefused(exc.message, code=Code.HEADER_INVALID) from None
        sender = envelope.read_request_header(request.header)
        if request.body.tag == GET_STATE_REQUEST:
            self._check_action(action, "getState")
            return self._get_state(endpoint, request.body, sender, now)
        operation = by_body(endpoint, request.body.tag)
        if operation is None:
            raise RequestRefused(f"{etree.QName(request.body).text} is not an operation of {endpoint.name} "
                                 "supported by this gateway", code=Code.UNKNOWN_OPERATION)
        self._check_action(action, operation.name)
        request_ = admission.Request(endpoint.name, operation.name, operation.roles, sender, body, now)
        if not self.config.security.require_signature:
            validate(request.body, endpoint.schema)
            check_version(request.body, operation.versions)
            with self.unit_of_work() as uow:
                return self._accepted(uow, request_, admission.admit(uow, request_, None), None, None, request.body)
        # what the signature claims, for the database steps that start on it (None: ``verify`` refuses it below)
        claimed = _claims(request.body)
        if claimed is not None and self.engine.dialect.name == "postgresql":
            with admission.Early(self._door.get(), self.unit_of_work(), request_, claimed.fingerprint,
                                 claimed.signed_sha256) as early:
                verified = self._verify(endpoint, operation, request.body, claimed)
                admitted, stored = early.outcome()
                return self._accepted(early.uow, request_, admitted, stored, verified, request.body)
        verified = self._verify(endpoint, operation, request.body, claimed)
        with self.unit_of_work() as uow:
            admitted = admission.admit(uow, request_, verified.fingerprint)
            return self._accepted(uow, request_, admitted, None, verified, request.body)

    @staticmethod
    def _verify(endpoint: Endpoint, operation: Operation, body: etree._Element, claimed: Claimed | None) -> Verified:
        """The schema, the version, the signature: in this order, whatever the database steps found meanwhile."""
        validate(body, endpoint.schema)
        check_version(body, operation.versions)
        return verify(body, claimed)

    def _accepted(self, uow: UnitOfWork, request: admission.Request, admitted: admission.Admitted,
                  stored: admission.Stored | None, verified: Verified | None, body: etree._Element) -> bytes:
        """The message's row (unless the early thread stored it: ``stored``), its replay key and archive entry
        or, for a MessageGUID used before, the resend's original; committed; the Ack."""
        payload = verified.signed_element if verified else etree.tostring(body, method="c14n", exclusive=True)
        if stored is None:
            digest = verified.signed_sha256 if verified else None
            stored = admission.store(uow, request, admitted, digest or hashlib.sha256(payload).hexdigest())
        org, signer, sender = admitted.org, admitted.signer, request.sender
        if stored.guid is None:  # this MessageGUID was used before by this organisation: a resend, or a reuse
            guid = queue.resent(uow.connection, org=org.guid, requester_message_guid=sender.message_guid,
                                operation=request.operation, payload=payload, payload_sha256=stored.digest)
            new = False
        else:
            replay = queue.ReplayKey(verified.replay_key, verified.certificate.not_valid_after_utc) \
                if verified is not None else None
            queue.seal(uow.connection, stored.guid, org=org.guid, request=request.body, now=request.now,
                       replay=replay, signed_by=signer.org if signer else None,
                       power=signer.power if signer else None)
            guid, new = stored.guid, True
        uow.commit()
        log.info("event=%s message_guid=%s requester_message_guid=%s org=%s operation=%s bytes=%d%s",
                 "accepted" if new else "resend", guid, sender.message_guid, org.guid, request.operation,
                 len(request.body), f" signed_by={signer.org} power={signer.power}" if signer else "")
        metrics.REQUESTS.labels(request.operation, "accepted" if new else "resend").inc()
        return envelope.ack(guid, sender.message_guid, request.now)

    @staticmethod
    def _check_action(action: str, operation: str) -> None:
        if action and action != f"urn:{operation}":
            raise RequestRefused(f"SOAPAction {action!r} does not match the body, which asks for urn:{operation}",
                                 code=Code.UNKNOWN_OPERATION)

    def _get_state(self, endpoint: Endpoint, body: etree._Element, sender: envelope.Sender,
                   now: datetime) -> bytes:
        validate(body, endpoint.schema)
        try:
            guid = Guid(body.findtext(q(ns.BASE, "MessageGUID")) or "")
        except InvalidValue as exc:
            raise RequestRefused(str(exc), code=Code.SCHEMA_INVALID) from None
        metrics.REQUESTS.labels("getState", "answered").inc()
        with self.unit_of_work() as uow:
            message = queue.find(uow.connection, guid)
        # another organisation's message is reported exactly like a missing one: no existence oracle. A message
        # signed under a power is answered to the header naming its grantor (the official shape: the operator's
        # software names the organisation it signs for) or its signer (README "Delegated powers", getState)
        if message is None or sender.org_guid not in message.parties or message.service != endpoint.name:
            raise MessageNotFound(f"no message {guid} from organisation {sender.org_guid} on {endpoint.name}")
        if message.state is MessageState.DONE and message.result is not None:
            result = parse_untrusted(message.result)
        else:
            result = results_xml.state_result(endpoint.types_ns, endpoint.state_result_version, message.guid,
                                              message.state.request_state)
            if message.state is MessageState.DEAD:
                results_xml.append_error_message(
                    result, Code.INTERNAL,
                    f"processing failed after {message.attempts} attempts; nothing was written. "
                    f"Support can re-queue message {message.guid} once the cause is fixed")
            if self.signer is not None:
                self.signer.sign(result)
        return envelope.result(result, sender.message_guid, now)
