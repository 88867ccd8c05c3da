"""GAR (FIAS) region folder reader: houses, apartments, their parameters and hierarchies, streamed.

A GAR full or delta extract (``gar_xml.zip`` / ``gar_delta_xml.zip`` of fias.nalog.ru) holds one folder per
region, ``77/AS_HOUSES_20261002_<uuid>.XML`` and so on, beside shared dictionaries and ``version.txt`` at the
root. ``GarRegion(folder)`` reads one region folder; every iterator streams every file of its kind.

File names are matched exactly: ``AS_<TABLE>_<YYYYMMDD>_<uuid>.XML`` (extension in any case), the table
one of GAR's. ``AS_HOUSES_`` also prefixes ``AS_HOUSES_PARAMS_``: the table is the whole run of letters and
underscores before the date, so the two never mix. Files of GAR tables this reader does not read (steads,
car places, rooms, change history, normative documents…) are listed as ``skipped``. A file that is not a
GAR file at all is an *unknown file*: a ``SourceError`` by default (a region folder holding something else
is not the extract one thinks it is), or, with ``strict=False``, a ``RecordIssue`` and the file ignored.

``validate=True`` checks every row against the vendored official XSD as it streams (see ``schemas``); a
row that fails is a ``RecordIssue`` (``SYN001007``) and is not yielded.
"""

from __future__ import annotations

import itertools
import re
from collections.abc import Callable, Collection, Iterator, Mapping
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path
from typing import Any, TypeVar

from lxml import etree

from gateway.errors import Code
from gateway.sync.sources import gar_records as r
from gateway.sync.sources import schemas
from gateway.sync.sources.base import DEFAULT_ISSUE_LIMIT, Source, SourceError
from gateway.sync.sources.values import BadValue
from gateway.sync.sources.xmlstream import iterate, peek, release

_NAME = re.compile(
    r"AS_(?P<table>[A-Z]+(?:_[A-Z]+)*)_(?P<date>[0-9]{8})_"
    r"(?P<uuid>[0-9A-Fa-f]{8}-?(?:[0-9A-Fa-f]{4}-?){3}[0-9A-Fa-f]{12})\.[Xx][Mm][Ll]")

#: Every table of the GAR XML distribution (region folders and the shared dictionaries at the root).
GAR_TABLES = frozenset({
    "ADDR_OBJ", "ADDR_OBJ_DIVISION", "ADDR_OBJ_PARAMS", "ADDR_OBJ_TYPES", "ADDHOUSE_TYPES", "ADM_HIERARCHY",
    "APARTMENTS", "APARTMENTS_PARAMS", "APARTMENT_TYPES", "CARPLACES", "CARPLACES_PARAMS", "CHANGE_HISTORY",
    "HOUSES", "HOUSES_PARAMS", "HOUSE_TYPES", "MUN_HIERARCHY", "NORMATIVE_DOCS", "NORMATIVE_DOCS_KINDS",
    "NORMATIVE_DOCS_TYPES", "OBJECT_LEVELS", "OPERATION_TYPES", "PARAM_TYPES", "REESTR_OBJECTS", "ROOMS",
    "ROOMS_PARAMS", "ROOM_TYPES", "STEADS", "STEADS_PARAMS",
})

#: Names beside the data files that are part of the distribution.
VERSION_FILE = "version.txt"

R = TypeVar("R")
RowParser = Callable[[Mapping[str, str], str, "int | None"], Any]


@dataclass(frozen=True)
class _Table:
    root: str
    row: str
    xsd: str
    parse: RowParser


_READ: dict[str, _Table] = {
    "HOUSES": _Table("HOUSES", "HOUSE", "AS_HOUSES_2_251_08_04_01_01.xsd", r.parse_house),
    "APARTMENTS": _Table("APARTMENTS", "APARTMENT", "AS_APARTMENTS_2_251_05_04_01_01.xsd", r.parse_apartment),
    "HOUSES_PARAMS": _Table("PARAMS", "PARAM", "AS_PARAM_2_251_02_04_01_01.xsd",
                            lambda a, f, n: r.parse_param("house", a, f, n)),
    "APARTMENTS_PARAMS": _Table("PARAMS", "PARAM", "AS_PARAM_2_251_02_04_01_01.xsd",
                                lambda a, f, n: r.parse_param("apartment", a, f, n)),
    "ADM_HIERARCHY": _Table("ITEMS", "ITEM", "AS_ADM_HIERARCHY_2_251_04_04_01_01.xsd",
                            lambda a, f, n: r.parse_hierarchy("adm", a, f, n)),
    "MUN_HIERARCHY": _Table("ITEMS", "ITEM", "AS_MUN_HIERARCHY_2_251_10_04_01_01.xsd",
                            lambda a, f, n: r.parse_hierarchy("mun", a, f, n)),
    "ADDR_OBJ": _Table("ADDRESSOBJECTS", "OBJECT", "AS_ADDR_OBJ_2_251_01_04_01_01.xsd", r.parse_address_object),
    "REESTR_OBJECTS": _Table("REESTR_OBJECTS", "OBJECT", "AS_REESTR_OBJECTS_2_251_22_04_01_01.xsd",
                             r.parse_registry_object),
}

