"""``<service>:getStateResult``: RequestState, MessageGUID, then per-object results or an export payload."""

from __future__ import annotations

from collections.abc import Iterable

from lxml import etree

from gateway import ns
from gateway.domain.results import ObjectResult
from gateway.domain.values import Guid
from gateway.errors import Code
from gateway.ns import q
from gateway.xsd.schemas import VERSION_ATTR


def state_result(service_ns: str, version: str, message_guid: Guid, request_state: int) -> etree._Element:
    """The getStateResult skeleton; callers append ImportResult, an export payload or ErrorMessage."""
    root = etree.Element(q(service_ns, "getStateResult"), nsmap={"base": ns.BASE, None: service_ns})
    root.set("Id", "signed-data-container")  # what the gateway's signature covers (base:BaseType)
    root.set(VERSION_ATTR, version)
    etree.SubElement(root, q(ns.BASE, "RequestState")).text = str(request_state)
    etree.SubElement(root, q(ns.BASE, "MessageGUID")).text = str(message_guid)
    return root


def append_common_results(parent: etree._Element, service_ns: str, results: Iterable[ObjectResult],
                          element: str = "CommonResult") -> list[etree._Element]:
    """One ``CommonResult`` per TransportGUID: GUID, UniqueNumber, UpdateDate — or Error(code, text).

    ``element`` is ``ImportResult`` on device-metering, whose results are plain CommonResultType.
    Returns the CommonResult elements in order, for operations that add their own child (ImportAccount…).
    """
    appended = []
    stamps: dict[object, str] = {}  # a batch's results share one or two update dates: each written once
    for item in results:
        common = etree.SubElement(parent, q(service_ns, element))
        if item.guid is not None:
            etree.SubElement(common, q(ns.BASE, "GUID")).text = str(item.guid)
        etree.SubElement(common, q(ns.BASE, "TransportGUID")).text = str(item.transport_guid)
        if item.error is None:
            if item.unique_number:
                etree.SubElement(common, q(ns.BASE, "UniqueNumber")).text = item.unique_number
            assert item.update_date is not None
            stamp = stamps.get(item.update_date)
            if stamp is None:
                stamp = stamps[item.update_date] = item.update_date.isoformat()
            etree.SubElement(common, q(ns.BASE, "UpdateDate")).text = stamp
        else:
            error = etree.SubElement(common, q(ns.BASE, "Error"))
            etree.SubElement(error, q(ns.BASE, "ErrorCode")).text = str(item.error.code)
            etree.SubElement(error, q(ns.BASE, "Description")).text = item.error.description
        appended.append(common)
    return appended


def append_error_message(parent: etree._Element, code: Code, description: str) -> None:
    """``base:ErrorMessage``: the whole message failed, no object was processed."""
    error = etree.SubElement(parent, q(ns.BASE, "ErrorMessage"))
    etree.SubElement(error, q(ns.BASE, "ErrorCode")).text = str(code)
    etree.SubElement(error, q(ns.BASE, "Description")).text = description
