"""A push survives a real SIGKILL, an unreachable gateway and a crash between send and Ack: ``--resume`` finishes
it with every reading in the registry exactly once.

The push runs as its own process (``gateway-provider push``); the test watches the journal file and kills the
process once a batch is done but others are not, then resumes. Readings are counted in the registry: a batch
sent twice under new MessageGUIDs would leave superseded rows, so "exactly once" is visible there.
"""

from __future__ import annotations

import signal
import sqlite3
import subprocess
import sys
import time
from datetime import date
from decimal import Decimal
from pathlib import Path

from click.testing import CliRunner
from sqlalchemy import func, select, text

from gateway.bootstrap import Gateway
from gateway.registry.tables import messages, meter_readings
from gateway.soap.server import EmbeddedServer
from gateway.xmlparse import parse_untrusted
from providers import journal as journal_mod
from providers.cli import main
from providers.client import ProviderClient
from providers.polling import PollSchedule
from providers.records import Account, AccountType, Device, DeviceKind, NsiRef, Person
from tests.e2e.test_provider_toolkit import FAST, MC, ROOT, write_config

SEVER_1 = "b6b7d2a0-1c3e-4f5a-8b9c-0d1e2f3a4b5c"
COLD_WATER = NsiRef("1", "2e6a8a2c-1b0d-4b4e-9e3a-6b7c8d9e0f1a")
MONTHS = range(2, 12)  # February to November 2026: after commissioning, not in the future
SLOW = PollSchedule(first=0.3, intervals=(0.3,), give_up_after=60)


def water_meters(server: EmbeddedServer, pki) -> list[str]:  # type: ignore[no-untyped-def]
    """Severny-1 with an account and a cold-water meter in each of its six flats, through the typed SDK."""
    mc = ProviderClient(server.url, org_guid=MC, key=pki.by_org[MC].key, cert=pki.by_org[MC].cert,
                        gateway_cert=pki.gateway.cert, polling=FAST)
    mc.import_house(parse_untrusted((ROOT / "fixtures" / "houses" / "sever-1.xml").read_bytes()))
    flats = {str(p.PremisesNum): p.PremisesGUID for p in mc.export_house(SEVER_1).ApartmentHouse.ResidentialPremises}
    opened = mc.import_accounts([Account(AccountType.UO, Person("Жилец", f"Квартира {n}"), premises_guid=guid,
                                         account_number=f"10{n}") for n, guid in sorted(flats.items())])
    devices = [Device(f"ХВ-{n}", DeviceKind.RESIDENTIAL, date(2026, 1, 15), resources=((COLD_WATER, Decimal(10)),),
                      premises_guids=(flats[n],), account_guids=(account.guid or "",))
               for n, account in zip(sorted(flats), opened.objects, strict=True)]
    registered = mc.import_devices(SEVER_1, devices)
    assert all(o.ok for o in registered.objects), registered
    return [o.extra["MeteringDeviceGUID"] for o in registered.objects]


def readings_file(path: Path, roots: list[str]) -> int:
    """One reading per meter per month, month by month (so each batch of six is one month)."""
    lines = ["device_root_guid;date;resource;value"]
    for month in MONTHS:
        lines += [f"{root};25.{month:02d}.2026;1;{10 + month},{n}" for n, root in enumerate(roots)]
    path.write_text("\r\n".join(lines) + "\r\n", encoding="utf-8")
    return len(lines) - 1


def journal_states(path: Path) -> dict[str, int]:
    if not path.exists():
        return {}
    with sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=5) as db:
        try:
            return dict(db.execute("SELECT state, count(*) FROM batches GROUP BY state").fetchall())
        except sqlite3.OperationalError:  # the tables are being created
            return {}


def cli() -> list[str]:
    script = Path(sys.executable).with_name("gateway-provider")
    return [str(script)] if script.exists() else [sys.executable, "-m", "providers.cli"]


def kept_readings(gateway: Gateway) -> tuple[int, int]:
    with gateway.engine.connect() as connection:
        rows = connection.execute(select(func.count()).select_from(meter_readings)).scalar_one()
        distinct = connection.execute(select(func.count(meter_readings.c.transport_guid.distinct()))).scalar_one()
    return rows, distinct


