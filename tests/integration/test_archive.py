"""The archive's hash chain detects any altered or removed entry (`gateway archive verify`)."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner
from sqlalchemy import Engine, delete, select, update

from gateway.bootstrap import Gateway
from gateway.domain.values import Guid
from gateway.messages import archive, queue
from gateway.registry.tables import archive as archive_table
from gateway.registry.tables import messages
from gateway.registry.unit_of_work import UnitOfWork
from tests.conftest import SEED_MESSAGES

HOUSES = Path(__file__).resolve().parents[2] / "fixtures" / "houses"
MC = Guid("6e5d4c3b-2a19-4087-b6a5-f4e3d2c1b0a9")


def _accept(engine: Engine, name: str, requester: Guid | None = None) -> Guid:
    from datetime import UTC, datetime

    body = (HOUSES / name).read_bytes()
    with UnitOfWork(engine) as uow:
        guid, _ = queue.accept(uow.connection, org=MC, requester_message_guid=requester or Guid.new(),
                               service="HouseManagementServiceAsync", operation="importHouseUOData",
                               request=b"<envelope>" + body + b"</envelope>", payload=body, now=datetime.now(UTC))
        uow.commit()
    return guid


#: archive entries of the fixture's contracts and charter (request and result each)
SEEDED = 2 * SEED_MESSAGES


@pytest.fixture
def filled(gateway: Gateway) -> Engine:
    """Two requests accepted and processed: four entries (request, result, request, result), after the
    fixture's contracts and charter (two entries each)."""
    _accept(gateway.engine, "sever-1.xml")
    _accept(gateway.engine, "lipovaya-7.xml")
    assert gateway.worker.drain() == 2
    return gateway.engine


def _verify(engine: Engine) -> archive.Report:
    with engine.connect() as connection:
        return archive.verify(connection)


def test_every_request_and_result_is_chained_and_the_chain_verifies(filled: Engine) -> None:
    report = _verify(filled)
    assert report.intact and report.entries == SEEDED + 4 and report.head != archive.GENESIS


def test_a_resend_adds_no_entry(filled: Engine) -> None:
    requester = Guid.new()
    _accept(filled, "sever-2.xml", requester)
    _accept(filled, "sever-2.xml", requester)
    assert _verify(filled).entries == SEEDED + 5


def test_a_flipped_byte_in_a_stored_request_is_detected(filled: Engine) -> None:
    with filled.begin() as connection:
        guid, request = connection.execute(select(messages.c.guid, messages.c.request).limit(1)).one()
        flipped = request[:20] + bytes([request[20] ^ 0x01]) + request[21:]
        connection.execute(update(messages).where(messages.c.guid == guid).values(request=flipped))
    problems = _verify(filled).problems
    assert [(p.message_guid, "do not match" in p.what) for p in problems] == [(guid, True)]


def test_an_altered_result_is_detected(filled: Engine) -> None:
    with filled.begin() as connection:
        guid = connection.execute(select(messages.c.guid).limit(1)).scalar()
        connection.execute(update(messages).where(messages.c.guid == guid).values(
            result=b"<forged answer/>"))
    assert any("result bytes do not match" in p.what for p in _verify(filled).problems)


def test_a_removed_entry_breaks_the_link_after_it(filled: Engine) -> None:
    with filled.begin() as connection:
        seqs = connection.execute(select(archive_table.c.seq).order_by(archive_table.c.seq)).scalars().all()
        connection.execute(delete(archive_table).where(archive_table.c.seq == seqs[1]))
    whats = [p.what for p in _verify(filled).problems]
    assert any("link broken" in w for w in whats) and any("no archive entry" in w for w in whats)


def test_removing_the_last_entry_is_detected_too(filled: Engine) -> None:
    with filled.begin() as connection:
        last = connection.execute(select(archive_table.c.seq).order_by(archive_table.c.seq.desc())).scalar()
        connection.execute(delete(archive_table).where(archive_table.c.seq == last))
    assert [p.what for p in _verify(filled).problems] == ["the result has no archive entry (entry removed)"]


def test_an_entry_rewritten_to_match_altered_bytes_still_breaks_the_chain(filled: Engine) -> None:
    import hashlib

    with filled.begin() as connection:
        seq, guid = connection.execute(select(archive_table.c.seq, archive_table.c.message_guid)
                                       .where(archive_table.c.kind == "request").limit(1)).one()
        forged = b"<forged/>"
        connection.execute(update(messages).where(messages.c.guid == guid).values(request=forged))
        connection.execute(update(archive_table).where(archive_table.c.seq == seq).values(
            sha256=hashlib.sha256(forged).hexdigest()))
    assert any("entry altered" in p.what for p in _verify(filled).problems)


def test_the_cli_reports_intact_and_broken_archives(filled: Engine, config) -> None:  # type: ignore[no-untyped-def]
    from gateway.cli import main

    env = {"GATEWAY_DATABASE__URL": config.database.url, "GATEWAY_DATABASE__SCHEMA": config.database.schema,
           "GATEWAY_LOGGING__LEVEL": "WARNING"}
    intact = CliRunner().invoke(main, ["archive", "verify"], env=env)
    assert intact.exit_code == 0 and f"archive intact: {SEEDED + 4} entries" in intact.output
    with filled.begin() as connection:
        connection.execute(update(messages).values(request=b"<x/>"))
    broken = CliRunner().invoke(main, ["archive", "verify"], env=env)
    assert broken.exit_code == 1 and "archive BROKEN" in broken.output


def test_an_entry_signed_under_a_power_chains_both_parties_as_the_verifier_recomputes(filled: Engine) -> None:
    """On PostgreSQL the database makes the chain value (one statement reads the last entry and inserts ours):
    it must be the value ``_chain`` recomputes, the delegated power's two fields included."""
    from datetime import UTC, datetime

    guid, signer, power = _accept(filled, "sever-2.xml"), Guid.new(), Guid.new()
    at = datetime(2026, 12, 2, 18, 0, 0, 123456, tzinfo=UTC)
    with filled.begin() as connection:
        prev = connection.execute(select(archive_table.c.chain).order_by(archive_table.c.seq.desc())).scalar()
        chain = archive.append(connection, guid, "result", b"<r/>", at=at, signed_by=signer, power=power)
    assert chain == archive._chain(prev, __import__("hashlib").sha256(b"<r/>").hexdigest(), "result", str(guid),
                                   at, str(signer), str(power))
    with filled.begin() as connection:
        connection.execute(update(messages).where(messages.c.guid == str(guid)).values(result=b"<r/>"))
    assert _verify(filled).intact


def test_concurrent_accepts_keep_one_unbroken_chain(filled: Engine) -> None:
    """Eight threads accepting at once: each entry links to the one before it (the append lock, then the read of
    the last entry in a statement of its own)."""
    from concurrent.futures import ThreadPoolExecutor

    with ThreadPoolExecutor(max_workers=8) as pool:
        list(pool.map(lambda n: _accept(filled, "sever-2.xml"), range(24)))
    report = _verify(filled)
    assert report.intact and report.entries == SEEDED + 4 + 24
