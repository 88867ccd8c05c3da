"""Unit of work: one database transaction, with the repositories bound to it and the history that records
what it changes (``gateway.registry.versions``: every change set names its provenance)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from types import TracebackType

from sqlalchemy import Connection, Engine, RootTransaction
from sqlalchemy.exc import IntegrityError

from gateway.domain.provenance import Provenance
from gateway.errors import Conflict
from gateway.registry.accounts import AccountRepository
from gateway.registry.decrees import DecreeRepository
from gateway.registry.documents import DocumentRepository
from gateway.registry.houses import HouseRepository
from gateway.registry.metering import MeteringRepository
from gateway.registry.nsi import NsiRepository
from gateway.registry.organisations import OrganisationRepository
from gateway.registry.oss import OssRepository
from gateway.registry.powers import PowerRepository
from gateway.registry.versions import History


class UnitOfWork:
    """``with uow: ...; uow.commit()`` — leaving the block without commit rolls everything back.

    ``provenance`` says where the changes come from (a message, a reconciliation run, an operator); a unit of
    work without one may read but not write versioned data. Built by the composition root
    (``bootstrap.Gateway.unit_of_work``).
    """

    connection: Connection
    history: History
    accounts: AccountRepository
    decrees: DecreeRepository
    documents: DocumentRepository
    houses: HouseRepository
    metering: MeteringRepository
    nsi: NsiRepository
    organisations: OrganisationRepository
    oss: OssRepository
    powers: PowerRepository

    def __init__(self, engine: Engine, provenance: Provenance | None = None) -> None:
        self.engine = engine
        self.provenance = provenance
        self._transaction: RootTransaction | None = None
        self._after_commit: list[Callable[[], None]] = []

    def __enter__(self) -> UnitOfWork:
        self.connection = self.engine.connect()
        self._transaction = self.connection.begin()
        self.history = History(self.connection, self.provenance)
        self.accounts = AccountRepository(self.connection, self.history)
        self.decrees = DecreeRepository(self.connection, self.history)
        self.documents = DocumentRepository(self.connection, self.history)
        self.houses = HouseRepository(self.connection, self.history)
        self.metering = MeteringRepository(self.connection, self.history)
        self.nsi = NsiRepository(self.connection)
        self.organisations = OrganisationRepository(self.connection, self.history)
        self.oss = OssRepository(self.connection, self.history)
        self.powers = PowerRepository(self.connection, self.history)
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
            self.history.committed()
            self._after_commit.clear()  # never committed: what was to follow never happened

    def commit(self) -> None:
        assert self._transaction is not None, "commit outside of 'with uow:'"
        self.history.stamp()
        self._transaction.commit()
        self.history.committed()
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
