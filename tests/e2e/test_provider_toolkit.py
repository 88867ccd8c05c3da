"""``gateway-provider push`` end to end: fixture CSV and XLSX files of every kind through a real gateway.

The real CLI (click, in-process) against the real server (EmbeddedServer over HTTP) and worker, on SQLite
and PostgreSQL; the management company pushes its contracts, houses, accounts, devices and readings from
the example files in fixtures/providers/, whose planted bad rows come back in the rejects file — each the
input row as it was, with the code the gateway or the local checks gave it.
"""

from __future__ import annotations

import csv
import shutil
from pathlib import Path

import pytest
from click.testing import CliRunner, Result
from cryptography.hazmat.primitives.serialization import Encoding
from openpyxl import load_workbook
from sqlalchemy import func, select, text

from gateway.bootstrap import Gateway
from gateway.registry.tables import accounts, houses, meter_readings, metering_devices
from gateway.signing import keys
from gateway.soap.server import EmbeddedServer
from gateway.xmlparse import parse_untrusted
from providers.cli import main
from providers.client import ProviderClient
from providers.polling import PollSchedule

ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = ROOT / "fixtures" / "providers"
MC = "6e5d4c3b-2a19-4087-b6a5-f4e3d2c1b0a9"
HOA = "0b7c9f3e-54a1-4c2d-9e8f-7a6b5c4d3e21"
FAST = PollSchedule(first=0.05, intervals=(0.05, 0.1, 0.2), give_up_after=60)

#: (kind, extra options, exit status, {input line: error code}) in the order a management company pushes
EXPECTED = [
    ("contracts", ["--send-valid"], 1, {3: "PRV001003"}),  # a malformed house GUID, caught locally
    ("houses", [], 1, {11: "SRV002002"}),  # a house another organisation manages
    ("accounts", ["--send-valid"], 1, {6: "SRV002002", 7: "PRV001004"}),  # a flat of the HOA's house; a long surname
    ("devices", ["--send-valid"], 1, {5: "PRV001008"}),  # a flat the house does not have
    ("readings", ["--send-valid"], 1, {7: "SRV003003", 8: "SRV003004", 9: "PRV001003"}),
]


def write_config(directory: Path, server: EmbeddedServer, pki, org: str = MC, *,  # type: ignore[no-untyped-def]
                 polling: PollSchedule = FAST, batch_size: int | None = None, max_in_flight: int = 100) -> Path:
    """provider.toml and the PEM files it names, as an organisation's IT person would set them up."""
    keys.write_pem(pki.by_org[org], directory / "keys" / "org.key", directory / "keys" / "org.pem")
    (directory / "keys" / "gateway.pem").write_bytes(
        pki.gateway.cert.public_bytes(Encoding.PEM))
    config = directory / "provider.toml"
    config.write_text(
        f'[gateway]\nurl = "{server.url}"\norg_guid = "{org}"\ngateway_cert = "keys/gateway.pem"\n'
        f"retries = 1\nbackoff = 0.05\nread_timeout = 30\n"
        f'[signing]\nkey = "keys/org.key"\ncert = "keys/org.pem"\n'
        f"[polling]\nfirst = {polling.first}\nintervals = {list(polling.intervals)}\n"
        f"give_up_after = {polling.give_up_after}\n"
        f'[push]\nnsi = ["{ROOT / "fixtures" / "nsi"}"]\nmax_in_flight = {max_in_flight}\n'
        + (f"batch_size = {batch_size}\n" if batch_size else ""), encoding="utf-8")
    return config


def push(config: Path, kind: str, file: Path, *options: str) -> Result:
    return CliRunner().invoke(main, ["push", kind, str(file), "--config", str(config), "--quiet", *options])


def rejects_of(file: Path) -> dict[int, tuple[list[str], str, str]]:
    """input line → (the row's cells as the rejects file holds them, error_code, error_message)."""
    rejects = file.with_name(f"{file.stem}.rejects{file.suffix}")
    if file.suffix == ".xlsx":
        rows = [["" if v is None else str(v) for v in row]
                for row in load_workbook(rejects, read_only=True).worksheets[0].iter_rows(values_only=True)]
    else:
        raw = rejects.read_bytes()
        encoding = "utf-8-sig" if raw.startswith(b"\xef\xbb\xbf") else \
            ("utf-8" if _utf8(raw) else "cp1251")
        assert encoding == _encoding_of(file), "the rejects file keeps the input's encoding"
        delimiter = ";" if raw.split(b"\r\n", 1)[0].count(b";") else ","
        rows = list(csv.reader(raw.decode(encoding).splitlines(), delimiter=delimiter))
    header, body = rows[0], rows[1:]
    assert header[-3:] == ["error_code", "error_message", "input_line"]
    return {int(row[-1]): (row[:-3], row[-3], row[-2]) for row in body}


def _utf8(raw: bytes) -> bool:
    try:
        raw.decode("utf-8")
        return True
    except UnicodeDecodeError:
        return False


def _encoding_of(file: Path) -> str:
    raw = file.read_bytes()
    return "utf-8-sig" if raw.startswith(b"\xef\xbb\xbf") else ("utf-8" if _utf8(raw) else "cp1251")


def input_rows(file: Path) -> dict[int, list[str]]:
    if file.suffix == ".xlsx":
        sheet = load_workbook(file, read_only=True).worksheets[0]
        return {n: ["" if v is None else str(v) for v in row]
                for n, row in enumerate(sheet.iter_rows(values_only=True), start=1)}
    raw = file.read_bytes()
    delimiter = ";" if raw.split(b"\r\n", 1)[0].count(b";") else ","
    return dict(enumerate(csv.reader(raw.decode(_encoding_of(file)).splitlines(), delimiter=delimiter), start=1))


