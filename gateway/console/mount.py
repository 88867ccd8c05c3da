"""The console beside the SOAP paths: one WSGI callable that sends /console/… to Flask and the rest to the
SOAP application (werkzeug's DispatcherMiddleware sets SCRIPT_NAME, so the console's links stay under
/console/). Without a session secret the console answers 503 with CON001009 and SOAP is unaffected."""

from __future__ import annotations

import logging
from collections.abc import Iterable
from typing import Any

from werkzeug.middleware.dispatcher import DispatcherMiddleware

from gateway.errors import Code

log = logging.getLogger("gateway.console")
PREFIX = "/console"


def _unavailable(environ: dict[str, Any], start_response: Any) -> Iterable[bytes]:
    body = (f"{Code.CONSOLE_SECRET_MISSING}: the console has no session secret; set GATEWAY_CONSOLE__SECRET or "
            "console.secret_file\n").encode()
    start_response("503 Service Unavailable", [("Content-Type", "text/plain; charset=utf-8"),
                                               ("Content-Length", str(len(body)))])
    return [body]


class Web(DispatcherMiddleware):
    """The gateway's whole HTTP surface; ``config`` is the SOAP app's (the embedded server reads its limits)."""

    def __init__(self, soap: Any, console: Any | None) -> None:
        super().__init__(soap, {PREFIX: console} if console is not None else {})
        self.config = soap.config
        self.soap = soap
        self.console = console


def web(gateway: Any) -> Web:
    """The SOAP app with the console mounted (when ``console.enabled``)."""
    from gateway.console.app import create_app, secret_of

    soap = gateway.app
    settings = gateway.config.console
    if not settings.enabled:
        return Web(soap, None)
    secret = secret_of(settings)
    if secret is None:
        log.warning("event=console_unavailable code=%s reason=no session secret (GATEWAY_CONSOLE__SECRET or "
                    "console.secret_file)", Code.CONSOLE_SECRET_MISSING)
        return Web(soap, _unavailable)
    return Web(soap, create_app(gateway, secret=secret))
