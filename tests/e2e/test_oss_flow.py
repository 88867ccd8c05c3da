"""Owners' general meetings end to end: the registry counts the votes from the registered premises areas.

Severny-1 has 438.4 m² of premises (six flats and a shop): 438.4 votes in all, quorum above 219.2.
"""

from __future__ import annotations

import copy
import uuid
from datetime import date
from decimal import Decimal
from pathlib import Path

from sqlalchemy import select

from gateway.bootstrap import Gateway
from gateway.registry.tables import protocols
from gateway.soap.server import EmbeddedServer
from gateway.xmlparse import parse_untrusted
from providers.client import GisClient, outcome
from tests.e2e.test_accounts_flow import HOA, MC, REGULATOR, client
from tests.e2e.test_metering_flow import assert_results_are_schema_valid, codes

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures"
HM = "{http://dom.gosuslugi.ru/schema/integration/house-management/}"
BASE = "{http://dom.gosuslugi.ru/schema/integration/base/}"
BALLOT_SHA256 = "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08"


def protocol_request(provider: GisClient, *, agree: tuple[str, str, str] | None = None, competent: str = "C",
                     voting: str | None = None) -> dict:  # type: ignore[type-arg]
    root = parse_untrusted((FIXTURES / "oss" / "sever-1-protocol.xml").read_bytes())
    root.find(f"{BASE}TransportGUID").text = str(uuid.uuid4())
    root.find(f"{HM}VotingGUID").text = voting or str(uuid.uuid4())
    root.find(f".//{HM}MeetingEligibility").text = competent
    if agree is not None:
        for item, value in zip(root.iter(f"{HM}DecisionList"), agree, strict=True):
            item.find(f"{HM}Agree").text = value
            item.find(f"{HM}Against").text = "0"
            item.find(f"{HM}Abstent").text = "0"
    request = provider.request_from_xml(root)
    request["Protocol"]["VoteInitiators"] = {}  # present and empty, as in the file (zeep drops empty elements)
    return request


def post(provider: GisClient, operation: str, request: dict):  # type: ignore[no-untyped-def,type-arg]
    guid = provider.send(operation, request)
    state = provider.wait(guid, timeout=30)
    return outcome(guid, state), state


def export(provider: GisClient, **criteria: object):  # type: ignore[no-untyped-def]
    guid = provider.send("exportVotingProtocol", {**criteria, "Id": "signed-data-container", "version": "15.10.0.1"})
    return provider.wait(guid, timeout=30)


def test_a_protocols_results_are_computed_and_a_contradiction_is_flagged(  # type: ignore[no-untyped-def]
        server: EmbeddedServer, live_worker, pki, gateway: Gateway) -> None:
    mc = client(server, pki, MC)
    assert codes(mc.import_and_wait("importHouseUOData", FIXTURES / "houses" / "sever-1.xml", timeout=30)) == \
        [None] * 8
    voting = str(uuid.uuid4())
    result, state = post(mc, "importVotingProtocol", protocol_request(mc, voting=voting))
    assert codes(result) == [None]
    assert state.ImportResult[0].CommonResult[0].importVotingInformation.VotingGUID == voting
    protocol = result.objects[0].guid

    exported = export(mc, ProtocolGUID=[protocol]).VotingProtocol[0]
    assert exported.MeetingEligibility == "C" and exported.FIASHouseGuid == ["b6b7d2a0-1c3e-4f5a-8b9c-0d1e2f3a4b5c"]
    items = {d.QuestionNumber: d for d in exported.DecisionList}
    assert {n: (d.AllOwnersVotesSum, d.votingResume) for n, d in items.items()} == {
        1: (Decimal("438.4"), "M"),  # more than half of all votes: 250 > 219.2
        2: (Decimal("438.4"), "N"),  # two thirds of all: 260 < 292.27, although declared made
        3: (Decimal("438.4"), "M"),  # more than half of the votes cast: 200 of 290
    }
    assert [a.AttachmentHASH for a in exported.Meeting.Attachments][0].startswith("3f79bb7b")
    with gateway.engine.connect() as connection:
        flags = connection.execute(select(protocols.c.flags).where(protocols.c.guid == protocol)).scalar()
    assert flags == "item_2_contradicts"

    again, _ = post(mc, "importVotingProtocol", protocol_request(mc, voting=voting))
    assert codes(again) == ["SRV004003"]  # one protocol per voting
    too_many, _ = post(mc, "importVotingProtocol", protocol_request(mc, agree=("500", "1", "1")))
    assert codes(too_many) == ["SRV004002"]
    hoa = client(server, pki, HOA)
    outsider, _ = post(hoa, "importVotingProtocol", protocol_request(hoa))
    assert codes(outsider) == ["SRV002002"]
    regulator = client(server, pki, REGULATOR)
    assert [p.ProtocolGUID for p in export(regulator, FIASHouseGuid="b6b7d2a0-1c3e-4f5a-8b9c-0d1e2f3a4b5c")
            .VotingProtocol] == [protocol]
    assert_results_are_schema_valid(gateway)


