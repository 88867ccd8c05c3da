"""SOAP 1.1 envelopes: reading a request, writing acks, results and faults (``base:Fault`` detail)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from itertools import chain

from lxml import etree

from gateway import ns
from gateway.domain.values import Guid, InvalidValue
from gateway.errors import Code, GatewayError, RequestRefused
from gateway.ns import q


@dataclass(frozen=True)
class Request:
    header: etree._Element | None
    body: etree._Element  # the one element inside soap:Body


def split(envelope: etree._Element) -> Request:
    """The RequestHeader (if any) and the single body element of a SOAP 1.1 envelope.

    Refused: another root or namespace; processing instructions anywhere (SOAP 1.1 §3, WS-I BP 1.1 R1009);
    anything but an optional Header followed by one Body as the Envelope's children, so no second Body or
    Header can be what some other reader sees (SOAP 1.1 §4, R1011); a second ``base:RequestHeader``, which
    would leave open whose header counts.
    """
    if envelope.tag != q(ns.SOAP11, "Envelope"):
        if etree.QName(envelope).localname == "Envelope":
            raise RequestRefused(
                f"envelope namespace {etree.QName(envelope).namespace!r} is not SOAP 1.1 ({ns.SOAP11})",
                code=Code.NOT_SOAP_ENVELOPE)
        raise RequestRefused(f"root element {etree.QName(envelope).text} is not a SOAP 1.1 Envelope",
                             code=Code.NOT_SOAP_ENVELOPE)
    instruction = next(chain(envelope.itersiblings(etree.ProcessingInstruction, preceding=True),
                             envelope.itersiblings(etree.ProcessingInstruction),
                             envelope.iter(etree.ProcessingInstruction)), None)
    if instruction is not None:
        raise RequestRefused(f"processing instruction <?{instruction.target} …?> is not allowed in a SOAP message "
                             "(SOAP 1.1 §3)", code=Code.XML_FORBIDDEN_CONSTRUCT)
    parts = [child for child in envelope if isinstance(child.tag, str)]
    names = [child.tag for child in parts]
    header_tag, body_tag = q(ns.SOAP11, "Header"), q(ns.SOAP11, "Body")
    if names not in ([body_tag], [header_tag, body_tag]):
        shown = ", ".join(etree.QName(child).localname for child in parts) or "nothing"
        raise RequestRefused(f"soap:Envelope must hold an optional Header and then one Body, not {shown} "
                             "(SOAP 1.1 §4, WS-I BP 1.1 R1011)", code=Code.NOT_SOAP_ENVELOPE)
    body = parts[-1]
    children = [child for child in body if isinstance(child.tag, str)]
    if len(children) != 1:
        raise RequestRefused(f"soap:Body must hold exactly one request element, not {len(children)}",
                             code=Code.NOT_SOAP_ENVELOPE)
    header = parts[0] if len(parts) == 2 else None
    if header is not None and len(header.findall(q(ns.BASE, "RequestHeader"))) > 1:
        raise RequestRefused("soap:Header carries more than one base:RequestHeader", code=Code.HEADER_INVALID)
    return Request(header=header, body=children[0])


@dataclass(frozen=True)
class Sender:
    org_guid: Guid
    message_guid: Guid
    date: str
    #: ``IsOperatorSignature=true``: signed by the operator of the sender's information system, which must
    #: hold a delegated power of the sender (README "Delegated powers")
    operator_signature: bool = False


def read_request_header(header: etree._Element | None) -> Sender:
    """Who sends (orgPPAGUID or SenderID), the sender's MessageGUID and whether the signature is an operator's
    (``IsOperatorSignature``), from ``base:RequestHeader``.

    The header has already been validated against hcs-base.xsd (xs:boolean: true, false, 1 or 0).
    """
    request_header = header.find(q(ns.BASE, "RequestHeader")) if header is not None else None
    if request_header is None:
        raise RequestRefused("soap:Header must carry base:RequestHeader", code=Code.HEADER_INVALID)
    if request_header.find(q(ns.BASE, "Citizen")) is not None:
        raise RequestRefused("requests on behalf of a citizen (Citizen) are not accepted by this gateway",
                             code=Code.HEADER_INVALID)
    operator = (request_header.findtext(q(ns.BASE, "IsOperatorSignature")) or "").strip() in {"true", "1"}
    org = request_header.findtext(q(ns.BASE, "orgPPAGUID")) or request_header.findtext(q(ns.BASE, "SenderID"))
    try:
        return Sender(
            org_guid=Guid(org or ""),
            message_guid=Guid(request_header.findtext(q(ns.BASE, "MessageGUID")) or ""),
            date=request_header.findtext(q(ns.BASE, "Date")) or "",
            operator_signature=operator,
        )
    except InvalidValue as exc:
        raise RequestRefused(f"RequestHeader: {exc}", code=Code.HEADER_INVALID) from None


def _envelope(message_guid: Guid | None, now: datetime) -> tuple[etree._Element, etree._Element]:
    envelope = etree.Element(q(ns.SOAP11, "Envelope"), nsmap={"soap": ns.SOAP11, "base": ns.BASE})
    if message_guid is not None:
        header = etree.SubElement(envelope, q(ns.SOAP11, "Header"))
        result_header = etree.SubElement(header, q(ns.BASE, "ResultHeader"))
        etree.SubElement(result_header, q(ns.BASE, "Date")).text = now.isoformat()
        etree.SubElement(result_header, q(ns.BASE, "MessageGUID")).text = str(message_guid)
    body = etree.SubElement(envelope, q(ns.SOAP11, "Body"))
    return envelope, body


def _serialise(envelope: etree._Element) -> bytes:
    return bytes(etree.tostring(envelope, xml_declaration=True, encoding="UTF-8"))


def ack(gateway_guid: Guid, requester_guid: Guid, now: datetime) -> bytes:
    """``base:AckRequest``: the gateway's MessageGUID for getState, echoing the sender's."""
    envelope, body = _envelope(requester_guid, now)
    ack_el = etree.SubElement(etree.SubElement(body, q(ns.BASE, "AckRequest")), q(ns.BASE, "Ack"))
    etree.SubElement(ack_el, q(ns.BASE, "MessageGUID")).text = str(gateway_guid)
    etree.SubElement(ack_el, q(ns.BASE, "RequesterMessageGUID")).text = str(requester_guid)
    return _serialise(envelope)


def result(result_element: etree._Element, requester_guid: Guid, now: datetime) -> bytes:
    envelope, body = _envelope(requester_guid, now)
    body.append(result_element)
    return _serialise(envelope)


def fault(error: GatewayError, now: datetime) -> bytes:
    """A SOAP 1.1 Fault whose detail is the official ``base:Fault`` {ErrorCode, ErrorMessage}."""
    envelope, body = _envelope(None, now)
    fault_el = etree.SubElement(body, q(ns.SOAP11, "Fault"))
    etree.SubElement(fault_el, "faultcode").text = f"soap:{error.fault_actor}"
    etree.SubElement(fault_el, "faultstring").text = f"{error.code}: {error.message}"
    detail = etree.SubElement(etree.SubElement(fault_el, "detail"), q(ns.BASE, "Fault"))
    etree.SubElement(detail, q(ns.BASE, "ErrorCode")).text = str(error.code)
    etree.SubElement(detail, q(ns.BASE, "ErrorMessage")).text = error.message
    return _serialise(envelope)