def test_a_push_killed_mid_way_resumes_with_no_duplicate_and_no_lost_reading(  # type: ignore[no-untyped-def]
        server: EmbeddedServer, live_worker, gateway: Gateway, pki, tmp_path: Path) -> None:
    roots = water_meters(server, pki)
    file = tmp_path / "readings.csv"
    total = readings_file(file, roots)
    config = write_config(tmp_path, server, pki, polling=SLOW, batch_size=len(roots), max_in_flight=1)
    journal = journal_mod.path_for(file)
    batches = total // len(roots)

    process = subprocess.Popen([*cli(), "push", "readings", str(file), "--config", str(config), "--quiet"],
                               stdout=subprocess.PIPE, stderr=subprocess.STDOUT, cwd=ROOT)
    deadline = time.monotonic() + 120
    while True:  # wait on the journal's state: at least one batch done, the push not finished
        states = journal_states(journal)
        if states.get("done", 0) >= 2 and states.get("done", 0) < batches:
            process.send_signal(signal.SIGKILL)
            break
        assert process.poll() is None, process.communicate()[0].decode()
        assert time.monotonic() < deadline, states
        time.sleep(0.02)
    assert process.wait(timeout=30) == -signal.SIGKILL
    interrupted = journal_states(journal)
    assert 2 <= interrupted.get("done", 0) < batches
    before, _ = kept_readings(gateway)
    assert before < total

    resumed = CliRunner().invoke(main, ["push", "readings", str(file), "--config", str(config), "--quiet",
                                        "--resume"])

    assert resumed.exit_code == 0, resumed.output
    assert f"{total} row(s): {total} accepted, 0 rejected" in resumed.output
    assert kept_readings(gateway) == (total, total)  # each reading once, none superseded by a resend
    with gateway.engine.connect() as connection:
        sent = connection.execute(select(func.count()).select_from(messages).where(
            messages.c.operation == "importMeteringDeviceValues")).scalar_one()
    assert sent == batches  # every batch is one message: nothing went twice under a new MessageGUID
    assert not file.with_name("readings.rejects.csv").exists()


def test_a_batch_whose_send_was_interrupted_is_resent_byte_for_byte_under_its_message_guid(  # type: ignore[no-untyped-def]
        server: EmbeddedServer, live_worker, gateway: Gateway, pki, tmp_path: Path) -> None:
    roots = water_meters(server, pki)
    file = tmp_path / "readings.csv"
    total = readings_file(file, roots[:2])
    with socket_closed() as dead_port:
        unreachable = write_config(tmp_path, server, pki, batch_size=2)
        unreachable.write_text(unreachable.read_text().replace(server.url, f"http://127.0.0.1:{dead_port}"))
        first = CliRunner().invoke(main, ["push", "readings", str(file), "--config", str(unreachable), "--quiet"])
    assert first.exit_code == 2 and "unreachable" in first.output and "--resume" in first.output
    db = journal_mod.Journal(journal_mod.path_for(file))
    [signed] = db.batches("signed")
    db.close()
    config = write_config(tmp_path, server, pki, batch_size=2)

    resumed = CliRunner().invoke(main, ["push", "readings", str(file), "--config", str(config), "--quiet",
                                        "--resume"])

    assert resumed.exit_code == 0, resumed.output
    with gateway.engine.connect() as connection:
        stored = connection.execute(select(messages.c.request).where(
            messages.c.requester_message_guid == signed.message_guid)).scalar_one()
    assert bytes(stored) == signed.envelope  # the very bytes journaled before the first attempt
    assert kept_readings(gateway) == (total, total)


def test_a_crash_after_the_send_but_before_the_ack_was_journaled_gets_the_original_ack(  # type: ignore[no-untyped-def]
        server: EmbeddedServer, live_worker, gateway: Gateway, pki, tmp_path: Path) -> None:
    roots = water_meters(server, pki)
    file = tmp_path / "readings.csv"
    total = readings_file(file, roots[:1])
    config = write_config(tmp_path, server, pki, batch_size=5)
    done = CliRunner().invoke(main, ["push", "readings", str(file), "--config", str(config), "--quiet"])
    assert done.exit_code == 0, done.output
    # the journal as a crash right after the POST of batch 1 would have left it: signed, Ack not recorded
    with sqlite3.connect(journal_mod.path_for(file)) as db:
        db.execute("UPDATE batches SET state = 'signed', ack_guid = NULL WHERE seq = 1")
        db.execute("UPDATE rows SET state = 'pending' WHERE batch = 1")
        db.execute("UPDATE run SET finished_at = NULL")

    resumed = CliRunner().invoke(main, ["push", "readings", str(file), "--config", str(config), "--quiet",
                                        "--resume"])

    assert resumed.exit_code == 0, resumed.output
    assert kept_readings(gateway) == (total, total)
    with gateway.engine.connect() as connection:
        assert connection.execute(text("SELECT count(*) FROM messages WHERE operation = "
                                       "'importMeteringDeviceValues'")).scalar() == 2


class socket_closed:  # noqa: N801 - reads as a phrase in ``with``
    """A local port with nothing listening on it: connections are refused at once."""

    def __enter__(self) -> int:
        import socket

        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            self.port = int(probe.getsockname()[1])
        return self.port

    def __exit__(self, *exc: object) -> None:
        return None



def test_pushing_a_finished_file_again_reports_its_results_and_sends_nothing(  # type: ignore[no-untyped-def]
        server: EmbeddedServer, live_worker, gateway: Gateway, pki, tmp_path: Path) -> None:
    roots = water_meters(server, pki)
    file = tmp_path / "readings.csv"
    total = readings_file(file, roots[:1])
    config = write_config(tmp_path, server, pki)
    first = CliRunner().invoke(main, ["push", "readings", str(file), "--config", str(config), "--quiet"])
    assert first.exit_code == 0, first.output

    again = [CliRunner().invoke(main, ["push", "readings", str(file), "--config", str(config), "--quiet", *extra])
             for extra in ([], ["--resume"])]

    assert [r.exit_code for r in again] == [0, 0]
    assert all("pushed already" in r.output and f"{total} accepted" in r.output for r in again)
    assert kept_readings(gateway) == (total, total)
