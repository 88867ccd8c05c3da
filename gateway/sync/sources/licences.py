"""Licence register reader: licences of management companies in the shape of GIS ZhKKh's ``exportLicenseResult``.

No open-data export of the register was found; its machine interface is GIS ZhKKh's own ``licenses``
service (``gateway/xsd/gis-zhkh-16.3.0.0/licenses/hcs-licenses-types.xsd``, vendored unchanged). A file may
hold a ``getStateResult`` (``License`` elements), an ``exportLicenseResult`` (``exportLicenseResults``), either
inside a SOAP envelope, or a bare list: any root whose first child is a ``License`` /
``exportLicenseResults``. Both elements have the type ``exportLicenseResultType``: ``LicenseNumber``,
``LicenseRegDate``, ``LicenseStatus`` (A active, F finished, C cancelled, R rejected, I inactive),
``LicensingAuthority``, ``RegionFIASGuid``, ``LicenseOrganization`` (``Legal`` | ``Entrp``), ``House``* with
the management ``Contract`` and its dates, then ``LicenseGUID`` and ``LicenseVersion``. This format carries
no end date of the licence itself (the register's newer ``exportActualLicenseState`` does; not read yet).

A licence is read whole or skipped: one bad value (number, status, date, GUID) costs that licence and
gives one ``RecordIssue``, since a licence read without one of its houses would wrongly look as if it did
not list the house. An entrepreneur licensee's name is personal data and is not read; OGRN/OGRNIP and INN
are. ``validate=True`` checks each licence against the official schema as it streams.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

from lxml import etree

from gateway import ns
from gateway.errors import Code
from gateway.sync.sources import schemas
from gateway.sync.sources import values as v
from gateway.sync.sources.base import DEFAULT_ISSUE_LIMIT, Source, SourceError, files_version
from gateway.sync.sources.xmlstream import iterate, peek, release, text

LC, BASE, ORB, OB, SOAP = ns.LICENSES, ns.BASE, ns.ORGANIZATIONS_REGISTRY_BASE, ns.ORGANIZATIONS_BASE, ns.SOAP11
NS = {"lc": LC, "orb": ORB, "ob": OB}

_LICENCE_TAGS = (f"{{{LC}}}License", f"{{{LC}}}exportLicenseResults")
_RESULTS = {f"{{{LC}}}getStateResult", f"{{{LC}}}exportLicenseResult"}
STATUSES = {"A": "active", "F": "finished", "C": "cancelled", "R": "rejected", "I": "inactive"}


@dataclass(frozen=True, slots=True)
class LicenceHouse:
    """A house the licence lists, with the management contract GIS holds for it (if any)."""

    fias_house_guid: str
    address: str
    contract_guid: str | None
    contract_number: str | None
    manager_org_guid: str | None
    signing_date: date | None
    effective_from: date | None
    planned_end: date | None
    start_date: date | None
    end_date: date | None
    terminated: date | None

    @property
    def effective_to(self) -> date | None:
        """The last day the contract runs: its termination, else its end, else its planned completion."""
        return self.terminated or self.end_date or self.planned_end

    def covers(self, day: date) -> bool:
        """Whether the listed contract runs on ``day`` (a house listed without a contract: unknown, False)."""
        if self.effective_from is None:
            return False
        end = self.effective_to
        return self.effective_from <= day and (end is None or day <= end)


@dataclass(frozen=True, slots=True)
class Licence:
    """A licence to manage apartment houses (the register of a region)."""

    number: str
    guid: str
    version: int
    status: str
    reg_date: date
    authority_name: str
    authority_ogrn: str
    region_fias_guid: str | None
    licensee_kind: str
    licensee_ogrn: str
    licensee_inn: str | None
    licensee_kpp: str | None
    licensee_name: str | None
    erul_number: str | None
    houses: tuple[LicenceHouse, ...]
    file: str
    line: int | None

    @property
    def is_active(self) -> bool:
        return self.status == "A"

    def lists(self, fias_house_guid: str) -> bool:
        wanted = fias_house_guid.lower()
        return any(house.fias_house_guid == wanted for house in self.houses)


def _find(element: Any, path: str) -> str | None:
    return text(element.find(path, NS))


def _required(element: Any, path: str, what: str) -> str:
    value = _find(element, path)
    if value is None:
        raise v.BadValue(f"{what} is missing")
    return value


def _digits(raw: str, lengths: tuple[int, ...], what: str) -> str:
    if not (raw.isascii() and raw.isdigit() and len(raw) in lengths):
        raise v.BadValue(f"{what} {raw!r} must be {' or '.join(map(str, lengths))} digits")
    return raw


def _optional_date(element: Any, path: str, what: str) -> date | None:
    return v.optional_date(_find(element, path), what)


def parse_house(element: Any) -> LicenceHouse:
    contract = element.find("lc:Contract", NS)
    guid = v.fias_house_guid(_find(element, "lc:FIASHouseGUID"), "FIASHouseGUID")
    address = _find(element, "lc:HouseAddress") or ""
    if contract is None:
        return LicenceHouse(guid, address, None, None, None, None, None, None, None, None, None)
    manager = _find(contract, "lc:Org/orb:orgRootEntityGUID")
    return LicenceHouse(
        fias_house_guid=guid, address=address,
        contract_guid=v.guid(_find(contract, "lc:ContractGUID"), "ContractGUID"),
        contract_number=_find(contract, "lc:DocNum"),
        manager_org_guid=v.guid(manager, "Contract/Org/orgRootEntityGUID") if manager else None,
        signing_date=_optional_date(contract, "lc:SigningDate", "SigningDate"),
        effective_from=v.iso_date(_find(contract, "lc:EffectiveDate"), "EffectiveDate"),
        planned_end=_optional_date(contract, "lc:PlanDateComptetion", "PlanDateComptetion"),
        start_date=_optional_date(contract, "lc:StartDate", "StartDate"),
        end_date=_optional_date(contract, "lc:EndDate", "EndDate"),
        terminated=_optional_date(contract, "lc:Terminate", "Terminate"))


def parse_licence(element: Any, file: str) -> Licence:
    """One ``License`` / ``exportLicenseResults`` element (``exportLicenseResultType``)."""
    number = _digits(_required(element, "lc:LicenseNumber", "LicenseNumber"), (9,), "LicenseNumber")
    status = _required(element, "lc:LicenseStatus", "LicenseStatus")
    if status not in STATUSES:
        raise v.BadValue(f"LicenseStatus {status!r} is not one of A, F, C, R, I")
    authority = element.find("lc:LicensingAuthority", NS)
    if authority is None:
        raise v.BadValue("LicensingAuthority is missing")
    legal = element.find("lc:LicenseOrganization/lc:Legal", NS)
    entrepreneur = element.find("lc:LicenseOrganization/lc:Entrp", NS)
    if legal is not None:
        kind, licensee = "legal", legal
        ogrn = _digits(_required(legal, "ob:OGRN", "licensee OGRN"), (13,), "licensee OGRN")
        name = _find(legal, "orb:FullName") or _find(legal, "orb:ShortName")
        kpp = _find(legal, "ob:KPP")
    elif entrepreneur is not None:
        kind, licensee, name, kpp = "entrepreneur", entrepreneur, None, None  # a person's name: not read
        ogrn = _digits(_required(entrepreneur, "ob:OGRNIP", "licensee OGRNIP"), (15,), "licensee OGRNIP")
    else:
        raise v.BadValue("LicenseOrganization has neither Legal nor Entrp")
    inn = _find(licensee, "ob:INN")
    region = _find(element, "lc:RegionFIASGuid")
    return Licence(
        number=number, guid=v.guid(_find(element, "lc:LicenseGUID"), "LicenseGUID"),
        version=v.integer(_find(element, "lc:LicenseVersion"), "LicenseVersion"), status=status,
        reg_date=v.iso_date(_find(element, "lc:LicenseRegDate"), "LicenseRegDate"),
        authority_name=_required(authority, "orb:FullName", "LicensingAuthority FullName"),
        authority_ogrn=_digits(_required(authority, "ob:OGRN", "LicensingAuthority OGRN"), (13,),
                               "LicensingAuthority OGRN"),
        region_fias_guid=v.guid(region, "RegionFIASGuid") if region else None,
        licensee_kind=kind, licensee_ogrn=ogrn,
        licensee_inn=_digits(inn, (10, 12), "licensee INN") if inn else None,
        licensee_kpp=kpp, licensee_name=name, erul_number=_find(element, "lc:ErulNumber"),
        houses=tuple(parse_house(house) for house in element.iterfind("lc:House", NS)),
        file=file, line=element.sourceline)


class LicenceRegister(Source):
    """Licence-register XML: one file, or a folder of ``*.xml`` files (recursively, in name order)."""

    name = "licences"

    def __init__(self, path: str | Path, *, strict: bool = True, validate: bool = False,
                 issue_limit: int = DEFAULT_ISSUE_LIMIT) -> None:
        super().__init__(issue_limit=issue_limit)
        self.path = Path(path)
        self.validate = validate
        self.unknown: list[str] = []
        self.files: list[Path] = []
        self._version: str | None = None
        if self.path.is_file():
            self._base, candidates = self.path.parent, [self.path]
        elif self.path.is_dir():
            self._base = self.path
            candidates = sorted((p for p in self.path.rglob("*") if p.is_file()), key=lambda p: str(p))
        else:
            raise SourceError("no such licence-register file or folder", code=Code.SOURCE_UNREADABLE, file=self.path)
        for candidate in candidates:
            reason = self._reason_unknown(candidate)
            if reason is None:
                self.files.append(candidate)
            elif strict:
                raise SourceError(reason, code=Code.SOURCE_UNKNOWN_FILE, file=self._label(candidate))
            else:
                self.unknown.append(self._label(candidate))
                self.issues.report(self._label(candidate), None, reason, code=Code.SOURCE_UNKNOWN_FILE)

    def _label(self, path: Path) -> str:
        return str(path.relative_to(self._base))

    def _reason_unknown(self, path: Path) -> str | None:
        if path.suffix.lower() != ".xml":
            return "not an XML file"
        names = [name.text for name in peek(path, self._label(path), 8)]
        root = names[0]
        if root in _RESULTS:
            return None
        if root == f"{{{SOAP}}}Envelope" and any(name in _RESULTS for name in names):
            return None
        if len(names) > 1 and names[1] in _LICENCE_TAGS:
            return None  # a bare list of licences
        return (f"its root element {root} is not a licence-register result (getStateResult, exportLicenseResult, "
                "a SOAP envelope of one, or a list of License elements)")

    def licences(self) -> Iterator[Licence]:
        for path in self.files:
            label = self._label(path)
            if self.validate:
                yield from self._validated(path, label)
            else:
                for _event, element in iterate(path, label, tag=_LICENCE_TAGS):
                    licence = self._parse(element, label)
                    release(element)
                    if licence is not None:
                        yield licence

    def records(self) -> Iterator[object]:
        return self.licences()

    def _parse(self, element: Any, label: str) -> Licence | None:
        try:
            return parse_licence(element, label)
        except v.BadValue as exc:
            number = _find(element, "lc:LicenseNumber")
            self.issues.report(label, element.sourceline, f"licence {number or '(no number)'} skipped: {exc}")
            return None

    def _validated(self, path: Path, label: str) -> Iterator[Licence]:
        schema = schemas.licences_schema()
        for _event, element in iterate(path, label, tag=_LICENCE_TAGS):
            wrapper = _state_result()
            element.tag = f"{{{LC}}}License"  # exportLicenseResults has the same type
            wrapper.append(element)  # moved out of the parsed tree, which stays empty
            errors = schema.errors_by_line(wrapper)
            if errors:
                line, message = next(iter(errors.items()))
                self.issues.report(label, line or element.sourceline,
                                   f"licence does not conform to the licences schema: {message}",
                                   code=Code.SOURCE_SCHEMA_INVALID)
                continue
            licence = self._parse(element, label)
            if licence is not None:
                yield licence

    @property
    def version(self) -> str:
        if self._version is None:
            self._version = files_version((self._label(p), p) for p in self.files)
        return self._version

    def describe(self) -> dict[str, object]:
        return {"name": self.name, "version": self.version, "path": str(self.path), "validate": self.validate,
                "files": [{"name": self._label(p), "bytes": p.stat().st_size} for p in self.files],
                "unknown": list(self.unknown), "issues": self.issues.summary()}


def _state_result() -> Any:
    """An empty ``getStateResult`` to validate one licence in (RequestState 3, a zero MessageGUID)."""
    root = etree.Element(f"{{{LC}}}getStateResult", {f"{{{BASE}}}version": "10.0.1.1"}, nsmap={"lc": LC, "base": BASE})
    etree.SubElement(root, f"{{{BASE}}}RequestState").text = "3"
    etree.SubElement(root, f"{{{BASE}}}MessageGUID").text = "00000000-0000-0000-0000-000000000000"
    return root
