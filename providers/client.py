"""The provider SDK: typed helpers for every operation the gateway supports, over zeep, requests and XAdES.

``ProviderClient`` is what a provider's software (or ``gateway-provider``) holds: one organisation, its
signing key and certificate, the gateway's pinned answer certificate, one HTTP transport for both services.
Each helper builds the official request from typed records (``providers.records``) with zeep and the
vendored WSDL, checks it against the official XSD, signs it (XAdES-BES, enveloped, exclusive c14n) and
sends it; ``wait`` polls ``getState`` by the official schedule (``providers.polling``) and verifies the
gateway's signature on every answer against the pinned certificate.

The two halves of a send are also public, because a resend must be the same message: ``prepare`` signs and
wraps a request once into bytes under a MessageGUID; ``post`` sends those bytes (again, if need be). The
gateway answers a resend of the same MessageGUID with the same content with its original Ack.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from cryptography import x509
from lxml import etree

from gateway.signing import sign
from gateway.signing.xades import SigningKey
from gateway.xsd import Service
from providers import builders, wire
from providers.dynamic import AnswerVerifier, GisClient, ImportOutcome, outcome
from providers.errors import ProviderError
from providers.operations import OPERATIONS, SERVICE_PATHS, OperationSpec, by_request
from providers.polling import OFFICIAL, PollSchedule
from providers.records import Account, Device, House, ManagementContract, NsiRef, Reading
from providers.transport import Transport
from providers.wire import AnswerNotTrusted, GatewayFault, ObjectOutcome, State

__all__ = ["AnswerNotTrusted", "AnswerVerifier", "GatewayFault", "GisClient", "ImportOutcome", "MessageFailed",
           "ObjectOutcome", "PollTimeout", "Prepared", "ProviderClient", "State", "outcome"]

#: message-level codes that mean "nothing matched" for an export (README error table)
NOT_FOUND = frozenset({"SRV001004", "SRV001009", "SRV003001", "SRV004001"})


class PollTimeout(ProviderError):
    """The message was not processed within the schedule's ``give_up_after``; its result can still be asked for."""

    def __init__(self, message_guid: str, state: State | None) -> None:
        super().__init__(f"message {message_guid} not processed yet (RequestState "
                         f"{state.request_state if state else '?'}); ask again later with its MessageGUID")
        self.message_guid, self.state = message_guid, state


class MessageFailed(ProviderError):
    """The whole message was answered with ``ErrorMessage`` (an export found nothing, processing failed)."""

    def __init__(self, code: str, description: str) -> None:
        super().__init__(f"{code}: {description}")
        self.code, self.description = code, description


@dataclass(frozen=True)
class Prepared:
    """A signed request in its envelope, exactly the bytes that go (and go again) on the wire."""

    operation: str
    message_guid: str  # the requester's MessageGUID in base:RequestHeader
    data: bytes

    @property
    def spec(self) -> OperationSpec:
        return OPERATIONS[self.operation]


