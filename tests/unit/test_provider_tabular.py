"""Files as billing programs write them: encodings, delimiters, XLSX; bad files named by file, line and column.

The bad-input cases run the real ``gateway-provider push`` command: a file that fails local checks is refused
before any connection is attempted (the configured gateway address has nothing listening).
"""

from __future__ import annotations

import csv
from pathlib import Path

import pytest
from click.testing import CliRunner
from openpyxl import Workbook, load_workbook

from gateway.signing import keys
from providers.cli import main
from providers.codes import Local, RowError
from providers.tabular import RejectsWriter, open_table

ROOT = Path(__file__).resolve().parents[2]
HEADER = "device_root_guid;date;resource;value"
ROW = "2f6e1d0c-9b8a-4f6e-8d5c-4b3a2f1e0d9a;25.09.2026;1;12,5"


@pytest.mark.parametrize(("encoding", "bom", "delimiter"), [
    ("utf-8", False, ";"), ("utf-8", True, ";"), ("cp1251", False, ";"), ("utf-8", False, ","), ("cp1251", False, "\t"),
])
def test_encodings_and_delimiters_are_detected(tmp_path: Path, encoding: str, bom: bool, delimiter: str) -> None:
    file = tmp_path / "readings.csv"
    text = "номер;дата\r\nХВ-1;25.09.2026\r\n".replace(";", delimiter)
    file.write_bytes((b"\xef\xbb\xbf" if bom else b"") + text.encode(encoding))

    table = open_table(file)

    assert table.header == ["номер", "дата"]
    assert table.format.delimiter == delimiter
    assert table.format.encoding == ("utf-8-sig" if bom else encoding)
    assert list(table.rows()) == [(2, ["ХВ-1", "25.09.2026"])]


def test_a_quoted_cell_spanning_lines_keeps_the_line_where_its_row_starts(tmp_path: Path) -> None:
    file = tmp_path / "accounts.csv"
    file.write_text('a;b\r\n1;"two\r\nlines"\r\n3;4\r\n', encoding="utf-8")

    assert [line for line, _ in open_table(file).rows()] == [2, 4]


def test_a_rejects_file_keeps_the_inputs_encoding_bom_and_delimiter(tmp_path: Path) -> None:
    file = tmp_path / "devices.csv"
    file.write_bytes("номер;дом\r\nХВ-1;Северный\r\n".encode("cp1251"))
    table = open_table(file)
    writer = RejectsWriter(table, tmp_path / "devices.rejects.csv")

    writer.add(2, ["ХВ-1", "Северный"], "SRV003006", "номер уже занят")
    writer.close()

    written = (tmp_path / "devices.rejects.csv").read_bytes().decode("cp1251")
    assert list(csv.reader(written.splitlines(), delimiter=";")) == [
        ["номер", "дом", "error_code", "error_message", "input_line"], ["ХВ-1", "Северный", "SRV003006",
                                                                        "номер уже занят", "2"]]


def test_an_xlsx_is_read_with_typed_cells_and_its_rejects_are_an_xlsx(tmp_path: Path) -> None:
    from datetime import datetime

    file = tmp_path / "readings.xlsx"
    book = Workbook()
    book.active.append(["device_root_guid", "date", "value"])
    book.active.append(["2f6e1d0c-9b8a-4f6e-8d5c-4b3a2f1e0d9a", datetime(2026, 9, 25), 12.5])
    book.save(file)
    table = open_table(file)
    [(line, cells)] = list(table.rows())
    writer = RejectsWriter(table, tmp_path / "readings.rejects.xlsx")

    writer.add(line, cells, "SRV003003", "below the previous reading")
    writer.close()

    rows = list(load_workbook(tmp_path / "readings.rejects.xlsx").active.iter_rows(values_only=True))
    assert rows[1] == ("2f6e1d0c-9b8a-4f6e-8d5c-4b3a2f1e0d9a", datetime(2026, 9, 25), 12.5, "SRV003003",
                       "below the previous reading", 2)


@pytest.mark.parametrize(("content", "message"), [
    (b"", "the file is empty"),
    ("\ufeffa;b\r\n".encode("utf-16"), "UTF-16"),
    (b"\r\n  \r\n", "no header row"),
])
def test_an_unreadable_file_is_refused_with_the_file_level_code(tmp_path: Path, content: bytes, message: str) -> None:
    file = tmp_path / "x.csv"
    file.write_bytes(content)

    with pytest.raises(RowError, match=message) as refused:
        open_table(file)

    assert refused.value.code is Local.FILE_UNREADABLE


