"""Log in, log out, and the landing page by role."""

from __future__ import annotations

import time
from datetime import timedelta
from typing import Any

from flask import Blueprint, redirect, render_template, request, session, url_for
from flask_babel import gettext as _

from gateway.console import accounts
from gateway.console.forms import ActionForm, LoginForm
from gateway.console.pages.common import address, gateway, principal
from gateway.errors import Code, ConsoleRefused
from gateway.registry import audit

blueprint = Blueprint("auth", __name__)


def _safe_next(target: str | None) -> str:
    """Only a path inside the console (no open redirect)."""
    root = request.script_root + "/"
    if target and target.startswith(root) and not target.startswith("//") and "\\" not in target:
        return target
    return url_for("auth.home")


@blueprint.route("/login", methods=["GET", "POST"])
def login() -> Any:
    form = LoginForm()
    problem: tuple[str, str] | None = None
    status = 200
    if request.args.get("expired"):
        problem = (Code.CONSOLE_SESSION_EXPIRED, _("Your session has expired; log in again."))
    if form.validate_on_submit():
        settings = gateway().config.console
        try:
            user = accounts.log_in(gateway().engine, login=form.login.data.strip().lower(),
                                   password=form.password.data, address=address(),
                                   max_failures=settings.max_failures,
                                   lockout=timedelta(minutes=settings.lockout_minutes))
        except ConsoleRefused as refused:
            status = refused.http_status
            text = _("Wrong login or password.") if refused.code == Code.CONSOLE_LOGIN_FAILED else \
                _("Too many failed logins from this address; try again in %(minutes)d minutes.",
                  minutes=settings.lockout_minutes)
            problem = (refused.code, text)
        else:
            lang = session.get("lang")
            session.clear()  # a fresh session (and CSRF token) after logging in: no fixation
            session.update(uid=user.guid, login=user.login, seen=time.time())
            if lang:
                session["lang"] = lang
            return redirect(_safe_next(request.args.get("next")))
    elif request.method == "POST":
        status = 400
        problem = (Code.CONSOLE_LOGIN_FAILED, _("Enter your login and password."))
    return render_template("login.html", form=form, problem=problem), status


@blueprint.route("/logout", methods=["POST"])
def logout() -> Any:
    ActionForm()  # CSRFProtect has checked the token already
    who = principal()
    with gateway().engine.begin() as connection:
        audit.record(connection, action="console.logout", target=who.login, actor=who.login, actor_kind="console",
                     origin=address())
    session.clear()
    return redirect(url_for("auth.login"))


@blueprint.route("/")
def home() -> Any:
    who = principal()
    if who.role == "support":
        return redirect(url_for("worklist.discrepancies"))
    if who.role == "provider":
        return redirect(url_for("registry.organisation", guid=who.org_guid))
    return redirect(url_for("compliance.report"))
