"""The console's Flask application: sessions, CSRF, language, the login check before every page, error pages."""

from __future__ import annotations

import logging
import time
from datetime import timedelta
from pathlib import Path
from typing import Any

from flask import Flask, g, redirect, render_template, request, session, url_for
from flask_babel import Babel, get_locale
from flask_babel import gettext as _
from flask_wtf.csrf import CSRFError, CSRFProtect
from werkzeug.exceptions import HTTPException
from werkzeug.wrappers import Response

from gateway.config import ConsoleConfig
from gateway.console.access import Principal
from gateway.errors import Code, ConfigError, ConsoleRefused, GatewayError
from gateway.registry import console as users
from gateway.registry.queries import console as pages

log = logging.getLogger("gateway.console")
HERE = Path(__file__).resolve().parent
LANGUAGES = ("ru", "en")
#: endpoints served without a login
PUBLIC = {"auth.login", "static"}
MIN_SECRET = 32


def secret_of(settings: ConsoleConfig) -> str | None:
    """GATEWAY_CONSOLE__SECRET, else the file ``console.secret_file`` names; None when neither is set."""
    secret = settings.secret.strip()
    if not secret and settings.secret_file:
        try:
            secret = Path(settings.secret_file).read_text(encoding="utf-8").strip()
        except OSError as exc:
            raise ConfigError(f"console.secret_file {settings.secret_file}: {exc}", code=Code.CONSOLE_SECRET_MISSING) \
                from None
    if not secret:
        return None
    if len(secret) < MIN_SECRET:
        raise ConfigError(f"the console's session secret has {len(secret)} characters; it needs at least "
                          f"{MIN_SECRET}", code=Code.CONSOLE_SECRET_MISSING)
    return secret


def _locale() -> str:
    wanted = request.args.get("lang")
    if wanted in LANGUAGES:
        session["lang"] = wanted
        return wanted
    return str(session.get("lang", "ru"))


def create_app(gateway: Any, *, secret: str) -> Flask:
    """The console for a wired ``bootstrap.Gateway``; mounted under /console/ by ``gateway.console.mount``."""
    settings: ConsoleConfig = gateway.config.console
    app = Flask("gateway.console", root_path=str(HERE), template_folder="templates", static_folder="static")
    app.config.update(
        SECRET_KEY=secret, SESSION_COOKIE_NAME="gateway_console", SESSION_COOKIE_PATH="/console",
        SESSION_COOKIE_HTTPONLY=True, SESSION_COOKIE_SAMESITE="Lax", SESSION_COOKIE_SECURE=settings.secure_cookies,
        PERMANENT_SESSION_LIFETIME=timedelta(minutes=settings.session_minutes),
        WTF_CSRF_TIME_LIMIT=None, WTF_CSRF_SSL_STRICT=settings.secure_cookies,
        MAX_CONTENT_LENGTH=64 * 1024, BABEL_DEFAULT_LOCALE="ru",
        BABEL_TRANSLATION_DIRECTORIES=str(HERE / "translations"))
    app.extensions["gateway"] = gateway
    Babel(app, locale_selector=_locale)
    CSRFProtect(app)

    from gateway.console.pages import auth, compliance, messages, registry, runs, worklist

    for blueprint in (auth.blueprint, compliance.blueprint, worklist.blueprint, messages.blueprint,
                      registry.blueprint, runs.blueprint):
        app.register_blueprint(blueprint)
    app.before_request(_authenticate)
    app.after_request(_headers)
    app.register_error_handler(ConsoleRefused, _refused)
    app.register_error_handler(CSRFError, _forged)
    app.register_error_handler(GatewayError, _gateway_error)
    app.register_error_handler(HTTPException, _http_error)
    app.jinja_env.globals.update(roles_nav=_nav, get_locale=get_locale)
    return app


def _authenticate() -> Response | None:
    if request.endpoint in PUBLIC or request.endpoint is None:
        return None
    settings: ConsoleConfig = _gateway().config.console
    uid, seen = session.get("uid"), session.get("seen")
    if uid is None:
        if request.method == "GET":
            return redirect(url_for("auth.login", next=request.full_path))
        raise ConsoleRefused(_("Log in first."), code=Code.CONSOLE_SESSION_EXPIRED, http_status=401)
    if seen is None or time.time() - float(seen) > settings.session_minutes * 60:
        log.info("event=console_session_expired user=%s", session.get("login"))
        lang = session.get("lang")
        session.clear()
        if lang:
            session["lang"] = lang
        if request.method == "GET":
            return redirect(url_for("auth.login", expired=1, next=request.full_path))
        raise ConsoleRefused(_("Your session has expired; log in again. Nothing was changed."),
                             code=Code.CONSOLE_SESSION_EXPIRED, http_status=401)
    engine = _gateway().engine
    with engine.connect() as connection:
        user = users.get(connection, str(uid))
        if user is None or not user.active:
            session.clear()
            return redirect(url_for("auth.login"))
        org = pages.organisation(connection, user.org_guid)
        regions = pages.jurisdiction(connection, user.org_guid) if user.role == "regulator" else ()
    g.principal = Principal(user.guid, user.login, user.org_guid, org.name if org else user.org_guid, user.role,
                            regions)
    session["seen"] = time.time()
    return None


def _gateway() -> Any:
    from flask import current_app

    return current_app.extensions["gateway"]


def _headers(response: Response) -> Response:
    response.headers.setdefault("X-Content-Type-Options", "nosniff")
    response.headers.setdefault("X-Frame-Options", "DENY")
    response.headers.setdefault("Referrer-Policy", "same-origin")
    response.headers.setdefault("Content-Security-Policy", "default-src 'self'; img-src 'self' data:; "
                                "style-src 'self' 'unsafe-inline'")
    if request.endpoint not in PUBLIC:
        response.headers.setdefault("Cache-Control", "no-store")
    return response


def _page(status: int, code: str, message: str) -> tuple[str, int]:
    return render_template("error.html", status=status, code=code, message=message), status


def _refused(error: ConsoleRefused) -> tuple[str, int]:
    log.warning("event=console_refused code=%s status=%d path=%s user=%s reason=%s", error.code, error.http_status,
                request.path, session.get("login"), error.message)
    return _page(error.http_status, error.code, error.message)


def _forged(error: CSRFError) -> tuple[str, int]:
    log.warning("event=console_form_forged path=%s user=%s address=%s reason=%s", request.path,
                session.get("login"), request.remote_addr, error.description)
    return _page(400, Code.CONSOLE_FORM_FORGED, _("The form is not valid for this session (missing or wrong "
                                                  "security token); nothing was changed. Reload the page and "
                                                  "try again."))


def _gateway_error(error: GatewayError) -> tuple[str, int]:
    log.warning("event=console_action_refused code=%s path=%s user=%s reason=%s", error.code, request.path,
                session.get("login"), error.message)
    return _page(409, error.code, error.message)


def _http_error(error: HTTPException) -> Any:
    if error.code == 404:
        return _page(404, Code.CONSOLE_NOT_FOUND, _("No such page."))
    if error.code == 413:
        return _page(413, Code.CONSOLE_FILTER_INVALID, _("The form is too large."))
    return error


def _nav() -> list[tuple[str, str]]:
    role = g.principal.role if "principal" in g else None
    items = [("compliance.report", _("Compliance")), ("registry.organisations", _("Organisations"))]
    if role in ("support", "provider"):
        items += [("worklist.discrepancies", _("Discrepancies")), ("messages.messages", _("Messages"))]
    if role == "support":
        items += [("runs.runs", _("Reconciliation")), ("runs.audit", _("Audit log"))]
    return items
