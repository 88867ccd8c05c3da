"""Tables as billing programs and spreadsheets write them: CSV in any common encoding and delimiter, or XLSX.

CSV: UTF-8, UTF-8 with BOM (Excel's "CSV UTF-8") or cp1251 (Excel and 1C on Russian Windows), detected in
that order unless ``--encoding`` says; the delimiter is ``;`` (Russian Excel), ``,`` or a tab, read from
the header line unless ``--delimiter`` says. XLSX: openpyxl in read-only mode, rows streamed, cells as
typed values (dates, numbers). Line numbers are the file's own (CSV physical line of the record's start;
XLSX row number), so a message points where the person will look. A rejects file is written in the
input's own format: the same encoding, BOM and delimiter, or XLSX.
"""

from __future__ import annotations

import codecs
import csv
import hashlib
import io
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from providers.codes import Local, RowError

ENCODINGS = ("utf-8-sig", "utf-8", "cp1251")
DELIMITERS = (";", ",", "\t", "|")


@dataclass(frozen=True)
class Format:
    kind: str  # "csv" | "xlsx"
    encoding: str = "utf-8"  # csv: the codec; "utf-8-sig" writes the BOM back
    delimiter: str = ";"


@dataclass(frozen=True)
class Table:
    path: Path
    format: Format
    header: list[str]
    sha256: str

    def rows(self) -> Iterator[tuple[int, list[Any]]]:
        """(line, cells) for every non-blank data row; CSV cells are str, XLSX cells typed or None."""
        if self.format.kind == "xlsx":
            yield from _xlsx_rows(self.path)
        else:
            yield from _csv_rows(self.path, self.format)


def digest(path: Path) -> str:
    sha = hashlib.sha256()
    with path.open("rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            sha.update(block)
    return sha.hexdigest()


def open_table(path: Path, *, encoding: str | None = None, delimiter: str | None = None) -> Table:
    """The table's format and header; ``RowError`` (PRV000001) for an empty, unreadable or mis-encoded file."""
    if not path.is_file():
        raise RowError(Local.FILE_UNREADABLE, "no such file")
    if path.stat().st_size == 0:
        raise RowError(Local.FILE_UNREADABLE, "the file is empty: expected a header row and data rows")
    if path.suffix.lower() in (".xlsx", ".xlsm"):
        header = _xlsx_header(path)
        table = Table(path, Format("xlsx"), header, digest(path))
    else:
        data = path.read_bytes()
        chosen = _encoding(data, encoding)
        text = data.decode(chosen)
        first = next((line for line in text.splitlines() if line.strip()), "")
        if not first:
            raise RowError(Local.FILE_UNREADABLE, "the file has no header row")
        sep = delimiter or max(DELIMITERS, key=first.count)
        header = next(csv.reader([first], delimiter=sep))
        table = Table(path, Format("csv", chosen, sep), header, hashlib.sha256(data).hexdigest())
    cleaned = [str(h or "").strip().lower() for h in table.header]
    if not any(cleaned):
        raise RowError(Local.FILE_UNREADABLE, "the first row is empty: expected the column names", line=1)
    return Table(table.path, table.format, cleaned, table.sha256)


def _encoding(data: bytes, asked: str | None) -> str:
    if data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)) or b"\x00" in data[:4096]:
        raise RowError(Local.FILE_UNREADABLE, "the file is UTF-16: save it as CSV UTF-8 or CSV (cp1251)")
    if asked:
        try:
            codecs.lookup(asked)
        except LookupError:
            raise RowError(Local.FILE_UNREADABLE, f"unknown encoding {asked!r}") from None
        asked = "utf-8-sig" if asked.lower().replace("_", "-") in ("utf-8", "utf8") and \
            data.startswith(codecs.BOM_UTF8) else asked
        try:
            data.decode(asked)
        except UnicodeDecodeError as exc:
            line = data.count(b"\n", 0, exc.start) + 1
            raise RowError(Local.FILE_UNREADABLE, f"not {asked}: byte 0x{data[exc.start]:02x} cannot be decoded "
                                                  f"(try --encoding cp1251 or utf-8)", line=line) from None
        return asked
    if data.startswith(codecs.BOM_UTF8):
        return "utf-8-sig"
    try:
        data.decode("utf-8")
        return "utf-8"
    except UnicodeDecodeError:
        pass
    try:
        data.decode("cp1251")
        return "cp1251"
    except UnicodeDecodeError as exc:
        line = data.count(b"\n", 0, exc.start) + 1
        raise RowError(Local.FILE_UNREADABLE, "neither UTF-8 nor cp1251: pass --encoding", line=line) from None