def decision(protocol: str, flat: str, area: str, question: int, choice: str, *, snils: str,
             share: tuple[int, int] | None = None) -> dict:  # type: ignore[type-arg]
    kind = {"ShareProperty": True} if share else {"IndividualProperty": True}
    details = {"RegistrationNumber": f"77:02:0018004:21{flat}-77/001/2016-1", "RegistrationDate": date(2016, 3, 1),
               "PremisesNum": flat, "TotalArea": area, "PropertyType": kind,
               **({"ShareSize": {"Numerator": share[0], "Denumerator": share[1]}} if share else {})}
    return {"TransportGUID": str(uuid.uuid4()), "ProtocolGUID": protocol, "Decision": {
        "Owner": {"OwnerInd": {"Surname": "Собственник", "FirstName": flat, "SNILS": snils}},
        "PropertyDetails": [details], "QuestionOnDecision": {"QuestionNumber": question, choice: True},
        "DecisionAttachments": [{"Name": f"Бюллетень кв {flat}.pdf", "Description": "Решение собственника",
                                 "Attachment": {"AttachmentGUID": str(uuid.uuid4())},
                                 "AttachmentHASH": BALLOT_SHA256}]}}


def test_owners_decisions_make_the_count_and_a_failed_quorum_shows(  # type: ignore[no-untyped-def]
        server: EmbeddedServer, live_worker, pki, gateway: Gateway) -> None:
    mc = client(server, pki, MC)
    mc.import_and_wait("importHouseUOData", FIXTURES / "houses" / "sever-1.xml", timeout=30)
    # declared competent with 150 votes for each item: not more than half of 438.4
    result, _ = post(mc, "importVotingProtocol", protocol_request(mc, agree=("150", "150", "150")))
    protocol = result.objects[0].guid
    exported = export(mc, ProtocolGUID=[protocol]).VotingProtocol[0]
    assert exported.MeetingEligibility == "N" and {d.votingResume for d in exported.DecisionList} == {"N"}
    with gateway.engine.connect() as connection:
        flags = connection.execute(select(protocols.c.flags).where(protocols.c.guid == protocol)).scalar()
    assert flags.split(",")[0] == "quorum_contradicts"

    decisions = [decision(protocol, "1", "54.3", 1, "OwnerAgree", snils="11111111111"),
                 decision(protocol, "2", "41.7", 1, "OwnerAgainst", snils="22222222222", share=(1, 2)),
                 decision(protocol, "2", "41.7", 1, "OwnerAgree", snils="33333333333", share=(1, 2)),
                 decision(protocol, "2", "41.7", 1, "OwnerAgree", snils="44444444444", share=(1, 2)),  # 3/2 of it
                 decision(protocol, "99", "10", 1, "OwnerAgree", snils="55555555555")]
    request = {"OwnerDecision": decisions, "Id": "signed-data-container", "version": "15.10.0.1"}
    recorded, _ = post(mc, "importOwnerDecision", request)
    assert codes(recorded) == [None, None, None, "SRV004002", "SRV001008"]
    counted = {d.QuestionNumber: d for d in export(mc, ProtocolGUID=[protocol]).VotingProtocol[0].DecisionList}
    assert (counted[1].Agree, counted[1].Against, counted[1].Abstent) == \
        (Decimal("75.15"), Decimal("20.85"), Decimal("0"))  # 54.3 + 20.85 for, 20.85 against
    # the first owner changes her mind: the earlier decision is superseded, not added to
    changed = copy.deepcopy(decisions[0])
    changed["TransportGUID"] = str(uuid.uuid4())
    changed["Decision"]["QuestionOnDecision"] = {"QuestionNumber": 1, "OwnerAbstent": True}
    recorded, _ = post(mc, "importOwnerDecision", {**request, "OwnerDecision": [changed]})
    assert codes(recorded) == [None]
    counted = {d.QuestionNumber: d for d in export(mc, ProtocolGUID=[protocol]).VotingProtocol[0].DecisionList}
    assert (counted[1].Agree, counted[1].Abstent) == (Decimal("20.85"), Decimal("54.3"))
    assert_results_are_schema_valid(gateway)


def notice_request(provider: GisClient, *, ends: str = "2026-12-21T20:00:00+03:00") -> dict:  # type: ignore[type-arg]
    root = parse_untrusted((FIXTURES / "oss" / "sever-1-evoting-notice.xml").read_bytes())
    root.find(f"{BASE}TransportGUID").text = str(uuid.uuid4())
    root.find(f".//{HM}EVotingDateEnd").text = ends
    request = provider.request_from_xml(root)
    request["VotingMessage"]["VoteInitiators"] = {}
    return request


def test_an_electronic_vote_is_announced_for_7_to_60_days_and_its_protocol_follows(  # type: ignore[no-untyped-def]
        server: EmbeddedServer, live_worker, pki, gateway: Gateway) -> None:
    mc = client(server, pki, MC)
    mc.import_and_wait("importHouseUOData", FIXTURES / "houses" / "sever-1.xml", timeout=30)
    announced, state = post(mc, "importVotingMessage", notice_request(mc))
    assert codes(announced) == [None]
    voting = state.ImportResult[0].CommonResult[0].importVotingInformation.VotingGUID
    short, _ = post(mc, "importVotingMessage", notice_request(mc, ends="2026-12-05T20:00:00+03:00"))
    long, _ = post(mc, "importVotingMessage", notice_request(mc, ends="2027-03-01T20:00:00+03:00"))
    assert codes(short) == ["SRV004004"] and codes(long) == ["SRV004004"]
    assert "lasts 7–60 days" in (short.objects[0].description or "")
    hoa = client(server, pki, HOA)
    outsider, _ = post(hoa, "importVotingMessage", notice_request(hoa))
    assert codes(outsider) == ["SRV002002"]
    # the protocol of the announced vote names its VotingGUID
    result, state = post(mc, "importVotingProtocol", protocol_request(mc, voting=voting))
    assert codes(result) == [None]
    assert state.ImportResult[0].CommonResult[0].importVotingInformation.VotingGUID == voting
    assert_results_are_schema_valid(gateway)
