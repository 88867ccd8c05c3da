"""The SDK's typed helpers against a real gateway: official XML requests, exports, a wrong pin, a wrong element."""

from __future__ import annotations

import uuid

import pytest

from gateway.soap.server import EmbeddedServer
from gateway.xmlparse import parse_untrusted
from providers.builders import RequestInvalid
from providers.client import AnswerNotTrusted, ProviderClient
from tests.e2e.test_provider_toolkit import FAST, HOA, MC, ROOT

SEVER_1 = "b6b7d2a0-1c3e-4f5a-8b9c-0d1e2f3a4b5c"


def sdk(server: EmbeddedServer, pki, org: str = MC, pin=None) -> ProviderClient:  # type: ignore[no-untyped-def]
    issued = pki.by_org[org]
    return ProviderClient(server.url, org_guid=org, key=issued.key, cert=issued.cert,
                          gateway_cert=pin or pki.gateway.cert, polling=FAST)


def official(*path: str):  # type: ignore[no-untyped-def]
    return parse_untrusted(ROOT.joinpath("fixtures", *path).read_bytes())


def test_a_meeting_posted_from_official_xml_is_counted_and_exported(  # type: ignore[no-untyped-def]
        server: EmbeddedServer, live_worker, pki) -> None:
    mc = sdk(server, pki)
    assert all(o.ok for o in mc.import_house(official("houses", "sever-1.xml")).objects)

    protocol = mc.import_protocol(official("oss", "sever-1-protocol.xml")).objects[0]
    [exported] = mc.export_protocols(protocol_guids=[protocol.guid or ""])
    by_house = mc.export_protocols(fias_house_guid=SEVER_1)

    assert protocol.ok, protocol
    assert [item.votingResume for item in exported.DecisionList] == ["M", "N", "M"]  # item 2 lacks two thirds
    assert [p.ProtocolGUID for p in by_house] == [exported.ProtocolGUID]


def test_an_electronic_vote_notice_gets_its_voting_guid(server: EmbeddedServer, live_worker, pki) -> None:  # type: ignore[no-untyped-def]
    mc = sdk(server, pki)
    mc.import_house(official("houses", "sever-1.xml"))

    notice = mc.import_voting_message(official("oss", "sever-1-evoting-notice.xml")).objects[0]

    assert notice.ok and notice.extra.get("VotingGUID"), notice


def test_exports_that_match_nothing_are_empty_not_errors(server: EmbeddedServer, live_worker, pki) -> None:  # type: ignore[no-untyped-def]
    mc = sdk(server, pki)
    nowhere = str(uuid.uuid4())

    assert mc.export_accounts(fias_house_guid=nowhere) == []
    assert mc.export_devices(fias_house_guid=nowhere) == []
    assert mc.export_protocols(fias_house_guid=nowhere) == []
    assert mc.export_house_many([nowhere]) == {nowhere: None}


def test_an_answer_not_signed_with_the_pinned_certificate_is_refused(  # type: ignore[no-untyped-def]
        server: EmbeddedServer, live_worker, pki) -> None:
    mistrusting = sdk(server, pki, pin=pki.by_org[HOA].cert)

    with pytest.raises(AnswerNotTrusted, match="not the pinned gateway certificate"):
        mistrusting.import_house(official("houses", "sever-1.xml"))


def test_a_helper_refuses_another_operations_request_before_sending(server: EmbeddedServer, pki) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(RequestInvalid, match="importCharterData takes importCharterRequest"):
        sdk(server, pki).import_charter(official("contracts", "sever-management.xml"))
