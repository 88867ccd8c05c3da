"""Compiled-once validators for the vendored schemas."""

from __future__ import annotations

import threading
from enum import Enum
from functools import cache
from pathlib import Path

from lxml import etree

from gateway import ns
from gateway.errors import Code, SchemaInvalid

SCHEMA_ROOT = Path(__file__).parent / "gis-zhkh-16.3.0.0"
#: dom-gateway's own services, built like the official ones (extensions/README.md)
EXTENSION_ROOT = Path(__file__).parent / "extensions"
BASE_NS = ns.BASE
VERSION_ATTR = f"{{{BASE_NS}}}version"

#: How many schema errors a fault lists; the rest are counted.
MAX_REPORTED_ERRORS = 5


class Service(Enum):
    """A GIS ZhKKh service: its folder in the official set, types schema and async WSDL."""

    HOUSE_MANAGEMENT = "house-management"
    DEVICE_METERING = "device-metering"
    RAP = "rap"
    COMPLIANCE = "compliance"  # dom-gateway's own (extensions/)

    @property
    def folder(self) -> Path:
        return (EXTENSION_ROOT if self is Service.COMPLIANCE else SCHEMA_ROOT) / self.value

    @property
    def types_xsd(self) -> Path:
        return self.folder / f"hcs-{self.value}-types.xsd"

    @property
    def wsdl(self) -> Path:
        return self.folder / f"hcs-{self.value}-service-async.wsdl"


class _VendoredLib(etree.Resolver):  # type: ignore[misc]
    """An extension's ``../lib/hcs-base.xsd`` is the vendored official one: resolved there, never copied."""

    def resolve(self, url: str, pubid: str | None, context: object) -> object:
        path = Path(url)
        if path.parent.name == "lib" and path.parent.parent == EXTENSION_ROOT:
            return self.resolve_filename(str(SCHEMA_ROOT / "lib" / path.name), context)
        return None


_lock = threading.Lock()


@cache
def _compiled(path: Path) -> etree.XMLSchema:
    parser = etree.XMLParser(resolve_entities=False, no_network=True, huge_tree=False)
    parser.resolvers.add(_VendoredLib())
    return etree.XMLSchema(etree.parse(str(path), parser))


def validator(service: Service) -> etree.XMLSchema:
    """The service's compiled types schema (which imports the base schemas). Compiled once per process."""
    with _lock:  # compile under a lock so two threads never compile the same schema twice
        return _compiled(service.types_xsd)


def validate(element: etree._Element, service: Service) -> None:
    """Raise ``SchemaInvalid`` listing the first errors (line, element path, message) if invalid."""
    schema = validator(service)
    with _validation_locks[service]:
        # one compiled schema per process; its error_log belongs to the object, so validations of the
        # same schema take turns (libxml2 releases the GIL, other schemas and other work go on)
        if schema.validate(element):
            return
        errors = list(schema.error_log)
    shown = "; ".join(f"line {e.line}: {e.path}: {e.message}" for e in errors[:MAX_REPORTED_ERRORS])
    more = f" (and {len(errors) - MAX_REPORTED_ERRORS} more)" if len(errors) > MAX_REPORTED_ERRORS else ""
    raise SchemaInvalid(f"{etree.QName(element).localname} does not conform to the schema: {shown}{more}")


_validation_locks = {service: threading.Lock() for service in Service}


def check_version(element: etree._Element, accepted: frozenset[str]) -> str:
    """The request's ``base:version``, if it is one this gateway speaks for that request element."""
    version: str | None = element.get(VERSION_ATTR)
    name = etree.QName(element).localname
    if version is None:
        raise SchemaInvalid(f"{name} lacks the required base:version attribute", code=Code.VERSION_UNSUPPORTED)
    if version not in accepted:
        raise SchemaInvalid(
            f"{name} base:version {version!r} is not supported; accepted: {', '.join(sorted(accepted))}",
            code=Code.VERSION_UNSUPPORTED)
    return version