def _config(tmp_path: Path) -> Path:
    """A complete provider.toml whose gateway address has nothing listening (nothing may be sent)."""
    issued = keys.issue_test_certificate(keys.issue_test_ca(), org_name="УК", ogrn="1027700999017",
                                         inn="7709990015", algorithm="gost")
    keys.write_pem(issued, tmp_path / "org.key", tmp_path / "org.pem")
    (tmp_path / "gateway.pem").write_bytes((tmp_path / "org.pem").read_bytes())
    config = tmp_path / "provider.toml"
    config.write_text(f'[gateway]\nurl = "http://127.0.0.1:9"\norg_guid = "6e5d4c3b-2a19-4087-b6a5-f4e3d2c1b0a9"\n'
                      'gateway_cert = "gateway.pem"\nretries = 0\n[signing]\nkey = "org.key"\ncert = "org.pem"\n'
                      f'[push]\nnsi = ["{ROOT / "fixtures" / "nsi"}"]\n', encoding="utf-8")
    return config


@pytest.mark.parametrize(("lines", "options", "shown"), [
    (["device_root_guid;resource;value", ROW.rsplit(";", 3)[0] + ";1;12"], [],
     "readings.csv:1: PRV001001 the header lacks the column(s) date"),
    ([HEADER, ROW.replace("25.09.2026", "31.09.2026")], [],
     "readings.csv:2: column date: PRV001003 not a date: '31.09.2026' (YYYY-MM-DD or DD.MM.YYYY)"),
    ([HEADER, ROW, ROW.replace(";1;", ";77;")], [],
     "readings.csv:3: column resource: PRV001007 code '77' is not in NSI 2"),
    ([HEADER, ROW.replace("12,5", "1" * 8 + "x")], [], "readings.csv:2: column value: PRV001003 not a number"),
    ([HEADER], [], "readings.csv: PRV000001 no data rows under the header"),
    ([HEADER, ROW], ["--encoding", "ascii"], "readings.csv:1: PRV000001 not ascii"),
])
def test_bad_input_is_named_by_file_line_and_column_and_nothing_is_sent(  # type: ignore[no-untyped-def]
        tmp_path: Path, lines: list[str], options: list[str], shown: str) -> None:
    file = tmp_path / "readings.csv"
    text = "\r\n".join(lines) + "\r\n"
    file.write_bytes(("дата;" + text if "ascii" in options else text).encode("utf-8"))

    result = CliRunner().invoke(main, ["push", "readings", str(file), "--config", str(_config(tmp_path)), *options])

    assert result.exit_code == 2, result.output
    assert shown in result.output
    assert "unreachable" not in result.output  # refused before any connection


def test_a_row_over_a_fields_length_is_named_and_kept_in_the_rejects_file(tmp_path: Path) -> None:
    file = tmp_path / "accounts.csv"
    file.write_bytes("account_number,account_type,fias_house_guid,premises_guid,surname,first_name\r\n"
                     f"{'1' * 31},uo,b6b7d2a0-1c3e-4f5a-8b9c-0d1e2f3a4b5c,,Иванов,Иван\r\n".encode("cp1251"))

    result = CliRunner().invoke(main, ["push", "accounts", str(file), "--config", str(_config(tmp_path))])

    assert result.exit_code == 2
    assert "accounts.csv:2: column account_number: PRV001004 31 characters, at most 30 allowed" in result.output
    rejects = list(csv.reader((tmp_path / "accounts.rejects.csv").read_bytes().decode("cp1251").splitlines()))
    assert rejects[1][-3:] == ["PRV001004", "account_number: 31 characters, at most 30 allowed", "2"]


def test_a_config_without_the_pinned_gateway_certificate_does_not_run(tmp_path: Path) -> None:
    config = _config(tmp_path)
    config.write_text(config.read_text().replace('gateway_cert = "gateway.pem"\n', ""))
    (tmp_path / "readings.csv").write_text(HEADER + "\r\n" + ROW + "\r\n")

    result = CliRunner().invoke(main, ["push", "readings", str(tmp_path / "readings.csv"), "--config", str(config)])

    assert result.exit_code == 2 and "gateway_cert is required" in result.output