def register_hoa_house(server: EmbeddedServer, pki) -> None:  # type: ignore[no-untyped-def]
    """The HOA registers its own house with the SDK's typed helper (the accounts file names one of its flats)."""
    hoa = ProviderClient(server.url, org_guid=HOA, key=pki.by_org[HOA].key, cert=pki.by_org[HOA].cert,
                         gateway_cert=pki.gateway.cert, polling=FAST)
    state = hoa.import_house(parse_untrusted((ROOT / "fixtures" / "houses" / "lipovaya-7.xml").read_bytes()))
    assert state.done and all(o.ok for o in state.objects)


def count(gateway: Gateway, table) -> int:  # type: ignore[no-untyped-def]
    with gateway.engine.connect() as connection:
        return int(connection.execute(select(func.count()).select_from(table)).scalar_one())


@pytest.mark.parametrize("extension", ["csv", "xlsx"])
def test_every_kind_pushed_from_a_billing_export_comes_back_with_its_planted_rejects(  # type: ignore[no-untyped-def]
        extension: str, server: EmbeddedServer, live_worker, gateway: Gateway, pki, tmp_path: Path) -> None:
    config = write_config(tmp_path, server, pki)
    register_hoa_house(server, pki)
    for kind, options, status, expected in EXPECTED:
        file = tmp_path / f"{kind}.{extension}"
        shutil.copy(EXAMPLES / file.name, file)

        result = push(config, kind, file, *options)

        assert result.exit_code == status, (kind, result.output)
        rejects = rejects_of(file)
        assert {line: code for line, (_, code, _) in rejects.items()} == expected, (kind, result.output)
        original = input_rows(file)
        for line, (cells, _, message) in rejects.items():
            assert cells == original[line][:len(cells)] and message, (kind, line)
    assert count(gateway, houses) == 3  # Severny-1 and -3 from the file, Lipovaya 7 by the HOA
    assert count(gateway, accounts) == 4
    assert count(gateway, metering_devices) == 4
    assert count(gateway, meter_readings) == 5


def test_a_file_failing_local_checks_sends_nothing_and_lists_every_bad_row(  # type: ignore[no-untyped-def]
        server: EmbeddedServer, gateway: Gateway, pki, tmp_path: Path) -> None:
    config = write_config(tmp_path, server, pki)
    file = tmp_path / "contracts.csv"
    shutil.copy(EXAMPLES / "contracts.csv", file)
    with gateway.engine.connect() as connection:
        before = connection.execute(text("SELECT count(*) FROM messages")).scalar()

    result = push(config, "contracts", file)

    assert result.exit_code == 2
    assert "contracts.csv:3: column fias_house_guid: PRV001003 not a GUID" in result.output
    assert "nothing was sent" in result.output
    with gateway.engine.connect() as connection:
        assert connection.execute(text("SELECT count(*) FROM messages")).scalar() == before
    assert {line: code for line, (_, code, _) in rejects_of(file).items()} == {3: "PRV001003"}


def test_status_and_export_show_what_the_registry_holds_in_the_push_layout(  # type: ignore[no-untyped-def]
        server: EmbeddedServer, live_worker, gateway: Gateway, pki, tmp_path: Path) -> None:
    config = write_config(tmp_path, server, pki)
    register_hoa_house(server, pki)
    for kind, options, _, _ in EXPECTED:
        shutil.copy(EXAMPLES / f"{kind}.csv", tmp_path / f"{kind}.csv")
        push(config, kind, tmp_path / f"{kind}.csv", *options)
    with gateway.engine.connect() as connection:
        last = connection.execute(text("SELECT guid FROM messages WHERE operation = 'importMeteringDeviceValues'"
                                       )).scalar_one()
    sever_1 = "b6b7d2a0-1c3e-4f5a-8b9c-0d1e2f3a4b5c"

    status = CliRunner().invoke(main, ["status", last, "--config", str(config)])
    exported = {kind: CliRunner().invoke(main, ["export", kind, "--fias", sever_1, "--config", str(config),
                                                "--delimiter", ","]) for kind in ("houses", "accounts", "devices",
                                                                                  "readings")}

    assert status.exit_code == 1  # processed, with the planted refusals
    assert f"{last} (device-metering): RequestState 3 processed" in status.output
    assert status.output.count("SRV003003") == 1 and status.output.count("accepted") == 5
    tables = {kind: list(csv.DictReader(result.output.splitlines())) for kind, result in exported.items()}
    assert all(result.exit_code == 0 for result in exported.values()), exported
    assert sorted(r["premises_number"] for r in tables["houses"]) == ["1", "2", "3", "4", "5", "6", "Н1"]
    assert {r["account_number"]: r["premises_guid"] != "" and len(r["unified_account_number"]) == 10
            for r in tables["accounts"]} == {"1001": True, "1002": True, "1003": True}
    assert sorted(r["device_number"] for r in tables["devices"]) == ["ХВ-1", "ХВ-2", "ХВ-3", "ЭЛ-ОДПУ-1"]
    readings = sorted((r["device_number"], r["date"], r["value"] or r["t1"]) for r in tables["readings"])
    assert readings == [("ХВ-1", "2026-09-25", "12.5"), ("ХВ-1", "2026-10-25", "14.5"),
                        ("ХВ-2", "2026-09-25", "11"), ("ХВ-3", "2026-09-25", "13.25"),
                        ("ЭЛ-ОДПУ-1", "2026-09-25", "1100")]
