"""Penalty decrees over the official rap service: a zeep client built from the served WSDL posts, changes, exports
and cancels a regulator's decrees; anyone but a regulator or the operator is refused at the door, and a regulator
only reaches organisations serving a house in its jurisdiction (the fixture inspectorate oversees OKTMO 45)."""

from __future__ import annotations

import uuid
from pathlib import Path
from typing import Any

import pytest
import zeep

from gateway.bootstrap import Gateway
from gateway.soap.server import EmbeddedServer
from gateway.xmlparse import parse_untrusted
from providers.client import outcome
from providers.dynamic import GisClient
from tests.e2e.test_accounts_flow import HOA, MC
from tests.e2e.test_metering_flow import assert_results_are_schema_valid

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures"
REGULATOR = "3c2b1a09-8f7e-4d6c-b5a4-938271605f4e"
RAP = "http://dom.gosuslugi.ru/schema/integration/rap/"
ORG = "http://dom.gosuslugi.ru/schema/integration/organizations-registry-base/"


def rap_client(server: EmbeddedServer, pki: Any, org: str) -> GisClient:
    issued = pki.by_org[org]
    return GisClient(server.url, org_guid=org, key=issued.key, cert=issued.cert, gateway_cert=pki.gateway.cert,
                     service="rap", timeout=10)


def decree(client: GisClient, *, offender: str = MC, **fields: Any) -> dict[str, Any]:
    root = parse_untrusted((FIXTURES / "requests" / "decree.xml").read_bytes())
    root.find(f".//{{{RAP}}}TransportGuid").text = str(uuid.uuid4())
    root.find(f".//{{{ORG}}}orgRootEntityGUID").text = offender
    request = client.request_from_xml(root)
    item = request["importDecreesAndDocuments"][0]
    item.update(fields)
    return request


def results(client: GisClient, guid: str) -> list[Any]:
    state = client.wait(guid, timeout=30)
    return list(state.CommonResult or [])


def error(common: Any) -> str | None:
    return common.Error[0].ErrorCode if getattr(common, "Error", None) else None


