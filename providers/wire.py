"""SOAP 1.1 on the wire: the envelope around a signed request, and what the gateway answers.

Requests leave as bytes built once: the journal keeps those bytes, so a resend after a crash is the same
message byte for byte under the same MessageGUID, which the gateway answers with its original Ack
(README "Errors": a resend is not an error). Answers are parsed with the hardened parser
(``gateway.xmlparse.parse_untrusted``): a fault becomes ``GatewayFault`` with its official
``base:Fault/ErrorCode``; a ``getStateResult`` becomes a ``State`` with one ``ObjectOutcome`` per
TransportGUID (house-management: ``ImportResult/CommonResult``; device-metering: ``ImportResult`` itself).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime

from cryptography import x509
from lxml import etree

from gateway.errors import GatewayError
from gateway.ns import BASE
from gateway.ns import SOAP11 as SOAP
from gateway.signing import keys, verify
from gateway.xmlparse import parse_untrusted
from providers.errors import ProviderError


class GatewayFault(ProviderError):
    """The gateway refused a request at the door (SOAP fault): nothing was stored."""

    def __init__(self, code: str, message: str, http_status: int) -> None:
        super().__init__(f"{code}: {message}")
        self.code, self.message, self.http_status = code, message, http_status


class AnswerNotTrusted(ProviderError):
    """A getState answer whose signature does not verify, or was not made with the pinned gateway certificate."""


class BadAnswer(ProviderError):
    """The server answered something that is not a SOAP answer of this API (a proxy's error page, …)."""


def envelope(body: etree._Element, *, message_guid: str, org_guid: str, date: datetime | None = None,
             operator_signature: bool = False) -> bytes:
    """``soapenv:Envelope`` with ``base:RequestHeader`` (Date, MessageGUID, orgPPAGUID, and
    ``IsOperatorSignature=true`` when the signer is the operator of ``org_guid``'s information system, under a
    power ``org_guid`` granted it) around ``body``.

    The body's own serialisation is spliced in as it is: appending a signed element to a tree that declares
    one of its namespaces under another prefix makes lxml rewrite its prefixes, which changes the canonical
    form the signature covers.
    """
    env = etree.Element(f"{{{SOAP}}}Envelope", nsmap={"soapenv": SOAP})
    header = etree.SubElement(etree.SubElement(env, f"{{{SOAP}}}Header"), f"{{{BASE}}}RequestHeader",
                              nsmap={"base": BASE})
    etree.SubElement(header, f"{{{BASE}}}Date").text = (date or datetime.now(UTC)).isoformat(timespec="seconds")
    etree.SubElement(header, f"{{{BASE}}}MessageGUID").text = message_guid
    etree.SubElement(header, f"{{{BASE}}}orgPPAGUID").text = org_guid
    if operator_signature:
        etree.SubElement(header, f"{{{BASE}}}IsOperatorSignature").text = "true"
    etree.SubElement(env, f"{{{SOAP}}}Body").text = _MARK
    head, tail = etree.tostring(env, encoding="unicode").split(_MARK)
    return b"".join((b"<?xml version='1.0' encoding='UTF-8'?>\n", head.encode(),
                     etree.tostring(body, encoding="UTF-8"), tail.encode()))


_MARK = "@@signed-request@@"


def get_state_request(message_guid: str) -> etree._Element:
    """``base:getStateRequest``: unsigned (the official schema gives it no signature slot)."""
    request = etree.Element(f"{{{BASE}}}getStateRequest", nsmap={"base": BASE})
    etree.SubElement(request, f"{{{BASE}}}MessageGUID").text = message_guid
    return request


def answer_body(data: bytes, http_status: int) -> etree._Element:
    """The one element in the answer's ``soap:Body``; a SOAP fault raises ``GatewayFault``."""
    try:
        root = parse_untrusted(data)
    except GatewayError as exc:
        raise BadAnswer(f"HTTP {http_status}, not XML: {data[:200]!r} ({exc})") from None
    body = root.find(f"{{{SOAP}}}Body")
    if body is None or not len(body):
        raise BadAnswer(f"HTTP {http_status}: no SOAP Body in the answer")
    answer = body[0]
    if answer.tag == f"{{{SOAP}}}Fault":
        code = answer.findtext(f".//{{{BASE}}}ErrorCode") or answer.findtext("faultcode") or "?"
        message = answer.findtext(f".//{{{BASE}}}ErrorMessage") or answer.findtext("faultstring") or ""
        raise GatewayFault(code.strip(), message.strip(), http_status)
    return answer


def ack_guid(answer: etree._Element) -> str:
    guid = answer.findtext(f"{{{BASE}}}Ack/{{{BASE}}}MessageGUID")
    if not guid:
        raise BadAnswer(f"expected AckRequest/Ack/MessageGUID, got {etree.QName(answer).localname}")
    return str(guid).strip()


class AnswerVerifier:
    """Checks that a getStateResult carries a valid signature by the gateway certificate the provider pinned."""

    def __init__(self, gateway_cert: x509.Certificate) -> None:
        self.fingerprint = keys.describe(gateway_cert).fingerprint

    def check(self, answer: etree._Element) -> None:
        try:
            verified = verify(answer)
        except GatewayError as exc:
            raise AnswerNotTrusted(f"getState answer signature: {exc}") from None
        if verified.fingerprint != self.fingerprint:
            raise AnswerNotTrusted(f"getState answer signed by certificate {verified.fingerprint[:16]}…, "
                                   f"not the pinned gateway certificate {self.fingerprint[:16]}…")


@dataclass(frozen=True)
class ObjectOutcome:
    """One object's result: accepted (GUID, UniqueNumber and the operation's own numbers) or refused."""

    transport_guid: str
    guid: str | None
    unique_number: str | None
    error_code: str | None
    description: str | None
    #: leaf values of the operation's own result element (UnifiedAccountNumber, ServiceID, MeteringDeviceGUID, …)
    extra: dict[str, str] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return self.error_code is None


@dataclass(frozen=True)
class State:
    """A getStateResult: RequestState 1 received, 2 processing, 3 processed."""

    message_guid: str
    request_state: int
    objects: list[ObjectOutcome]
    error_code: str | None = None  # ErrorMessage for the whole message
    description: str | None = None
    element: etree._Element | None = field(default=None, repr=False, compare=False)

    @property
    def done(self) -> bool:
        return self.request_state == 3


def _local(element: etree._Element) -> str:
    return str(etree.QName(element).localname)


def _common(common: etree._Element) -> ObjectOutcome:
    error = common.find(f"{{{BASE}}}Error")
    extra: dict[str, str] = {}
    for child in common:
        if isinstance(child.tag, str) and child.tag.split("}")[0] != f"{{{BASE}":
            for leaf in child.iter():
                if isinstance(leaf.tag, str) and len(leaf) == 0 and leaf.text:
                    extra.setdefault(_local(leaf), leaf.text.strip())
    return ObjectOutcome(
        transport_guid=(common.findtext(f"{{{BASE}}}TransportGUID") or "").strip(),
        guid=common.findtext(f"{{{BASE}}}GUID"), unique_number=common.findtext(f"{{{BASE}}}UniqueNumber"),
        error_code=error.findtext(f"{{{BASE}}}ErrorCode") if error is not None else None,
        description=error.findtext(f"{{{BASE}}}Description") if error is not None else None, extra=extra)


def state_of(answer: etree._Element, message_guid: str) -> State:
    """Flatten a getStateResult into per-object outcomes."""
    request_state = int((answer.findtext(f"{{{BASE}}}RequestState") or "0").strip())
    error = answer.find(f"{{{BASE}}}ErrorMessage")
    if error is not None:
        return State(message_guid, request_state, [], error.findtext(f"{{{BASE}}}ErrorCode"),
                     error.findtext(f"{{{BASE}}}Description"), answer)
    objects: list[ObjectOutcome] = []
    for result in answer:
        if not isinstance(result.tag, str) or _local(result) != "ImportResult":
            continue
        commons = [c for c in result if isinstance(c.tag, str) and _local(c) == "CommonResult"]
        objects.extend(_common(c) for c in (commons or [result]))
    return State(message_guid, request_state, objects, element=answer)
