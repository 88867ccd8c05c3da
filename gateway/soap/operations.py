"""The operation table: which official operations the gateway answers at which endpoint — what the door needs.

Adding an operation = one ``Operation`` row here (its WSDL name, request element, accepted ``base:version``
values, the roles it is answered for) and its processor in ``gateway.processing.operations.PROCESSORS``
(what the worker does with the stored payload).
"""

from __future__ import annotations

from dataclasses import dataclass

from gateway import ns
from gateway.domain.model import OrgRole
from gateway.ns import q
from gateway.services import compliance as compliance_services
from gateway.services import decrees as decree_services
from gateway.soap import compliance_xml, rap_xml
from gateway.xsd import Service


@dataclass(frozen=True)
class Endpoint:
    """One official async service port."""

    name: str
    path: str
    schema: Service
    types_ns: str
    #: base:version of <svc>:getStateResult and of its ImportResult (both fixed by the schema)
    state_result_version: str
    import_result_version: str

    @property
    def prefix(self) -> str:
        """The path above ``services/``: the WSDL's relative schemaLocations resolve under it."""
        return self.path.rsplit("/services/", 1)[0] + "/"


HOUSE_MANAGEMENT = Endpoint(
    name="HouseManagementServiceAsync",
    path="/ext-bus-home-management-service/services/HomeManagementAsync",
    schema=Service.HOUSE_MANAGEMENT,
    types_ns=ns.HM,
    state_result_version="11.0.0.1",
    import_result_version="10.0.1.1",
)

DEVICE_METERING = Endpoint(
    name="DeviceMeteringServiceAsync",
    path="/ext-bus-device-metering-service/services/DeviceMeteringAsync",
    schema=Service.DEVICE_METERING,
    types_ns=ns.DM,
    state_result_version="10.0.1.1",
    import_result_version="10.0.1.1",
)

RAP = Endpoint(
    name="RapServiceAsync",
    path="/ext-bus-rap-service/services/RapAsync",
    schema=Service.RAP,
    types_ns=ns.RAP,
    state_result_version=rap_xml.GETSTATE_VERSION,
    import_result_version=rap_xml.GETSTATE_VERSION,
)

COMPLIANCE = Endpoint(  # dom-gateway's own service (gateway/xsd/extensions/compliance)
    name="ComplianceServiceAsync",
    path="/ext-bus-compliance-service/services/ComplianceAsync",
    schema=Service.COMPLIANCE,
    types_ns=ns.COMPLIANCE,
    state_result_version=compliance_xml.VERSION,
    import_result_version=compliance_xml.VERSION,
)

ENDPOINTS = {e.path: e for e in (HOUSE_MANAGEMENT, DEVICE_METERING, RAP, COMPLIANCE)}

@dataclass(frozen=True)
class Operation:
    name: str  # WSDL operation name; soapAction is urn:<name>
    endpoint: Endpoint
    request: str  # Clark name of the body element
    versions: frozenset[str]
    #: the roles the operation is answered for (empty: any); anyone else is refused at the door
    roles: frozenset[OrgRole] = frozenset()


OPERATIONS: dict[str, Operation] = {
    op.name: op
    for op in (
        Operation("importHouseUOData", HOUSE_MANAGEMENT, q(ns.HM, "importHouseUORequest"),
                  frozenset({"11.0.10.1", "13.2.3.2"})),
        Operation("exportHouseData", HOUSE_MANAGEMENT, q(ns.HM, "exportHouseRequest"),
                  frozenset({"11.1.0.1", "12.2.0.1", "13.2.3.2", "15.6.0.1", "15.10.0.0"})),
        Operation("importAccountData", HOUSE_MANAGEMENT, q(ns.HM, "importAccountRequest"), frozenset({"10.0.1.1"})),
        Operation("exportAccountData", HOUSE_MANAGEMENT, q(ns.HM, "exportAccountRequest"), frozenset({"10.0.1.1"})),
        Operation("importContractData", HOUSE_MANAGEMENT, q(ns.HM, "importContractRequest"), frozenset({"11.9.0.1"})),
        Operation("importCharterData", HOUSE_MANAGEMENT, q(ns.HM, "importCharterRequest"), frozenset({"11.9.0.1"})),
        Operation("importSupplyResourceContractData", HOUSE_MANAGEMENT,
                  q(ns.HM, "importSupplyResourceContractRequest"), frozenset({"11.3.0.5"})),
        Operation("importMeteringDeviceData", HOUSE_MANAGEMENT, q(ns.HM, "importMeteringDeviceDataRequest"),
                  frozenset({"11.1.0.8"})),
        Operation("exportMeteringDeviceData", HOUSE_MANAGEMENT, q(ns.HM, "exportMeteringDeviceDataRequest"),
                  frozenset({"11.1.0.2", "14.8.0.1"})),
        Operation("importVotingProtocol", HOUSE_MANAGEMENT, q(ns.HM, "importVotingProtocolRequest"),
                  frozenset({"15.10.0.1"})),
        Operation("importVotingMessage", HOUSE_MANAGEMENT, q(ns.HM, "importVotingMessageRequest"),
                  frozenset({"15.10.0.1"})),
        Operation("importOwnerDecision", HOUSE_MANAGEMENT, q(ns.HM, "importOwnerDecisionRequest"),
                  frozenset({"15.10.0.1"})),
        Operation("exportVotingProtocol", HOUSE_MANAGEMENT, q(ns.HM, "exportVotingProtocolRequest"),
                  frozenset({"15.10.0.1"})),
        Operation("importMeteringDeviceValues", DEVICE_METERING, q(ns.DM, "importMeteringDeviceValuesRequest"),
                  frozenset({"10.0.1.1"})),
        Operation("exportMeteringDeviceHistory", DEVICE_METERING, q(ns.DM, "exportMeteringDeviceHistoryRequest"),
                  frozenset({"10.0.1.1"})),
        Operation("importDecreesAndDocumentsData", RAP, q(ns.RAP, "ImportDecreesAndDocumentsRequest"),
                  frozenset({"11.10.0.5"}), decree_services.DECREE_ROLES),
        Operation("exportDecreesAndDocumentsData", RAP, q(ns.RAP, "ExportDecreesAndDocumentsRequest"),
                  frozenset({"11.10.0.2"}), decree_services.DECREE_ROLES),
        Operation("exportComplianceReport", COMPLIANCE, q(ns.COMPLIANCE, "exportComplianceReportRequest"),
                  frozenset({compliance_xml.VERSION}), compliance_services.REPORT_ROLES),
    )
}

GET_STATE_REQUEST = q(ns.BASE, "getStateRequest")


def by_body(endpoint: Endpoint, body_tag: str) -> Operation | None:
    for op in OPERATIONS.values():
        if op.endpoint is endpoint and op.request == body_tag:
            return op
    return None