def _csv_rows(path: Path, fmt: Format) -> Iterator[tuple[int, list[Any]]]:
    with path.open(encoding=fmt.encoding, newline="") as f:
        reader = csv.reader(f, delimiter=fmt.delimiter)
        header_seen = False
        line = 1
        for cells in reader:
            start, line = line, reader.line_num + 1
            if not any(c.strip() for c in cells):
                continue
            if not header_seen:
                header_seen = True
                continue
            yield start, cells


def _xlsx_header(path: Path) -> list[str]:
    from openpyxl import load_workbook

    try:
        book = load_workbook(path, read_only=True, data_only=True)
    except Exception as exc:  # noqa: BLE001 - openpyxl raises many kinds for a damaged file; all mean "unreadable"
        raise RowError(Local.FILE_UNREADABLE, f"not a readable XLSX workbook: {exc}") from None
    try:
        for row in book.worksheets[0].iter_rows(values_only=True):
            if any(v not in (None, "") for v in row):
                return [str(v) if v is not None else "" for v in row]
    finally:
        book.close()
    raise RowError(Local.FILE_UNREADABLE, "the first sheet is empty: expected a header row and data rows")


def _xlsx_rows(path: Path) -> Iterator[tuple[int, list[Any]]]:
    from openpyxl import load_workbook

    book = load_workbook(path, read_only=True, data_only=True)
    try:
        header_seen = False
        for number, row in enumerate(book.worksheets[0].iter_rows(values_only=True), start=1):
            if not any(v not in (None, "") for v in row):
                continue
            if not header_seen:
                header_seen = True
                continue
            yield number, list(row)
    finally:
        book.close()


class RejectsWriter:
    """The input's rows that failed, with ``error_code``, ``error_message`` and ``input_line`` appended, in the
    input's format (CSV: its encoding, BOM and delimiter; XLSX: a workbook, cells as they were)."""

    def __init__(self, table: Table, path: Path) -> None:
        self.table, self.path = table, path
        self.header = [*self._original_header(), "error_code", "error_message", "input_line"]
        self.count = 0
        self._rows: list[list[Any]] = []

    def _original_header(self) -> list[str]:
        if self.table.format.kind == "xlsx":
            return _xlsx_header(self.table.path)
        first = next(_csv_rows_with_header(self.table.path, self.table.format))
        return first

    def add(self, line: int, cells: Sequence[Any], code: str, message: str) -> None:
        width = len(self.header) - 3
        padded = list(cells)[:width] + [None] * max(0, width - len(cells))
        self._rows.append([*padded, code, message, line])
        self.count += 1

    def close(self) -> None:
        if self.table.format.kind == "xlsx":
            from openpyxl import Workbook

            book = Workbook(write_only=True)
            sheet = book.create_sheet("rejects")
            sheet.append(self.header)
            for row in self._rows:
                sheet.append(row)
            book.save(self.path)
            return
        buffer = io.StringIO()
        writer = csv.writer(buffer, delimiter=self.table.format.delimiter, lineterminator="\r\n")
        writer.writerow(self.header)
        for row in self._rows:
            writer.writerow(["" if v is None else v for v in row])
        self.path.write_bytes(buffer.getvalue().encode(self.table.format.encoding, errors="replace"))


def _csv_rows_with_header(path: Path, fmt: Format) -> Iterator[list[str]]:
    with path.open(encoding=fmt.encoding, newline="") as f:
        for cells in csv.reader(f, delimiter=fmt.delimiter):
            if any(c.strip() for c in cells):
                yield cells
