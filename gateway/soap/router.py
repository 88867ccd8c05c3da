"""A small WSGI router: exact paths and path prefixes, each with a handler per method.

An exact path is looked up first; a method it has no handler for goes to the route's ``otherwise`` handler
(a service path answers 405 with a SOAP fault) or, without one, on to the prefixes. Prefixes are tried
longest first; ``mount`` hands every method under a prefix to one WSGI application (the web console mounts
``/console/`` so). What nothing takes is ``not_found``.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

StartResponse = Callable[..., Any]
Handler = Callable[[dict[str, Any], StartResponse], Iterable[bytes]]


@dataclass
class Route:
    methods: dict[str, Handler] = field(default_factory=dict)
    #: any other method (None: the path is not taken for it)
    otherwise: Handler | None = None

    def handler(self, method: str) -> Handler | None:
        return self.methods.get(method) or self.otherwise


class Router:
    def __init__(self, not_found: Handler) -> None:
        self.not_found = not_found
        self._exact: dict[str, Route] = {}
        self._prefixes: list[tuple[str, Route]] = []

    def add(self, path: str, methods: dict[str, Handler], *, otherwise: Handler | None = None) -> None:
        """Handle ``path`` exactly, for these methods (``{"GET": handler}``)."""
        self._exact[path] = Route(dict(methods), otherwise)

    def prefix(self, prefix: str, methods: dict[str, Handler], *, otherwise: Handler | None = None) -> None:
        """Handle every path under ``prefix`` not taken exactly, for these methods."""
        self._prefixes.append((prefix, Route(dict(methods), otherwise)))
        self._prefixes.sort(key=lambda item: len(item[0]), reverse=True)

    def mount(self, prefix: str, application: Handler) -> None:
        """Hand every request under ``prefix``, whatever its method, to ``application``."""
        self.prefix(prefix, {}, otherwise=application)

    def resolve(self, method: str, path: str) -> Handler:
        route = self._exact.get(path)
        handler = route.handler(method) if route is not None else None
        if handler is not None:
            return handler
        for prefix, under in self._prefixes:
            if path.startswith(prefix) and (handler := under.handler(method)) is not None:
                return handler
        return self.not_found

    def __call__(self, environ: dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
        handler = self.resolve(environ.get("REQUEST_METHOD", "GET"), environ.get("PATH_INFO", "") or "/")
        return handler(environ, start_response)
