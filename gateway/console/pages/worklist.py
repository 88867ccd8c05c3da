"""The reconciliation worklist: discrepancies by status, kind, job, organisation and house, a page at a time;
acknowledge or resolve with a note and apply a suggested fix — support only, each audited (gateway.sync.fixes)."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, redirect, render_template, request, url_for
from flask_babel import gettext as _

from gateway.console import access, filters
from gateway.console.forms import ApplyForm, NoteForm
from gateway.console.pages.common import address, cut, gateway, paging, principal
from gateway.domain.discrepancies import Status
from gateway.errors import Code, ConsoleRefused
from gateway.registry import reconciliation as store
from gateway.sync import fixes
from gateway.sync.fixes import WorklistRefused
from gateway.sync.jobs import JOBS

blueprint = Blueprint("worklist", __name__)
STATUSES = tuple(s.value for s in Status)


@blueprint.route("/discrepancies")
@access.roles("support", "provider")
def discrepancies() -> Any:
    who = principal()
    status = filters.choice("status", STATUSES)
    job = filters.choice("job", frozenset(JOBS))
    kind = request.args.get("kind", "").strip()[:64] or None
    org = access.check_org_filter(who, filters.guid("org"))
    house = filters.guid("house")
    paged = paging()
    with gateway().engine.connect() as connection:
        rows = list(store.find(connection, status=(status,) if status else ("open", "acknowledged"),
                               kind=(kind,) if kind else (), job=job, org=org, house=house, limit=paged.fetch,
                               offset=paged.offset))
    shown, more = cut(rows, paged)
    return render_template("discrepancies.html", rows=shown, more=more, paged=paged, statuses=STATUSES,
                           jobs=sorted(JOBS), status=status, job=job, kind=kind, org=org, house=house)


def _visible(guid: str) -> store.DiscrepancyRow:
    guid = filters.guid_value(guid, "discrepancy")
    with gateway().engine.connect() as connection:
        found = store.get(connection, guid)
    if found is None or not access.may_see_discrepancy(principal(), found.org_guid):
        raise access.not_found(_("No such discrepancy."))
    return found


@blueprint.route("/discrepancies/<guid>")
@access.roles("support", "provider")
def discrepancy(guid: str) -> Any:
    found = _visible(guid)
    with gateway().engine.connect() as connection:
        events = store.events_of(connection, found.id)
    fixable = (found.suggested_fix or {}).get("action") == "set_cadastral_number"
    return render_template("discrepancy.html", d=found, events=events, note_form=NoteForm(), apply_form=ApplyForm(),
                           fixable=fixable)


def _act(guid: str, action: str) -> Any:
    found = _visible(guid)
    who = principal()
    form = ApplyForm() if action == "apply" else NoteForm()
    if not form.validate_on_submit():
        raise ConsoleRefused(_("The form is incomplete: %(fields)s", fields=", ".join(form.errors)),
                             code=Code.CONSOLE_FILTER_INVALID, http_status=400)
    kwargs = {"actor": who.login, "actor_kind": "console", "origin": address()}
    try:
        if action == "acknowledge":
            fixes.acknowledge(gateway(), found.id, note=form.note.data or None, **kwargs)
        elif action == "resolve":
            if not (form.note.data or "").strip():
                raise ConsoleRefused(_("Resolving needs a note: why is it resolved?"),
                                     code=Code.CONSOLE_ACTION_REFUSED, http_status=400)
            fixes.resolve(gateway(), found.id, note=form.note.data.strip(), **kwargs)
        else:
            fixes.apply(gateway(), found.id, reason=form.reason.data.strip(), **kwargs)
    except WorklistRefused as refused:
        raise ConsoleRefused(refused.message, code=Code.CONSOLE_ACTION_REFUSED, http_status=409) from None
    return redirect(url_for("worklist.discrepancy", guid=found.id, done=action))


@blueprint.route("/discrepancies/<guid>/acknowledge", methods=["POST"])
@access.roles("support")
def acknowledge(guid: str) -> Any:
    return _act(guid, "acknowledge")


@blueprint.route("/discrepancies/<guid>/resolve", methods=["POST"])
@access.roles("support")
def resolve(guid: str) -> Any:
    return _act(guid, "resolve")


@blueprint.route("/discrepancies/<guid>/apply", methods=["POST"])
@access.roles("support")
def apply(guid: str) -> Any:
    return _act(guid, "apply")
