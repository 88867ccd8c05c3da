"""What every page uses: the wired gateway, the signed-in principal, the client address, paging."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

from flask import current_app, g, request

from gateway.console import filters
from gateway.console.access import Principal


def gateway() -> Any:
    return current_app.extensions["gateway"]


def principal() -> Principal:
    return g.principal  # type: ignore[no-any-return]


def address() -> str:
    return request.remote_addr or "-"


@dataclass(frozen=True)
class Paging:
    page: int
    size: int

    @property
    def offset(self) -> int:
        return (self.page - 1) * self.size

    @property
    def fetch(self) -> int:
        """One row more than a page: whether a next page exists."""
        return self.size + 1

    def link(self, page: int) -> str:
        args = [(k, v) for k, v in request.args.items(multi=True) if k != "page"] + [("page", str(page))]
        return f"{request.script_root}{request.path}?{urlencode(args)}"


def paging() -> Paging:
    return Paging(filters.page(), gateway().config.console.page_size)


def cut(rows: list[Any], paged: Paging) -> tuple[list[Any], bool]:
    """The page's rows and whether more follow."""
    return rows[:paged.size], len(rows) > paged.size