#: The tables this reader reads.
READ_TABLES = frozenset(_READ)


@dataclass(frozen=True)
class GarFile:
    """A data file of the folder, by its name: table, issue date and GUID."""

    path: Path
    table: str
    issued: date
    uuid: str

    @property
    def name(self) -> str:
        return self.path.name


def classify(name: str) -> tuple[str, date, str] | None:
    """``(table, issue date, uuid)`` of a GAR data file name, or None if the name is not one."""
    match = _NAME.fullmatch(name)
    if match is None or match["table"] not in GAR_TABLES:
        return None
    try:
        issued = datetime.strptime(match["date"], "%Y%m%d").date()
    except ValueError:
        return None
    return match["table"], issued, match["uuid"].lower()


class GarRegion(Source):
    """One region folder of a GAR XML extract (full or delta)."""

    name = "gar"

    def __init__(self, folder: str | Path, *, strict: bool = True, validate: bool = False,
                 issue_limit: int = DEFAULT_ISSUE_LIMIT) -> None:
        super().__init__(issue_limit=issue_limit)
        self.folder = Path(folder)
        self.validate = validate
        if not self.folder.is_dir():
            raise SourceError("not a GAR region folder (no such directory)", code=Code.SOURCE_UNREADABLE,
                              file=self.folder)
        self.region = self.folder.name if re.fullmatch(r"[0-9]{2}", self.folder.name) else None
        self._files: dict[str, list[GarFile]] = {table: [] for table in _READ}
        self.skipped: list[GarFile] = []
        self.unknown: list[str] = []
        self._version_file: Path | None = None
        self._scan(strict)

    def _scan(self, strict: bool) -> None:
        try:
            entries = sorted(self.folder.iterdir(), key=lambda p: p.name)
        except OSError as exc:
            raise SourceError(f"cannot list the folder: {exc.strerror or exc}", code=Code.SOURCE_UNREADABLE,
                              file=self.folder) from None
        for entry in entries:
            if entry.name == VERSION_FILE and entry.is_file():
                self._version_file = entry
                continue
            known = classify(entry.name) if entry.is_file() else None
            if known is None:
                self._unknown(entry, strict)
                continue
            gar_file = GarFile(entry, *known)
            (self._files[gar_file.table] if gar_file.table in _READ else self.skipped).append(gar_file)
        parent_version = self.folder.parent / VERSION_FILE
        if self._version_file is None and parent_version.is_file():
            self._version_file = parent_version

    def _unknown(self, entry: Path, strict: bool) -> None:
        what = "a folder" if entry.is_dir() else "a file"
        message = (f"{what} that is not a GAR data file (expected AS_<TABLE>_<YYYYMMDD>_<uuid>.XML of a GAR "
                   "table, or version.txt)")
        if strict:
            raise SourceError(message, code=Code.SOURCE_UNKNOWN_FILE, file=self._label(entry))
        self.unknown.append(entry.name)
        self.issues.report(self._label(entry), None, message, code=Code.SOURCE_UNKNOWN_FILE)

    def _label(self, path: Path) -> str:
        return f"{self.folder.name}/{path.name}"

    def files(self, table: str) -> list[GarFile]:
        """The folder's files of a table this reader reads (``"HOUSES"``, ``"APARTMENTS_PARAMS"``…)."""
        return list(self._files[table])

    # -- one iterator per kind ----------------------------------------------------------------------

    def houses(self) -> Iterator[r.GarHouse]:
        return self._stream("HOUSES")

    def apartments(self) -> Iterator[r.GarApartment]:
        return self._stream("APARTMENTS")

    def house_params(self, types: Collection[int] | None = None) -> Iterator[r.GarParam]:
        """House parameters, only of the given TYPEIDs if any (8 cadastral number, 7 OKTMO…)."""
        return self._stream("HOUSES_PARAMS", _type_filter(types))

    def apartment_params(self, types: Collection[int] | None = None) -> Iterator[r.GarParam]:
        return self._stream("APARTMENTS_PARAMS", _type_filter(types))

    def adm_hierarchy(self) -> Iterator[r.GarHierarchyItem]:
        return self._stream("ADM_HIERARCHY")

    def mun_hierarchy(self) -> Iterator[r.GarHierarchyItem]:
        return self._stream("MUN_HIERARCHY")

    def hierarchy(self) -> Iterator[r.GarHierarchyItem]:
        """Both hierarchies, administrative first; ``item.hierarchy`` tells them apart."""
        return itertools.chain(self.adm_hierarchy(), self.mun_hierarchy())

    def address_objects(self) -> Iterator[r.GarAddressObject]:
        return self._stream("ADDR_OBJ")

    def registry_objects(self) -> Iterator[r.GarRegistryObject]:
        return self._stream("REESTR_OBJECTS")

    def records(self) -> Iterator[object]:
        return itertools.chain(self.houses(), self.apartments(), self.house_params(), self.apartment_params(),
                               self.hierarchy(), self.address_objects(), self.registry_objects())

    # -- the run record -----------------------------------------------------------------------------

    @property
    def version(self) -> str:
        """``version.txt`` of the extract (first line), else the latest issue date of the files' names."""
        if self._version_file is not None:
            try:
                first = self._version_file.read_text(encoding="utf-8", errors="replace").strip().splitlines()
            except OSError:
                first = []
            if first and first[0].strip():
                return first[0].strip()[:100]
        dates = [f.issued for files in self._files.values() for f in files] + [f.issued for f in self.skipped]
        return max(dates).strftime("%Y%m%d") if dates else "empty"

    def describe(self) -> dict[str, object]:
        return {
            "name": self.name, "version": self.version, "path": str(self.folder), "region": self.region,
            "validate": self.validate,
            "files": [{"name": f.name, "table": f.table, "issued": f.issued.isoformat(), "bytes": _size(f.path)}
                      for table in _READ for f in self._files[table]],
            "skipped": [f.name for f in self.skipped], "unknown": list(self.unknown),
            "issues": self.issues.summary(),
        }

    # -- streaming ----------------------------------------------------------------------------------

    def _stream(self, table: str, keep: Callable[[Any], bool] | None = None) -> Iterator[Any]:
        spec = _READ[table]
        for gar_file in self._files[table]:
            label = self._label(gar_file.path)
            root = peek(gar_file.path, label, 1)[0]
            if root.localname != spec.root or root.namespace is not None:
                raise SourceError(f"its root element is {root.text}, but AS_{table} files hold {spec.root}",
                                  code=Code.SOURCE_UNKNOWN_FILE, file=label, line=1)
            if self.validate:
                yield from self._validated_rows(gar_file.path, label, spec, keep)
            else:
                yield from self._rows(gar_file.path, label, spec, keep)

    def _rows(self, path: Path, label: str, spec: _Table, keep: Callable[[Any], bool] | None) -> Iterator[Any]:
        for _event, element in iterate(path, label, tag=spec.row):
            record = self._parse(element, label, spec, keep)
            release(element)
            if record is not None:
                yield record

    def _validated_rows(self, path: Path, label: str, spec: _Table,
                        keep: Callable[[Any], bool] | None) -> Iterator[Any]:
        schema = schemas.gar_schema(spec.xsd)
        batch = etree.Element(spec.root)
        for _event, element in iterate(path, label, tag=spec.row):
            batch.append(element)  # moved out of the parsed tree: the tree stays empty, the batch small
            if len(batch) >= schemas.BATCH_SIZE:
                yield from self._check_batch(batch, schema, label, spec, keep)
        if len(batch):
            yield from self._check_batch(batch, schema, label, spec, keep)

    def _check_batch(self, batch: Any, schema: schemas.CompiledSchema, label: str, spec: _Table,
                     keep: Callable[[Any], bool] | None) -> Iterator[Any]:
        errors = schema.errors_by_line(batch)
        if None in errors:
            self.issues.report(label, None, f"does not conform to the GAR schema: {errors[None]}",
                               code=Code.SOURCE_SCHEMA_INVALID)
        records = []
        for element in batch:
            line = element.sourceline
            if line in errors:
                self.issues.report(label, line, f"does not conform to the GAR schema: {errors[line]}",
                                   code=Code.SOURCE_SCHEMA_INVALID)
                continue
            record = self._parse(element, label, spec, keep)
            if record is not None:
                records.append(record)
        for element in list(batch):
            batch.remove(element)
        yield from records

    def _parse(self, element: Any, label: str, spec: _Table, keep: Callable[[Any], bool] | None) -> Any:
        attributes = element.attrib
        if keep is not None and not keep(attributes):
            return None
        try:
            return spec.parse(attributes, label, element.sourceline)
        except BadValue as exc:
            self.issues.report(label, element.sourceline, f"{spec.row} skipped: {exc}")
            return None


def _type_filter(types: Collection[int] | None) -> Callable[[Any], bool] | None:
    if types is None:
        return None
    wanted = {str(t) for t in types}
    numbers = set(types)

    def keep(attributes: Any) -> bool:
        raw = attributes.get("TYPEID")
        if raw in wanted:
            return True
        text = (raw or "").strip()
        if text.isascii() and text.isdigit():
            return int(text) in numbers
        return True  # not a number: let the parser report the row

    return keep


def _size(path: Path) -> int | None:
    try:
        return path.stat().st_size
    except OSError:
        return None


def gar_regions(root: str | Path, **options: Any) -> list[GarRegion]:
    """The region folders (``01``…``99``) of an unpacked GAR extract, one reader each."""
    base = Path(root)
    if not base.is_dir():
        raise SourceError("not a GAR extract folder (no such directory)", code=Code.SOURCE_UNREADABLE, file=base)
    return [GarRegion(p, **options) for p in sorted(base.iterdir()) if p.is_dir() and re.fullmatch(r"[0-9]{2}", p.name)]
