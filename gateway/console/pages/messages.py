"""Messages: look up a MessageGUID, list by organisation, state, operation and time (newest first, a page at a
time), one message's per-object results and its archive entries' verification, dead letters re-queued by
support (audited)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, time, timedelta
from typing import Any

from flask import Blueprint, redirect, render_template, url_for
from flask_babel import gettext as _

from gateway.console import access, filters
from gateway.console.forms import ActionForm
from gateway.console.pages.common import address, cut, gateway, paging, principal
from gateway.domain.values import Guid
from gateway.errors import Code, ConsoleRefused
from gateway.messages import archive, queue
from gateway.registry import audit
from gateway.registry.queries import Reader
from gateway.reports.rules import MOSCOW
from gateway.xmlparse import parse_untrusted

blueprint = Blueprint("messages", __name__)
STATES = ("received", "processing", "done", "dead")


@dataclass(frozen=True)
class ObjectResult:
    transport_guid: str | None
    guid: str | None
    unique_number: str | None
    update_date: str | None
    error_code: str | None
    error: str | None


def _local(tag: Any) -> str:
    return str(tag).rsplit("}", 1)[-1] if isinstance(tag, str) else ""


def results_of(result: bytes | None) -> tuple[list[ObjectResult], tuple[str, str] | None]:
    """Per-object results (CommonResult / ImportResult with a TransportGUID) and a whole-message ErrorMessage."""
    if not result:
        return [], None
    root = parse_untrusted(result)
    found: list[ObjectResult] = []
    whole = None
    for element in root.iter():
        name = _local(element.tag)
        children = {_local(c.tag): c for c in element}
        if name == "ErrorMessage":
            whole = (children["ErrorCode"].text or "" if "ErrorCode" in children else "",
                     children["Description"].text or "" if "Description" in children else "")
        elif "TransportGUID" in children:
            error = children.get("Error")
            codes = {_local(c.tag): c.text for c in error} if error is not None else {}
            found.append(ObjectResult(children["TransportGUID"].text,
                                      children["GUID"].text if "GUID" in children else None,
                                      children["UniqueNumber"].text if "UniqueNumber" in children else None,
                                      children["UpdateDate"].text if "UpdateDate" in children else None,
                                      codes.get("ErrorCode"), codes.get("Description")))
    return found, whole


@blueprint.route("/messages")
@access.roles("support", "provider")
def messages() -> Any:
    who = principal()
    wanted = filters.guid("guid")
    if wanted:
        return redirect(url_for("messages.message", guid=wanted))
    org = access.check_org_filter(who, filters.guid("org"))
    state = filters.choice("state", STATES)
    day_from, day_to = filters.day("from"), filters.day("to")
    operation = filters.choice("operation", _operations())
    paged = paging()
    received_from = datetime.combine(day_from, time(0), tzinfo=MOSCOW) if day_from else None
    received_to = datetime.combine(day_to + timedelta(days=1), time(0), tzinfo=MOSCOW) if day_to else None
    with gateway().engine.connect() as connection:
        rows = Reader(connection).messages(state=state, org=org, operation=operation, received_from=received_from,
                                           received_to=received_to, limit=paged.fetch, offset=paged.offset)
    shown, more = cut(rows, paged)
    return render_template("messages.html", rows=shown, more=more, paged=paged, states=STATES, state=state, org=org,
                           operations=sorted(_operations()), operation=operation)


def _operations() -> frozenset[str]:
    from gateway.soap.operations import OPERATIONS

    return frozenset(OPERATIONS) | {"test"}


@blueprint.route("/messages/<guid>")
@access.roles("support", "provider")
def message(guid: str) -> Any:
    guid = filters.guid_value(guid, "message")
    with gateway().engine.connect() as connection:
        found = queue.find(connection, Guid(guid))
        if found is None or not access.may_see_message(principal(), str(found.org_guid),
                                                       str(found.signed_by) if found.signed_by else None):
            raise access.not_found(_("No message %(guid)s.", guid=guid))
        problems = archive.verify_message(connection, guid)
    results, whole = results_of(found.result)
    return render_template("message.html", m=found, results=results, whole=whole, problems=problems,
                           form=ActionForm())


@blueprint.route("/messages/<guid>/requeue", methods=["POST"])
@access.roles("support")
def requeue(guid: str) -> Any:
    guid = filters.guid_value(guid, "message")
    ActionForm()
    who = principal()
    with gateway().engine.begin() as connection:
        if queue.find(connection, Guid(guid)) is None:
            raise access.not_found(_("No message %(guid)s.", guid=guid))
        done = queue.requeue(connection, Guid(guid))
        audit.record(connection, action="messages.retry", target=guid, actor=who.login, actor_kind="console",
                     origin=address(), outcome="ok" if done else "refused")
    if not done:
        raise ConsoleRefused(_("Message %(guid)s is not dead: only a dead message is re-queued.", guid=guid),
                             code=Code.CONSOLE_ACTION_REFUSED, http_status=409)
    return redirect(url_for("messages.message", guid=guid, done="requeued"))
