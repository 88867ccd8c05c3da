"""Who may see what: the one place the console decides it (the authorisation matrix test covers every route).

- ``support`` (the operator's staff): everything; the only role that changes anything (worklist, re-queue).
- ``regulator``: compliance, organisations and houses within its jurisdiction (the OKTMO prefixes set for its
  organisation); a filter naming a region outside it is refused (403), an object outside it is not found (404).
- ``provider``: its own organisation only — its houses, messages, discrepancies and compliance; another
  organisation's object is not found (404), a filter naming another organisation refused (403).

A route states the roles it serves with ``@roles(...)`` (anyone else: 403); the scope of an object is checked
by the functions here, called by the route before it reads the object's details.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from functools import wraps
from typing import Any, TypeVar

from flask import g, request
from flask_babel import gettext as _

from gateway.errors import Code, ConsoleRefused
from gateway.registry.queries import console as pages

log = logging.getLogger("gateway.console")
F = TypeVar("F", bound=Callable[..., Any])


@dataclass(frozen=True)
class Principal:
    user_guid: str
    login: str
    org_guid: str
    org_name: str
    role: str
    #: a regulator's jurisdiction (OKTMO prefixes); empty for the other roles
    regions: tuple[str, ...] = ()

    @property
    def is_support(self) -> bool:
        return self.role == "support"


def forbidden(what: str) -> ConsoleRefused:
    log.warning("event=console_forbidden user=%s role=%s path=%s what=%s", g.principal.login, g.principal.role,
                request.path, what)
    return ConsoleRefused(what, code=Code.CONSOLE_FORBIDDEN, http_status=403)


def not_found(what: str) -> ConsoleRefused:
    return ConsoleRefused(what, code=Code.CONSOLE_NOT_FOUND, http_status=404)


def roles(*allowed: str) -> Callable[[F], F]:
    """The route serves these roles only (the login itself is checked before every request)."""

    def decorate(view: F) -> F:
        @wraps(view)
        def guarded(*args: Any, **kwargs: Any) -> Any:
            if g.principal.role not in allowed:
                raise forbidden(_("This page is not for the %(role)s role.", role=g.principal.role))
            return view(*args, **kwargs)

        guarded.roles = allowed  # type: ignore[attr-defined]
        return guarded  # type: ignore[return-value]

    return decorate


def check_regions(principal: Principal, asked: tuple[str, ...]) -> tuple[str, ...]:
    """The regions a report is read for: a regulator's asked ones must lie within its jurisdiction (none
    asked: all of it)."""
    if principal.role != "regulator":
        return asked
    if not principal.regions:
        raise forbidden(_("No jurisdiction is configured for your organisation."))
    if not asked:
        return principal.regions
    outside = [r for r in asked if not any(r.startswith(p) for p in principal.regions)]
    if outside:
        raise forbidden(_("Region %(regions)s is outside your jurisdiction (%(yours)s).",
                          regions=", ".join(outside), yours=", ".join(principal.regions)))
    return asked


def check_org_filter(principal: Principal, org: str | None) -> str | None:
    """The organisation a list is filtered to: a provider's is always its own."""
    if principal.role != "provider":
        return org
    if org is not None and org != principal.org_guid:
        raise forbidden(_("You can see your own organisation only."))
    return principal.org_guid


def may_see_org(connection: Any, principal: Principal, org: str) -> bool:
    if principal.role == "support":
        return True
    if principal.role == "provider":
        return org == principal.org_guid
    return pages.serves_in(connection, org, principal.regions)


def may_see_house(connection: Any, principal: Principal, fias: str) -> bool:
    if principal.role == "support":
        return True
    if principal.role == "provider":
        return pages.house_of(connection, fias, principal.org_guid)
    _, oktmo = pages.house_oktmo(connection, fias)
    return bool(oktmo) and any(str(oktmo).startswith(p) for p in principal.regions)


def may_see_message(principal: Principal, org_guid: str, signed_by: str | None) -> bool:
    if principal.role == "support":
        return True
    return principal.role == "provider" and principal.org_guid in (org_guid, signed_by)


def may_see_discrepancy(principal: Principal, org_guid: str | None) -> bool:
    if principal.role == "support":
        return True
    return principal.role == "provider" and org_guid == principal.org_guid
