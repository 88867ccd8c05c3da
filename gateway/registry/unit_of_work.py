"""Unit of work: one database transaction, with the repositories bound to it."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from types import TracebackType

from sqlalchemy import Connection, Engine, RootTransaction
from sqlalchemy.exc import IntegrityError

from gateway.errors import Conflict
from gateway.registry.accounts import AccountRepository
from gateway.registry.documents import DocumentRepository
from gateway.registry.houses import HouseRepository
from gateway.registry.metering import MeteringRepository
from gateway.registry.nsi import NsiRepository
from gateway.registry.organisations import OrganisationRepository
from gateway.registry.oss import OssRepository


class UnitOfWork:
    """``with uow: ...; uow.commit()`` — leaving the block without commit rolls everything back."""

    connection: Connection
    accounts: AccountRepository
    documents: DocumentRepository
    houses: HouseRepository
    metering: MeteringRepository
    nsi: NsiRepository
    organisations: OrganisationRepository
    oss: OssRepository

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self._transaction: RootTransaction | None = None
        self._after_commit: list[Callable[[], None]] = []

    def __enter__(self) -> UnitOfWork:
        self.connection = self.engine.connect()
        self._transaction = self.connection.begin()
        self.accounts = AccountRepository(self.connection)
        self.documents = DocumentRepository(self.connection)
        self.houses = HouseRepository(self.connection)
        self.metering = MeteringRepository(self.connection)
        self.nsi = NsiRepository(self.connection)
        self.organisations = OrganisationRepository(self.connection)
        self.oss = OssRepository(self.connection)
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        try:
            if self._transaction is not None and self._transaction.is_active:
                self._transaction.rollback()
        finally:
            self.connection.close()
            self._transaction = None
            self._after_commit.clear()  # never committed: what was to follow never happened

    def commit(self) -> None:
        assert self._transaction is not None, "commit outside of 'with uow:'"
        self._transaction.commit()
        self._transaction = self.connection.begin()
        actions, self._after_commit = self._after_commit, []
        for action in actions:
            action()

    def after_commit(self, action: Callable[[], None]) -> None:
        """Run ``action`` once the work so far is committed; dropped if it rolls back (metrics of written
        objects, for instance, must not count a transaction that a lost lease rolled back)."""
        self._after_commit.append(action)

    @contextmanager
    def savepoint(self) -> Iterator[None]:
        """One object of a batch: its writes stand or fall together, without touching the others."""
        try:
            with self.connection.begin_nested():
                yield
        except IntegrityError as exc:
            raise Conflict(f"stored concurrently by another transaction: {exc.orig}") from exc
