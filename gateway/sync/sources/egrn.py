"""EGRN extract reader: Rosreestr's XML extracts about real-estate objects, one file or a folder, streamed.

Formats: the extract roots ``extract_about_property_<kind>`` and the short ``extract_base_params_<kind>``
(kind ``room``, ``build``, ``land``, ``construction``, ``under_construction``, ``car_parking_space``,
``property_complex``, ``unified_real_estate_complex``), no namespace, each holding one ``<kind>_record``
(``room_record``, ``build_record``…). The encoding is the one the file declares (real extracts come in
WINDOWS-1251 and in UTF-8; libxml2 decodes either). Rosreestr's XSDs are not available in any public copy
found, so element paths follow real samples and public parsers (see
``../shared/reference/registries-and-deadlines.md`` §2.2), and the reader cannot validate against a schema.
Paths not seen in a sample are looked for anywhere inside the record: ``build_cad_number``,
``prev_cad_number``/``new_cad_number`` (each holding a ``cad_number``) and ``readable_address``.

Bulk files: besides one extract per file, a file may hold many extracts under a wrapper root of any name
whose first child is an extract root (``<extracts><extract_base_params_room>…</…>…</extracts>``). The
synthetic generator writes that form; memory stays flat because each extract is released when it ends.
One extract root holding very many records would keep its (small) parsed records until it ends, since its
``status`` comes after them: bulk data belongs in the wrapper form.

Personal data are never read: right records (holders, shares), restrictions, deals and the recipient of
the extract are dropped, unread, when their element ends. A record whose cadastral number is missing or
malformed is skipped with a ``RecordIssue``; any other bad value (area, quarter, a parent's number, a date)
costs only that value (None) and one ``RecordIssue``: the object is still worth matching by its number.
"""

from __future__ import annotations

from collections.abc import Collection, Iterator
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from functools import lru_cache
from pathlib import Path
from typing import Any, NamedTuple

from gateway.errors import Code
from gateway.sync.sources import values as v
from gateway.sync.sources.base import DEFAULT_ISSUE_LIMIT, IssueLog, Source, SourceError, files_version
from gateway.sync.sources.xmlstream import iterate, peek, release, text

KINDS = ("room", "build", "land", "construction", "under_construction", "car_parking_space", "property_complex",
         "unified_real_estate_complex")
ROOTS = frozenset(f"{prefix}_{kind}" for prefix in ("extract_about_property", "extract_base_params") for kind in KINDS)
#: record element → kind
RECORDS = {"room_record": "room", "build_record": "build", "land_record": "land",
           "construction_record": "construction", "object_under_construction_record": "under_construction",
           "car_parking_space_record": "car_parking_space"}
#: siblings of the record that hold personal data: dropped unread
PERSONAL = frozenset({"right_records", "restrict_records", "deal_records", "recipient_statement",
                      "ownerless_right_records"})
_TAGS = tuple(ROOTS) + tuple(RECORDS) + tuple(PERSONAL) + ("date_formation", "registration_number", "status")

PURPOSE_RESIDENTIAL = "206002000000"  # Жилое (помещение)
PURPOSE_NON_RESIDENTIAL = "206001000000"  # Нежилое (помещение)


@dataclass(frozen=True, slots=True)
class EgrnObject:
    """One real-estate object of an extract: what reconciliation compares, and nothing personal."""

    kind: str
    cad_number: str
    object_type_code: str | None
    object_type: str | None
    quarter_cad_number: str | None
    parent_cad_number: str | None
    build_cad_number: str | None
    area: Decimal | None
    purpose_code: str | None
    purpose: str | None
    name: str | None
    room_type: str | None
    readable_address: str | None
    floor: str | None
    floors: str | None
    year_built: int | None
    registration_date: date | None
    prev_cad_numbers: tuple[str, ...]
    new_cad_numbers: tuple[str, ...]
    file: str
    line: int | None
    # of the extract the record is in:
    extract: str
    date_formation: date | None
    registration_number: str | None
    status: str | None

    @property
    def residential(self) -> bool | None:
        """Whether the premises or building is residential, by the purpose code or its text; None if unsaid."""
        if self.purpose_code == PURPOSE_RESIDENTIAL:
            return True
        if self.purpose_code == PURPOSE_NON_RESIDENTIAL:
            return False
        purpose = (self.purpose or "").casefold()
        if purpose.startswith("нежил"):
            return False
        if purpose.startswith("жил") or "многоквартирный" in purpose or purpose.startswith("жилой"):
            return True
        return None

    @property
    def house_cad_number(self) -> str | None:
        """The building a premises belongs to: ``build_cad_number`` if given, else its parent's number."""
        return self.build_cad_number or self.parent_cad_number


_WANTED = ("cad_number", "quarter_cad_number", "code", "value", "area", "name", "floors", "year_built",
           "readable_address", "floor", "registration_date", "build_cad_number", "prev_cad_number", "new_cad_number")