def test_a_regulator_posts_changes_exports_and_cancels_its_decree(  # type: ignore[no-untyped-def]
        server: EmbeddedServer, live_worker, pki, gateway: Gateway) -> None:
    from tests.e2e.test_accounts_flow import client

    mc = client(server, pki, MC)
    posted = mc.send_file("importHouseUOData", FIXTURES / "houses" / "sever-1.xml")  # OKTMO 45362000
    assert not [o.error_code for o in outcome(posted, mc.wait(posted, timeout=30)).objects if o.error_code]
    inspectorate = rap_client(server, pki, REGULATOR)

    placed = results(inspectorate, inspectorate.send("importDecreesAndDocumentsData", decree(inspectorate)))
    assert [error(c) for c in placed] == [None]
    guid, number = placed[0].GUID, placed[0].UniqueNumber
    assert number.startswith("D")

    exported = inspectorate.wait(inspectorate.send("exportDecreesAndDocumentsData", {
        "DecreeGUID": [guid], "Id": "signed-data-container", "version": "11.10.0.2"}), timeout=30)
    found = exported.ExportDecreesAndDocuments[0]
    assert (found.DecreeGUID, found.RegistryNumber, found.Status) == (guid, number, "Published")
    assert found.ControlOrganization.orgRootEntityGUID == REGULATOR
    review = found.DecreeInfo.ReviewResult
    assert (str(review.ProceedingDate), review.ViolationObject[0].Code, str(review.Fine)) == \
        ("2026-06-01", "1", "10000.00")

    # a change needs its reason; the fine paid, the decree is executed
    change = decree(inspectorate, DecreeGuid=guid)
    change["importDecreesAndDocuments"][0]["Decree"]["DecreeInfo"]["ReviewResult"].update(
        Executed=True, FinePaymentDate="2026-07-01")
    assert [error(c) for c in results(inspectorate, inspectorate.send("importDecreesAndDocumentsData", change))] \
        == ["SRV001002"]
    change["importDecreesAndDocuments"][0]["ChangeReason"] = {
        "Reason": {"Code": "1", "GUID": str(uuid.uuid4())}, "ChangeShortDescription": "штраф уплачен"}
    assert [error(c) for c in results(inspectorate, inspectorate.send("importDecreesAndDocumentsData", change))] \
        == [None]

    cancel = {"importDecreesAndDocuments": [{"TransportGuid": str(uuid.uuid4()), "DecreeGuid": guid, "CancelDecree": {
        "CancelReason": {"Reason": {"Code": "2", "GUID": str(uuid.uuid4())}, "CancelBaseDocument": {
            "DocumentKind": {"Code": "2", "GUID": str(uuid.uuid4())}, "DocumentName": "Решение суда",
            "DocumentNumber": "А40-1/2026", "DocumentDate": "2026-09-01",
            "Document": [{"Name": "решение.pdf", "Description": "решение суда",
                          "Attachment": {"AttachmentGUID": str(uuid.uuid4())}}]},
            "CancelShortDescription": "отменено судом"}}}], "Id": "signed-data-container", "version": "11.10.0.5"}
    assert [error(c) for c in results(inspectorate, inspectorate.send("importDecreesAndDocumentsData", cancel))] \
        == [None]
    again = inspectorate.wait(inspectorate.send("exportDecreesAndDocumentsData", {
        "ProceedingDateFrom": "2026-01-01", "Id": "signed-data-container", "version": "11.10.0.2"}), timeout=30)
    ended = again.ExportDecreesAndDocuments[0]
    assert (ended.Status, ended.CancelReason.CancelShortDescription) == ("Cancelled", "отменено судом")
    assert ended.DecreeInfo.ReviewResult.Executed is True
    # a cancelled decree stays as it is
    late = results(inspectorate, inspectorate.send("importDecreesAndDocumentsData", {
        "importDecreesAndDocuments": [{"TransportGuid": str(uuid.uuid4()), "DecreeGuid": guid, "AnnulDecree": True}],
        "Id": "signed-data-container", "version": "11.10.0.5"}))
    assert [error(c) for c in late] == ["SRV006004"]
    assert_results_are_schema_valid(gateway)


def test_decrees_are_refused_to_providers_and_outside_the_jurisdiction(  # type: ignore[no-untyped-def]
        server: EmbeddedServer, live_worker, pki, gateway: Gateway) -> None:
    hoa = rap_client(server, pki, HOA)
    with pytest.raises(zeep.exceptions.Fault) as fault:
        hoa.send("importDecreesAndDocumentsData", decree(hoa))
    assert fault.value.message.startswith("INT002021")
    with pytest.raises(zeep.exceptions.Fault) as fault:
        hoa.send("exportDecreesAndDocumentsData", {"ProceedingDateFrom": "2026-01-01",
                                                   "Id": "signed-data-container", "version": "11.10.0.2"})
    assert fault.value.message.startswith("INT002021")

    inspectorate = rap_client(server, pki, REGULATOR)
    # the HOA serves a house in OKTMO 46 (Moscow oblast), the management company none posted yet; an unknown GUID
    outside = [decree(inspectorate, offender=HOA), decree(inspectorate, offender=MC),
               decree(inspectorate, offender=str(uuid.uuid4()))]
    codes = [error(c) for r in outside
             for c in results(inspectorate, inspectorate.send("importDecreesAndDocumentsData", r))]
    assert codes == ["SRV006001", "SRV006001", "SRV006003"]
    nothing = inspectorate.wait(inspectorate.send("exportDecreesAndDocumentsData", {
        "ProceedingDateFrom": "2020-01-01", "Id": "signed-data-container", "version": "11.10.0.2"}), timeout=30)
    assert nothing.ErrorMessage.ErrorCode == "SRV006002"
