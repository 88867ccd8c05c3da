"""Setup shared by the benchmarks (not measured): authority over the houses they post."""

from __future__ import annotations

import copy
import gc
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path

from lxml import etree
from sqlalchemy import Connection, select, update

from gateway import ns, nsifile
from gateway.bootstrap import Gateway
from gateway.domain.authority import MandateKind
from gateway.domain.provenance import Provenance
from gateway.domain.values import Guid
from gateway.messages import archive, queue
from gateway.registry.tables import messages
from gateway.registry.unit_of_work import UnitOfWork
from gateway.services import contracts as contract_services
from gateway.soap import contracts_xml
from gateway.xmlparse import parse_untrusted

ROOT = Path(__file__).resolve().parent.parent
HM = "http://dom.gosuslugi.ru/schema/integration/house-management/"
BASE = "http://dom.gosuslugi.ru/schema/integration/base/"


@contextmanager
def settled_heap() -> Iterator[None]:
    """The garbage collector as `gateway worker` runs it once started (``gateway.cli.settle_heap``: what exists
    now is left out of later collections, young collections less often), for a benchmark whose worker runs in
    its own process; CPython's defaults again afterwards, so the next part's floors and baselines are measured
    as before. Left at the defaults, the in-process worker of the history benchmark spent 68, 80 and 12 ms of a
    1,000-reading message in the cyclic collector at depths 0, 100 and 1,000 in one run (``gc.callbacks``): full
    collections walking the set-up's objects, landing on whichever messages the rounds' repeating allocations
    made — in other runs on depth 1,000 (1.48×, 1.57× there, with 10× its authority checks' time in profiles)."""
    from gateway.cli import settle_heap

    assert gc.get_freeze_count() == 0, "settled_heap does not nest: it unfreezes everything when it ends"
    thresholds = gc.get_threshold()
    settle_heap()
    try:
        yield
    finally:
        gc.unfreeze()
        gc.set_threshold(*thresholds)


#: what the benchmarks set up outside any message (organisations, certificates, NSI)
BENCH_SETUP = Provenance.of_operator("bench", "benchmark set-up", role="operator")


def setup_message(gateway: Gateway, org: Guid) -> Guid:
    """The message the setup's registry writes cite; stored as already done (its result archived like any
    worker's, so `gateway archive verify` finds the chain whole), so no worker claims it."""
    now = datetime.now(UTC)
    with gateway.unit_of_work() as uow:
        guid, _ = queue.accept(uow.connection, org=org, requester_message_guid=Guid.new(), service="setup",
                               operation="setup", request=b"<setup/>", payload=b"<setup/>", now=now)
        uow.connection.execute(update(messages).where(messages.c.guid == str(guid)).values(
            state="done", processed_at=now, result=b"<setup/>"))
        archive.append(uow.connection, guid, "result", b"<setup/>", at=now)
        uow.commit()
    return guid


def setup_unit_of_work(gateway: Gateway, org: Guid) -> UnitOfWork:
    """A unit of work whose writes are those of a (set-up) message of ``org``."""
    return gateway.unit_of_work(Provenance.of_message(setup_message(gateway, org), org))


def grant(gateway: Gateway, org: Guid, houses: list[str]) -> None:
    """A management contract of ``org`` for ``houses`` (FIAS GUIDs), placed through the contract service,
    with the fixture reference directories the contract and the houses name."""
    nsifile.load(gateway.unit_of_work(BENCH_SETUP), [ROOT / "fixtures" / "nsi"], datetime.now(UTC))
    root = parse_untrusted((ROOT / "fixtures" / "contracts" / "sever-management.xml").read_bytes())
    placing = root.find(f".//{{{HM}}}PlacingContract")
    template = placing.find(f"{{{HM}}}ContractObject")
    for old in placing.findall(f"{{{HM}}}ContractObject"):
        placing.remove(old)
    for fias in houses:
        managed = copy.deepcopy(template)
        managed.find(f"{{{HM}}}FIASHouseGuid").text = fias
        placing.append(managed)
    for transport in root.iter(f"{{{BASE}}}TransportGUID"):
        transport.text = str(uuid.uuid4())
    with setup_unit_of_work(gateway, org) as uow:
        sender = uow.organisations.get(org)
        assert sender is not None and uow.provenance is not None and uow.provenance.message is not None
        results = contract_services.import_documents(uow, sender, MandateKind.CONTRACT,
                                                     contracts_xml.decode_import_contracts(root),
                                                     message=uow.provenance.message, now=datetime.now(UTC))
        assert all(r.result.ok for r in results), results
        uow.commit()


def fias_of(body: etree._Element) -> str:
    return str(body.findtext(f".//{{{HM}}}FIASHouseGuid"))


def house_body(premises: int | None) -> etree._Element:
    root = parse_untrusted((ROOT / "fixtures" / "houses" / "sever-1.xml").read_bytes())
    root.find(f".//{{{ns.HM}}}FIASHouseGuid").text = str(uuid.uuid4())
    for tg in root.iter(f"{{{ns.BASE}}}TransportGUID"):
        tg.text = str(uuid.uuid4())
    if premises is not None:
        apartment = root.find(f"{{{ns.HM}}}ApartmentHouse")
        template = apartment.find(f"{{{ns.HM}}}ResidentialPremises")
        for old in apartment.findall(f"{{{ns.HM}}}ResidentialPremises"):
            apartment.remove(old)
        for n in range(1, premises + 1):
            item = copy.deepcopy(template)
            create = item[0]
            create.find(f"{{{ns.HM}}}CadastralNumber").text = f"77:02:0018004:{10000 + n}"
            create.find(f"{{{ns.HM}}}PremisesNum").text = str(n)
            create.find(f"{{{ns.BASE}}}TransportGUID").text = str(uuid.uuid4())
            apartment.append(item)
    return root


def answered_with_errors(connection: Connection, operation: str) -> int:
    """How many stored results of ``operation`` carry an error (a benchmark of refusals proves nothing).

    Read in Python: SQL's LIKE does not match inside a BLOB on SQLite (it compares a blob with text), which
    made this check pass whatever the answers were."""
    rows = connection.execute(select(messages.c.result).where(messages.c.operation == operation,
                                                              messages.c.result.is_not(None)))
    return sum(1 for (result,) in rows if b"ErrorCode" in bytes(result))