def _walk(element: Any) -> tuple[dict[str, str | None], list[str | None], list[str | None]]:
    """The texts of the record's elements that matter, by role, in one pass over its subtree (lxml filters)."""
    found: dict[str, str | None] = {}
    prev: list[str | None] = []
    new: list[str | None] = []
    for node in element.iter(*_WANTED):
        tag = node.tag
        parent = node.getparent()
        where = parent.tag
        if tag == "cad_number":
            role = {"common_data": "cad_number", "parent_cad_number": "parent", "build_cad_number": "build"}.get(where)
            if role is not None:
                found.setdefault(role, text(node))
            elif where == "prev_cad_number":
                prev.append(text(node))
            elif where == "new_cad_number":
                new.append(text(node))
        elif tag in ("prev_cad_number", "new_cad_number", "build_cad_number"):
            if len(node) == 0:  # the number as the element's own text, not in a cad_number child
                if tag == "build_cad_number":
                    found.setdefault("build", text(node))
                else:
                    (prev if tag == "prev_cad_number" else new).append(text(node))
        elif tag in ("code", "value"):
            grand = parent.getparent()
            owner = grand.tag if grand is not None else None
            if where == "type" and owner == "common_data":
                found.setdefault(f"object_type_{tag}", text(node))
            elif where == "purpose" and owner == "params":
                found.setdefault(f"purpose_{tag}", text(node))
            elif where == "type" and owner == "params" and tag == "value":
                found.setdefault("room_type", text(node))
            elif where == "area" and owner == "params" and tag == "value":
                found.setdefault("area", text(node))
        elif tag == "quarter_cad_number" and where == "common_data":
            found.setdefault("quarter", text(node))
        elif tag in ("area", "name", "floors", "year_built") and where == "params":
            value = text(node)
            if value is not None or tag != "area":
                found.setdefault(tag, value)
        elif tag == "readable_address":
            found.setdefault("address", text(node))
        elif tag == "floor" and where == "level":
            found.setdefault("floor", text(node))
        elif tag == "registration_date" and where == "record_info" and parent.getparent() is element:
            found.setdefault("registered", text(node))
    return found, prev, new


class RecordFields(NamedTuple):
    """What one ``*_record`` element says (``EgrnObject``'s fields before those of its extract)."""

    kind: str
    cad_number: str
    object_type_code: str | None
    object_type: str | None
    quarter_cad_number: str | None
    parent_cad_number: str | None
    build_cad_number: str | None
    area: Decimal | None
    purpose_code: str | None
    purpose: str | None
    name: str | None
    room_type: str | None
    readable_address: str | None
    floor: str | None
    floors: str | None
    year_built: int | None
    registration_date: date | None
    prev_cad_numbers: tuple[str, ...]
    new_cad_numbers: tuple[str, ...]
    file: str
    line: int | None


#: a house's number and quarter recur in every premises of it: checked once each
_shared_number = lru_cache(maxsize=1 << 14)(v.cadastral_number)
_shared_quarter = lru_cache(maxsize=1 << 14)(v.quarter_number)


def parse_record(element: Any, label: str, issues: IssueLog) -> RecordFields | None:
    """The fields of one ``*_record`` element, or None (and an issue) when its cadastral number is bad."""
    line = element.sourceline
    found, prev, new = _walk(element)
    try:
        cad_number = v.cadastral_number(found.get("cad_number"), "cad_number")
    except v.BadValue as exc:
        issues.report(label, line, f"{element.tag} skipped: {exc}")
        return None

    def value(reader: Any, raw: str | None, what: str) -> Any:
        if raw is None:
            return None
        try:
            return reader(raw, what)
        except v.BadValue as exc:
            issues.report(label, line, f"{element.tag} {cad_number}: {exc} (read without it)")
            return None

    def numbers(raws: list[str | None], what: str) -> tuple[str, ...]:
        return tuple(n for n in (value(v.cadastral_number, raw, what) for raw in raws) if n is not None)

    return RecordFields(
        kind=RECORDS[element.tag], cad_number=cad_number,
        object_type_code=found.get("object_type_code"), object_type=found.get("object_type_value"),
        quarter_cad_number=value(_shared_quarter, found.get("quarter"), "quarter_cad_number"),
        parent_cad_number=value(_shared_number, found.get("parent"), "parent cad_number"),
        build_cad_number=value(_shared_number, found.get("build"), "build_cad_number"),
        area=value(v.area, found.get("area"), "area"),
        purpose_code=found.get("purpose_code"), purpose=found.get("purpose_value"),
        name=found.get("name"), room_type=found.get("room_type"), readable_address=found.get("address"),
        floor=found.get("floor"), floors=found.get("floors"),
        year_built=value(v.integer, found.get("year_built"), "year_built"),
        registration_date=value(v.date_of_datetime, found.get("registered"), "registration_date"),
        prev_cad_numbers=numbers(prev, "prev_cad_number"), new_cad_numbers=numbers(new, "new_cad_number"),
        file=label, line=line)


