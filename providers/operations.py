"""The operations the toolkit speaks: WSDL name, service, request element, ``base:version`` and per-request limit.

The provider side keeps its own table (it never imports the server's ``gateway.soap``): the same facts as the
README's "Supported operations" tables, taken from the official 16.3.0.0 schemas (the ``maxOccurs`` of each
request's repeated element).
"""

from __future__ import annotations

from dataclasses import dataclass

from gateway.ns import DM, HM
from gateway.xsd import Service

SERVICE_PATHS = {
    Service.HOUSE_MANAGEMENT: "/ext-bus-home-management-service/services/HomeManagementAsync",
    Service.DEVICE_METERING: "/ext-bus-device-metering-service/services/DeviceMeteringAsync",
}


@dataclass(frozen=True)
class OperationSpec:
    name: str  # WSDL operation; soapAction "urn:<name>"
    service: Service
    request: str  # local name of the request element
    version: str  # the base:version this toolkit writes
    limit: int | None  # objects per request (None: one query)

    @property
    def namespace(self) -> str:
        return HM if self.service is Service.HOUSE_MANAGEMENT else DM

    @property
    def qname(self) -> str:
        return f"{{{self.namespace}}}{self.request}"

    @property
    def action(self) -> str:
        return f"urn:{self.name}"


_HM, _DM = Service.HOUSE_MANAGEMENT, Service.DEVICE_METERING

OPERATIONS: dict[str, OperationSpec] = {op.name: op for op in (
    OperationSpec("importContractData", _HM, "importContractRequest", "11.9.0.1", 100),
    OperationSpec("importCharterData", _HM, "importCharterRequest", "11.9.0.1", 1),
    OperationSpec("importSupplyResourceContractData", _HM, "importSupplyResourceContractRequest", "11.3.0.5", 1000),
    OperationSpec("importHouseUOData", _HM, "importHouseUORequest", "13.2.3.2", 1),  # one house (with its premises)
    OperationSpec("exportHouseData", _HM, "exportHouseRequest", "15.10.0.0", None),
    OperationSpec("importAccountData", _HM, "importAccountRequest", "10.0.1.1", 100),
    OperationSpec("exportAccountData", _HM, "exportAccountRequest", "10.0.1.1", 1000),
    OperationSpec("importMeteringDeviceData", _HM, "importMeteringDeviceDataRequest", "11.1.0.8", 100),
    OperationSpec("exportMeteringDeviceData", _HM, "exportMeteringDeviceDataRequest", "14.8.0.1", None),
    OperationSpec("importVotingProtocol", _HM, "importVotingProtocolRequest", "15.10.0.1", 1),
    OperationSpec("importVotingMessage", _HM, "importVotingMessageRequest", "15.10.0.1", 1),
    OperationSpec("importOwnerDecision", _HM, "importOwnerDecisionRequest", "15.10.0.1", 10000),
    OperationSpec("exportVotingProtocol", _HM, "exportVotingProtocolRequest", "15.10.0.1", 100),
    OperationSpec("importMeteringDeviceValues", _DM, "importMeteringDeviceValuesRequest", "10.0.1.1", 1000),
    OperationSpec("exportMeteringDeviceHistory", _DM, "exportMeteringDeviceHistoryRequest", "10.0.1.1", 100),
)}


def by_request(tag: str) -> OperationSpec:
    """The operation whose request element is ``tag`` (Clark name), e.g. for an official XML file."""
    for op in OPERATIONS.values():
        if op.qname == tag:
            return op
    raise ValueError(f"{tag} is not the request element of an operation this toolkit sends")
