"""The compliance report over SOAP (dom-gateway's own service, built like the official ones): a zeep client built
from the served WSDL asks for a page of the report; the answer is signed by the gateway and conforms to the
served schema. Only a regulator or the operator is answered, and a regulator only within its jurisdiction."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest
import zeep

from gateway.bootstrap import Gateway
from gateway.reports.rules import MOSCOW
from gateway.soap.server import EmbeddedServer
from providers.client import outcome
from providers.dynamic import GisClient
from tests.e2e.test_accounts_flow import HOA, MC, client
from tests.e2e.test_metering_flow import assert_results_are_schema_valid
from tests.e2e.test_rap_flow import FIXTURES, REGULATOR


def compliance_client(server: EmbeddedServer, pki: Any, org: str) -> GisClient:
    issued = pki.by_org[org]
    return GisClient(server.url, org_guid=org, key=issued.key, cert=issued.cert, gateway_cert=pki.gateway.cert,
                     service="compliance", timeout=10)


def ask(provider: GisClient, **query: Any) -> Any:
    today = datetime.now(MOSCOW).date().isoformat()
    request = {"AsOfDate": today, "PeriodFrom": "2019-12-01", "PeriodTo": today,
               "Id": "signed-data-container", "version": "1.0.0.0", **query}
    return provider.wait(provider.send("exportComplianceReport", request), timeout=60)


def test_a_regulator_reads_its_region_page_by_page(  # type: ignore[no-untyped-def]
        server: EmbeddedServer, live_worker, pki, gateway: Gateway) -> None:
    mc = client(server, pki, MC)
    posted = mc.send_file("importHouseUOData", FIXTURES / "houses" / "sever-1.xml")  # OKTMO 45362000
    assert not [o.error_code for o in outcome(posted, mc.wait(posted, timeout=30)).objects if o.error_code]
    inspectorate = compliance_client(server, pki, REGULATOR)

    answer = ask(inspectorate).ComplianceReport
    assert list(answer.OKTMO) == ["45"]  # no region asked: the whole jurisdiction
    assert answer.AsOf <= datetime.now(UTC)  # the end of today, read as far as it has gone
    assert {r.Id: r.Evaluated for r in answer.Rule}["payment-documents"] is False
    assert [o.orgRootEntityGUID for o in answer.Organisation] == [MC]
    ours = answer.Organisation[0]
    tallies = {t.ObligationId: (t.Due, t.OnTime, t.Late, t.Missing) for t in ours.Obligation}
    # the fixture contract (signed 20.12.2019, posted now) is late; its second house was never posted
    assert tallies["house-list-contract"] == (1, 0, 1, 0)
    assert tallies["house-posted"] == (2, 0, 1, 1)
    assert ours.Quality.Houses == 1 and ours.Quality.Premises > 0
    assert answer.TotalOrganisations == 1 and answer.IsLastPage is True

    empty = ask(inspectorate, Page=2, PageSize=1).ComplianceReport
    assert (empty.Page, empty.TotalOrganisations, list(empty.Organisation or [])) == (2, 1, [])
    refused = ask(inspectorate, OKTMO=["46"])
    assert refused.ErrorMessage.ErrorCode == "SRV006001"
    assert_results_are_schema_valid(gateway)


def test_providers_are_refused_at_the_door(server: EmbeddedServer, pki) -> None:  # type: ignore[no-untyped-def]
    hoa = compliance_client(server, pki, HOA)
    with pytest.raises(zeep.exceptions.Fault) as fault:
        ask(hoa)
    assert fault.value.message.startswith("INT002021")