class EgrnExtracts(Source):
    """EGRN extracts: one XML file, or a folder of them (searched recursively, in name order)."""

    name = "egrn"

    def __init__(self, path: str | Path, *, strict: bool = True, issue_limit: int = DEFAULT_ISSUE_LIMIT) -> None:
        super().__init__(issue_limit=issue_limit)
        self.path = Path(path)
        self.unknown: list[str] = []
        self.files: list[Path] = []
        self.latest_date_formation: date | None = None
        self._version: str | None = None
        if self.path.is_file():
            candidates = [self.path]
            self._base = self.path.parent
        elif self.path.is_dir():
            candidates = sorted((p for p in self.path.rglob("*") if p.is_file()), key=lambda p: str(p))
            self._base = self.path
        else:
            raise SourceError("no such EGRN extract file or folder", code=Code.SOURCE_UNREADABLE, file=self.path)
        for candidate in candidates:
            self._admit(candidate, strict)

    def _label(self, path: Path) -> str:
        return str(path.relative_to(self._base)) if path != self._base else path.name

    def _admit(self, path: Path, strict: bool) -> None:
        label = self._label(path)
        reason = None
        if path.suffix.lower() != ".xml":
            reason = "not an XML file"
        else:
            names = peek(path, label, 2)
            root = names[0]
            inner = names[1] if len(names) > 1 else None
            if root.namespace is None and root.localname in ROOTS:
                pass
            elif inner is not None and inner.namespace is None and inner.localname in ROOTS:
                pass  # a wrapper of many extracts
            else:
                reason = f"its root element {root.text} is not an EGRN extract (extract_about_property_*, " \
                         "extract_base_params_*) nor a wrapper of extracts"
        if reason is None:
            self.files.append(path)
        elif strict:
            raise SourceError(reason, code=Code.SOURCE_UNKNOWN_FILE, file=label)
        else:
            self.unknown.append(label)
            self.issues.report(label, None, reason, code=Code.SOURCE_UNKNOWN_FILE)

    def objects(self, kinds: Collection[str] | None = None) -> Iterator[EgrnObject]:
        """Every object of every extract, of the given kinds only if any (``"room"``, ``"build"``…)."""
        for path in self.files:
            yield from self._objects(path, self._label(path), kinds)

    def rooms(self) -> Iterator[EgrnObject]:
        return self.objects({"room"})

    def builds(self) -> Iterator[EgrnObject]:
        return self.objects({"build"})

    def records(self) -> Iterator[object]:
        return self.objects()

    def _objects(self, path: Path, label: str, kinds: Collection[str] | None) -> Iterator[EgrnObject]:
        pending: list[RecordFields] = []
        formed: date | None = None
        number: str | None = None
        status: str | None = None
        for _event, element in iterate(path, label, tag=_TAGS):
            tag = element.tag
            if tag in RECORDS:
                if kinds is None or RECORDS[tag] in kinds:
                    fields = parse_record(element, label, self.issues)
                    if fields is not None:
                        pending.append(fields)
                release(element)
            elif tag in PERSONAL:
                element.clear(keep_tail=False)
            elif tag == "date_formation" and formed is None:
                try:
                    formed = v.iso_date(text(element), "date_formation")
                except v.BadValue as exc:
                    self.issues.report(label, element.sourceline, f"extract read without its date: {exc}")
            elif tag == "registration_number" and _parent_tag(element) == "group_top_requisites":
                number = text(element)
            elif tag == "status" and _parent_tag(element) in ROOTS:
                status = text(element)
            elif tag in ROOTS:
                if formed is not None and (self.latest_date_formation is None or formed > self.latest_date_formation):
                    self.latest_date_formation = formed
                for fields in pending:
                    yield EgrnObject(*fields, tag, formed, number, status)
                pending, formed, number, status = [], None, None, None
                release(element)

    @property
    def version(self) -> str:
        """A digest of the files' names and contents: EGRN extracts carry no version of the register."""
        if self._version is None:
            self._version = files_version((self._label(p), p) for p in self.files)
        return self._version

    def describe(self) -> dict[str, object]:
        shown = self.files[:100]
        return {
            "name": self.name, "version": self.version, "path": str(self.path), "file_count": len(self.files),
            "files": [{"name": self._label(p), "bytes": p.stat().st_size} for p in shown],
            "unknown": list(self.unknown),
            "latest_date_formation": self.latest_date_formation.isoformat() if self.latest_date_formation else None,
            "issues": self.issues.summary(),
        }


def _parent_tag(element: Any) -> str | None:
    parent = element.getparent()
    return parent.tag if parent is not None else None

