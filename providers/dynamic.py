"""GisClient: the dynamic zeep client — operation names and keyword dicts, built from the WSDL the server serves.

The low layer under the typed SDK (``providers.client.ProviderClient``), kept for integrations that want
zeep's dynamic calls and for the tests that drive the gateway below the typed helpers. It is built from
``<base>/<service path>?wsdl``, signs every request element that has an ``Id`` (XAdES-BES, enveloped,
exclusive c14n) with the provider's key, and its ``wait`` polls ``getState`` quickly (from 50 ms, doubling
to 2 s): it is a test and demo tool. Providers' pushes use ``ProviderClient``, which polls by the official
guidance and resends journaled bytes.
"""

from __future__ import annotations

import copy
import time
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import requests
import zeep
from cryptography import x509
from lxml import etree
from zeep.helpers import serialize_object
from zeep.plugins import Plugin
from zeep.transports import Transport

from gateway import ns
from gateway.signing import sign
from gateway.signing.xades import SigningKey
from gateway.xmlparse import parse_untrusted
from providers import wire
from providers.wire import AnswerNotTrusted, ObjectOutcome

__all__ = ["AnswerNotTrusted", "AnswerVerifier", "GisClient", "ImportOutcome", "ObjectOutcome", "outcome"]

SERVICE_PATHS = {
    "house-management": "/ext-bus-home-management-service/services/HomeManagementAsync",
    "device-metering": "/ext-bus-device-metering-service/services/DeviceMeteringAsync",
    "rap": "/ext-bus-rap-service/services/RapAsync",
    "compliance": "/ext-bus-compliance-service/services/ComplianceAsync",  # dom-gateway's own
}
BASE_NS = ns.BASE
SOAP_ENV = ns.SOAP11


class SigningPlugin(Plugin):
    """Signs the request element in soap:Body before it leaves (getState has no Id and is not signed)."""

    def __init__(self, key: SigningKey, cert: x509.Certificate) -> None:
        self.key = key
        self.cert = cert

    def egress(self, envelope: etree._Element, http_headers: dict[str, str], operation: Any,
               binding_options: Any) -> tuple[etree._Element, dict[str, str]]:
        body = envelope.find(f"{{{SOAP_ENV}}}Body")
        request = body[0] if body is not None and len(body) else None
        if request is not None and request.get("Id"):
            sign(request, key=self.key, cert=self.cert)
        return envelope, http_headers


class AnswerVerifier(Plugin):
    """Checks that every getStateResult is signed by the gateway certificate the provider pinned."""

    def __init__(self, gateway_cert: x509.Certificate) -> None:
        self.verifier = wire.AnswerVerifier(gateway_cert)

    def ingress(self, envelope: etree._Element, http_headers: dict[str, str], operation: Any
                ) -> tuple[etree._Element, dict[str, str]]:
        body = envelope.find(f"{{{SOAP_ENV}}}Body")
        answer = body[0] if body is not None and len(body) else None
        if answer is not None and etree.QName(answer).localname == "getStateResult":
            self.verifier.check(answer)
        return envelope, http_headers


@dataclass(frozen=True)
class ImportOutcome:
    message_guid: str
    request_state: int
    objects: list[ObjectOutcome]
    error_code: str | None = None
    description: str | None = None