class ProviderClient:
    def __init__(self, base_url: str, *, org_guid: str, key: SigningKey, cert: x509.Certificate,
                 gateway_cert: x509.Certificate | None, transport: Transport | None = None,
                 polling: PollSchedule = OFFICIAL, sleep: Callable[[float], None] = time.sleep,
                 clock: Callable[[], float] = time.monotonic, operator_signature: bool = False) -> None:
        """``gateway_cert``: the gateway's answer-signing certificate; every getState answer must carry a valid
        signature by it (``AnswerNotTrusted`` otherwise). ``None`` turns the check off — only for a gateway
        that does not sign its answers, never in production.

        ``operator_signature``: ``key`` and ``cert`` are the operator's of ``org_guid``'s information system (a
        billing centre, a software vendor), which signs for it under a power ``org_guid`` granted: every request
        carries ``IsOperatorSignature=true``, and getState names ``org_guid`` as the official clients do."""
        self.base_url = base_url.rstrip("/")
        self.org_guid, self.key, self.cert = org_guid, key, cert
        self.operator_signature = operator_signature
        self.verifier = wire.AnswerVerifier(gateway_cert) if gateway_cert is not None else None
        self.transport = transport or Transport()
        self.polling, self.sleep, self.clock = polling, sleep, clock

    def url(self, service: Service) -> str:
        return self.base_url + SERVICE_PATHS[service]

    # ---- the two halves of a send

    def prepare(self, body: etree._Element, *, message_guid: str | None = None) -> Prepared:
        """Sign ``body`` (an official request element) and wrap it: the bytes to send, under a MessageGUID."""
        spec = by_request(body.tag)
        sign(body, key=self.key, cert=self.cert)
        guid = message_guid or str(uuid.uuid4())
        return Prepared(spec.name, guid, wire.envelope(body, message_guid=guid, org_guid=self.org_guid,
                                                       operator_signature=self.operator_signature))

    def post(self, prepared: Prepared) -> str:
        """Send prepared bytes as they are; the gateway's MessageGUID from its Ack. Safe to call again."""
        spec = prepared.spec
        status, data = self.transport.post(self.url(spec.service), prepared.data, action=spec.action)
        return wire.ack_guid(wire.answer_body(data, status))

    def submit(self, body: etree._Element) -> str:
        return self.post(self.prepare(body))

    # ---- results

    def get_state(self, message_guid: str, service: Service = Service.HOUSE_MANAGEMENT) -> State:
        """One getState; the answer's signature is checked against the pinned gateway certificate."""
        request = wire.envelope(wire.get_state_request(message_guid), message_guid=str(uuid.uuid4()),
                                org_guid=self.org_guid, operator_signature=self.operator_signature)
        status, data = self.transport.post(self.url(service), request, action="urn:getState")
        answer = wire.answer_body(data, status)
        if self.verifier is not None:
            self.verifier.check(answer)
        return wire.state_of(answer, message_guid)

    def status(self, message_guid: str) -> tuple[Service, State]:
        """getState on whichever service knows the message (a MessageGUID does not say which)."""
        for service in (Service.HOUSE_MANAGEMENT, Service.DEVICE_METERING):
            try:
                return service, self.get_state(message_guid, service)
            except GatewayFault as fault:
                if fault.code != "INT003001" or service is Service.DEVICE_METERING:
                    raise
        raise AssertionError("unreachable")

    def wait(self, message_guid: str, *, service: Service = Service.HOUSE_MANAGEMENT,
             schedule: PollSchedule | None = None) -> State:
        """Poll getState by ``schedule`` (the client's: the official one unless configured) until processed."""
        schedule = schedule or self.polling
        started, polls, state = self.clock(), 0, None
        while True:
            delay = schedule.delay(polls)
            if self.clock() + delay - started > schedule.give_up_after:
                raise PollTimeout(message_guid, state)
            self.sleep(delay)
            state = self.get_state(message_guid, service)
            polls += 1
            if state.done:
                return state

    def wait_all(self, messages: Sequence[tuple[str, Service]], *, schedule: PollSchedule | None = None
                 ) -> dict[str, State]:
        """Wait for several messages sent together: one schedule for the set, each polled until processed."""
        schedule = schedule or self.polling
        started, polls = self.clock(), 0
        done: dict[str, State] = {}
        while len(done) < len(messages):
            delay = schedule.delay(polls)
            if self.clock() + delay - started > schedule.give_up_after:
                waiting = next(guid for guid, _ in messages if guid not in done)
                raise PollTimeout(waiting, None)
            self.sleep(delay)
            polls += 1
            for guid, service in messages:
                if guid not in done and (state := self.get_state(guid, service)).done:
                    done[guid] = state
        return done

    def run(self, body: etree._Element) -> State:
        """Send one request and wait for its result."""
        spec = by_request(body.tag)
        return self.wait(self.submit(body), service=spec.service)

    # ---- typed helpers: imports (one request each; ``gateway-provider push`` batches at the limits)

    def import_contracts(self, contracts: Sequence[ManagementContract]) -> State:
        """importContractData: ≤ 100 management contracts placed, each with its houses."""
        return self.run(builders.contracts_request(contracts))

    def import_official(self, request: etree._Element) -> State:
        """Any import as an official request element (a file in the GIS format): checked, signed, sent, waited."""
        return self.run(_official(request, by_request(request.tag).name))

    def import_charter(self, request: etree._Element) -> State:
        """importCharterData: one HOA or cooperative charter, an official ``importCharterRequest`` element."""
        return self.run(_official(request, "importCharterData"))

    def import_supply_contracts(self, request: etree._Element) -> State:
        """importSupplyResourceContractData: an official ``importSupplyResourceContractRequest`` element."""
        return self.run(_official(request, "importSupplyResourceContractData"))

    def import_house(self, house: House | etree._Element) -> State:
        """importHouseUOData: one apartment house with its premises (a record, or an official request element)."""
        body = builders.house_request(house) if isinstance(house, House) else _official(house, "importHouseUOData")
        return self.run(body)

    def import_houses(self, houses: Sequence[House | etree._Element]) -> list[State]:
        """One importHouseUOData per house (the schema takes one house per request)."""
        return [self.import_house(h) for h in houses]

    def import_accounts(self, accounts: Sequence[Account]) -> State:
        """importAccountData: ≤ 100 personal accounts; results carry UnifiedAccountNumber and ServiceID."""
        return self.run(builders.accounts_request(accounts))

    def import_devices(self, fias_house_guid: str, devices: Sequence[Device]) -> State:
        """importMeteringDeviceData: ≤ 100 devices of one house; results carry the root MeteringDeviceGUID."""
        return self.run(builders.devices_request(fias_house_guid, devices))

    def import_readings(self, readings: Sequence[Reading]) -> State:
        """importMeteringDeviceValues (device-metering): ≤ 1,000 readings."""
        return self.run(builders.readings_request(readings))

    def import_protocol(self, request: etree._Element) -> State:
        """importVotingProtocol: an official ``importVotingProtocolRequest`` element (one protocol)."""
        return self.run(_official(request, "importVotingProtocol"))

    def import_voting_message(self, request: etree._Element) -> State:
        return self.run(_official(request, "importVotingMessage"))

    def import_owner_decisions(self, request: etree._Element) -> State:
        return self.run(_official(request, "importOwnerDecision"))

    # ---- typed helpers: exports (zeep objects of the official result types)

    def export_house(self, fias_house_guid: str) -> Any:
        """exportHouseData: ``exportHouseResult`` (house, premises, GUIDs); ``MessageFailed`` SRV001004 if none."""
        return self._export(builders.export_house_request(fias_house_guid)).exportHouseResult

    def export_accounts(self, *, fias_house_guid: str | None = None, account_guids: Sequence[str] = ()) -> list[Any]:
        """exportAccountData: the accounts of a house (or by AccountGUID) the sender may see; [] for none."""
        found = self._export(builders.export_accounts_request(fias_house_guid=fias_house_guid,
                                                              account_guids=account_guids), empty_ok=True)
        return list(found.exportAccountResult or []) if found is not None else []

    def export_devices(self, *, fias_house_guid: str | None = None, root_guid: str | None = None,
                       version_guid: str | None = None) -> list[Any]:
        """exportMeteringDeviceData: devices of a house, or one by root or version GUID; [] for none."""
        found = self._export(builders.export_devices_request(
            fias_house_guid=fias_house_guid, root_guid=root_guid, version_guid=version_guid), empty_ok=True)
        return list(found.exportMeteringDeviceDataResult or []) if found is not None else []

    def export_history(self, fias_house_guids: Sequence[str], *, root_guids: Sequence[str] = (),
                       resources: Sequence[NsiRef] = ()) -> list[Any]:
        """exportMeteringDeviceHistory: base values and kept readings per device; [] for none."""
        found = self._export(builders.export_history_request(fias_house_guids, root_guids=root_guids,
                                                             resources=resources), empty_ok=True)
        return list(found.exportMeteringDeviceHistoryResult or []) if found is not None else []

    def export_protocols(self, *, fias_house_guid: str | None = None, protocol_guids: Sequence[str] = (),
                         voting_guids: Sequence[str] = ()) -> list[Any]:
        """exportVotingProtocol: protocols with the registry's own count; [] for none."""
        found = self._export(builders.export_protocols_request(
            fias_house_guid=fias_house_guid, protocol_guids=protocol_guids, voting_guids=voting_guids), empty_ok=True)
        return list(found.VotingProtocol or []) if found is not None else []

    def export_house_many(self, fias_house_guids: Sequence[str]) -> dict[str, Any]:
        """exportHouseData for several houses, sent together and waited for together; None for unknown ones."""
        return self._export_many([(f, builders.export_house_request(f)) for f in fias_house_guids],
                                 lambda found: found.exportHouseResult)

    def export_accounts_many(self, fias_house_guids: Sequence[str]) -> dict[str, list[Any]]:
        return self._export_many([(f, builders.export_accounts_request(fias_house_guid=f)) for f in fias_house_guids],
                                 lambda found: list(found.exportAccountResult or []))

    def export_devices_many(self, fias_house_guids: Sequence[str]) -> dict[str, list[Any]]:
        return self._export_many([(f, builders.export_devices_request(fias_house_guid=f)) for f in fias_house_guids],
                                 lambda found: list(found.exportMeteringDeviceDataResult or []))

    def export_history_many(self, queries: Sequence[tuple[str, Sequence[str]]]) -> list[Any]:
        """exportMeteringDeviceHistory for (house, ≤ 100 device root GUIDs) pairs, sent and waited for together."""
        found = self._export_many([(str(n), builders.export_history_request([house], root_guids=roots))
                                   for n, (house, roots) in enumerate(queries)],
                                  lambda result: list(result.exportMeteringDeviceHistoryResult or []))
        return [item for n in range(len(queries)) for item in found[str(n)] or []]

    def _export_many(self, bodies: Sequence[tuple[str, etree._Element]], pick: Callable[[Any], Any]
                     ) -> dict[str, Any]:
        sent = [(key, self.submit(body), by_request(body.tag).service) for key, body in bodies]
        states = self.wait_all([(guid, service) for _, guid, service in sent])
        found: dict[str, Any] = {}
        for key, guid, service in sent:
            state = states[guid]
            if state.error_code is not None:
                if state.error_code not in NOT_FOUND:
                    raise MessageFailed(state.error_code, state.description or "")
                found[key] = None
                continue
            assert state.element is not None
            found[key] = pick(builders.parse_answer(service, state.element))
        return found

    def _export(self, body: etree._Element, *, empty_ok: bool = False) -> Any:
        spec = by_request(body.tag)
        state = self.run(body)
        if state.error_code is not None:
            if empty_ok and state.error_code in NOT_FOUND:
                return None
            raise MessageFailed(state.error_code, state.description or "")
        assert state.element is not None
        return builders.parse_answer(spec.service, state.element)


def _official(request: etree._Element, operation: str) -> etree._Element:
    """An official request element for ``operation``, comments dropped, checked against the schema."""
    spec = OPERATIONS[operation]
    if request.tag != spec.qname:
        raise builders.RequestInvalid(f"{operation} takes {spec.request}, not {etree.QName(request).localname}")
    for node in list(request.iter(etree.Comment, etree.ProcessingInstruction)):
        parent = node.getparent()
        if parent is not None:
            parent.remove(node)
    return builders.checked(spec, request)
