"""Small readers and writers for official GIS ZhKKh XML, shared by the operation mappers.

Readers raise ``InvalidValue`` naming the missing or malformed element, so a mapper can answer that one
object (TransportGUID) with a coded error; writers omit absent values and write the schema's lexical forms.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from decimal import Decimal
from typing import TypeVar

from lxml import etree

from gateway import ns
from gateway.domain.model import NsiRef
from gateway.domain.values import Guid, InvalidValue, area
from gateway.ns import q

T = TypeVar("T")


def hm(local: str) -> str:
    return q(ns.HM, local)


def child(element: etree._Element, local: str, namespace: str = ns.HM) -> etree._Element | None:
    """The first child ``{namespace}local`` (what ``find`` gives for a plain tag, at a third of its cost:
    ``find`` goes through lxml's path machinery, and a message of 1,000 objects asks tens of thousands)."""
    return next(element.iterchildren(q(namespace, local)), None)


def children(element: etree._Element) -> dict[str, etree._Element]:
    """Each child element's first occurrence by qualified tag, in one pass: for a mapper that reads many
    children of one element (an account's dozen), a dictionary look-up each instead of a scan each."""
    found: dict[str, etree._Element] = {}
    for node in element:
        tag = node.tag
        if isinstance(tag, str) and tag not in found:
            found[tag] = node
    return found


def own_text(element: etree._Element | None) -> str | None:
    """An element's text, stripped; None for no element or an empty one."""
    return element.text.strip() if element is not None and element.text is not None else None


def text(element: etree._Element, local: str, namespace: str = ns.HM) -> str | None:
    return own_text(child(element, local, namespace))


def required(element: etree._Element, local: str, namespace: str = ns.HM) -> str:
    value = text(element, local, namespace)
    if value is None:
        raise InvalidValue(f"{local} is missing")
    return value


def transport_guid(element: etree._Element) -> Guid:
    """The object's TransportGUID, as sent (answers echo it unchanged, upper case included)."""
    return Guid.as_sent(required(element, "TransportGUID", ns.BASE))


def nsi(element: etree._Element, local: str) -> NsiRef:
    ref = child(element, local)
    if ref is None:
        raise InvalidValue(f"{local} is missing")
    return NsiRef(code=required(ref, "Code", ns.NSI_BASE), guid=Guid(required(ref, "GUID", ns.NSI_BASE)),
                  name=text(ref, "Name", ns.NSI_BASE))


def optional_area(element: etree._Element, local: str) -> Decimal | None:
    value = text(element, local)
    return area(value, local) if value is not None else None


def boolean(value: str | None) -> bool | None:
    return None if value is None else value in {"true", "1"}


def decoded(decode: Callable[[etree._Element], T], element: etree._Element) -> T | InvalidValue:
    try:
        return decode(element)
    except InvalidValue as exc:
        return exc
    except ValueError as exc:  # int() of a value the schema already bounded; kept as a coded error
        return InvalidValue(str(exc))


def iso(moment: datetime) -> str:
    return moment.isoformat()


def lexical(value: object) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, Decimal):
        return format(value.normalize(), "f")  # 54.3000 (stored Numeric(25,4)) is written 54.3
    return str(value)


def sub(parent: etree._Element, local: str, value: object | None, namespace: str = ns.HM) -> None:
    if value is not None:
        etree.SubElement(parent, q(namespace, local)).text = lexical(value)


def nsi_out(parent: etree._Element, local: str, ref: NsiRef) -> None:
    element = etree.SubElement(parent, hm(local))
    sub(element, "Code", ref.code, ns.NSI_BASE)
    sub(element, "GUID", ref.guid, ns.NSI_BASE)
    sub(element, "Name", ref.name, ns.NSI_BASE)