class GisClient:
    def __init__(self, base_url: str, *, org_guid: str, key: SigningKey, cert: x509.Certificate,
                 gateway_cert: x509.Certificate | None = None, service: str = "house-management",
                 timeout: float = 30.0, session: requests.Session | None = None,
                 operator_signature: bool = False) -> None:
        """``gateway_cert``: the gateway's answer-signing certificate; when given, every getState answer
        must carry a valid signature by it (``AnswerNotTrusted`` otherwise). ``operator_signature``: the key is
        the operator's of ``org_guid``'s information system, signing under its power (``IsOperatorSignature``)."""
        self.org_guid = org_guid
        self.operator_signature = operator_signature
        self.address = base_url.rstrip("/") + SERVICE_PATHS[service]
        transport = Transport(session=session or requests.Session(), timeout=timeout, operation_timeout=timeout)  # type: ignore[no-untyped-call]
        # schema imports load from the same server (forbid_external would block them); DTDs and entities stay off
        settings = zeep.Settings(strict=False, forbid_dtd=True, forbid_entities=True, forbid_external=False)
        plugins: list[Plugin] = [SigningPlugin(key, cert)]
        if gateway_cert is not None:
            plugins.append(AnswerVerifier(gateway_cert))
        self.client = zeep.Client(f"{self.address}?wsdl", transport=transport, settings=settings, plugins=plugins)  # type: ignore[no-untyped-call]
        self.service = self.client.service

    def header(self, message_guid: str | None = None) -> Any:
        header_type = self.client.get_element(f"{{{BASE_NS}}}RequestHeader")  # type: ignore[no-untyped-call]
        if self.operator_signature:
            return header_type(Date=datetime.now(UTC), MessageGUID=message_guid or str(uuid.uuid4()),
                               orgPPAGUID=self.org_guid, IsOperatorSignature=True)
        return header_type(Date=datetime.now(UTC), MessageGUID=message_guid or str(uuid.uuid4()),
                           orgPPAGUID=self.org_guid)

    def request_from_xml(self, element: etree._Element) -> dict[str, Any]:
        """Keyword arguments for a zeep call, from a request element in the official XML format."""
        element = copy.deepcopy(element)
        for node in list(element.iter(etree.Comment, etree.ProcessingInstruction)):
            node.getparent().remove(node)  # zeep's parser takes only elements
        element_type = self.client.get_element(etree.QName(element).text)  # type: ignore[no-untyped-call]
        value = element_type.parse(element, self.client.wsdl.types)
        return {k: _pruned(v) for k, v in serialize_object(value, dict).items() if v is not None and k != "Signature"}  # type: ignore[no-untyped-call]

    def send(self, operation: str, request: dict[str, Any], *, message_guid: str | None = None) -> str:
        """Send one import/export request; returns the gateway's MessageGUID from the Ack."""
        reply = getattr(self.service, operation)(_soapheaders=[self.header(message_guid)], **request)
        body = reply.body if hasattr(reply, "body") else reply
        return str(body.Ack.MessageGUID)

    def send_file(self, operation: str, path: Path, *, message_guid: str | None = None) -> str:
        return self.send(operation, self.request_from_xml(parse_untrusted(path.read_bytes())),
                         message_guid=message_guid)

    def get_state(self, message_guid: str) -> Any:
        reply = self.service.getState(_soapheaders=[self.header()], MessageGUID=message_guid)
        return reply.body if hasattr(reply, "body") else reply

    def wait(self, message_guid: str, *, timeout: float = 60.0, first_delay: float = 0.05) -> Any:
        """Poll getState until RequestState is 3 (processed), backing off up to 2 s between polls."""
        deadline = time.monotonic() + timeout
        delay = first_delay
        while True:
            state = self.get_state(message_guid)
            if int(state.RequestState) == 3:
                return state
            if time.monotonic() + delay > deadline:
                raise TimeoutError(f"message {message_guid} not processed within {timeout} s "
                                   f"(RequestState {state.RequestState})")
            time.sleep(delay)
            delay = min(delay * 2, 2.0)

    def import_and_wait(self, operation: str, path: Path, *, timeout: float = 60.0) -> ImportOutcome:
        guid = self.send_file(operation, path)
        return outcome(guid, self.wait(guid, timeout=timeout))

    def import_and_wait_request(self, operation: str, request: dict[str, Any], *,
                                timeout: float = 60.0) -> ImportOutcome:
        guid = self.send(operation, request)
        return outcome(guid, self.wait(guid, timeout=timeout))

    def import_and_wait_values(self, values: list[dict[str, Any]], *, timeout: float = 60.0) -> ImportOutcome:
        """importMeteringDeviceValues (device-metering): ≤ 1,000 devices' readings in one message."""
        return self.import_and_wait_request("importMeteringDeviceValues", {
            "MeteringDevicesValues": values, "Id": "signed-data-container", "version": "10.0.1.1"}, timeout=timeout)


def _pruned(value: Any) -> Any:
    """zeep's parse leaves every unchosen branch of a choice as None or []; sent back, those keys confuse its
    serializer (a nested choice's options read as unexpected arguments). Absent means absent."""
    if isinstance(value, dict):
        return {k: _pruned(v) for k, v in value.items() if v is not None and v != []}
    if isinstance(value, list):
        return [_pruned(v) for v in value]
    return value


def outcome(message_guid: str, state: Any) -> ImportOutcome:
    """Flatten a getStateResult into per-object outcomes: house-management's ImportResult/CommonResult, or
    device-metering's ImportResult elements, each a CommonResult itself."""
    if getattr(state, "ErrorMessage", None) is not None:
        return ImportOutcome(message_guid, int(state.RequestState), [], state.ErrorMessage.ErrorCode,
                             state.ErrorMessage.Description)
    objects: list[ObjectOutcome] = []
    for import_result in getattr(state, "ImportResult", None) or []:
        commons = import_result.CommonResult or [] if hasattr(import_result, "CommonResult") else [import_result]
        for common in commons:
            errors = getattr(common, "Error", None) or []
            first = errors[0] if errors else None
            objects.append(ObjectOutcome(
                transport_guid=common.TransportGUID, guid=getattr(common, "GUID", None),
                unique_number=getattr(common, "UniqueNumber", None),
                error_code=first.ErrorCode if first is not None else None,
                description=first.Description if first is not None else None,
            ))
    return ImportOutcome(message_guid, int(state.RequestState), objects)
