"""The composition root: configuration → engine → application and worker. The one place that wires."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from sqlalchemy import Engine

from gateway.config import Config
from gateway.domain.provenance import Provenance
from gateway.errors import ConfigError
from gateway.messages.worker import Worker
from gateway.processing.dispatch import MessageProcessor
from gateway.registry import db
from gateway.registry.queries import Reader
from gateway.registry.unit_of_work import UnitOfWork
from gateway.signing import Signer, keys
from gateway.soap.app import GatewayApp
from gateway.xsd import Service, validator


@dataclass
class Gateway:
    config: Config
    engine: Engine
    signer: Signer | None

    def unit_of_work(self, provenance: Provenance | None = None) -> UnitOfWork:
        """A unit of work on the registry; one that writes names where its changes come from."""
        return UnitOfWork(self.engine, provenance)

    @contextmanager
    def reader(self, at: datetime | None = None) -> Iterator[Reader]:
        """The query layer over one read transaction: the registry now, or as it was known at ``at``."""
        with self.engine.connect() as connection:
            yield Reader(connection, at)

    @property
    def app(self) -> GatewayApp:
        return GatewayApp(self.engine, self.config, signer=self.signer, unit_of_work=self.unit_of_work)

    @property
    def worker(self) -> Worker:
        return Worker(self.engine, MessageProcessor(self.signer), self.config.worker, unit_of_work=self.unit_of_work)


def answer_signer(config: Config) -> Signer | None:
    """The gateway's own signing key, required unless answers are explicitly left unsigned."""
    if not config.security.sign_answers:
        logging.getLogger("gateway").warning("event=answers_unsigned reason=security.sign_answers=false")
        return None
    if not config.signing.key_file or not config.signing.cert_file:
        raise ConfigError("signing.key_file and signing.cert_file must be set: the gateway signs every answer "
                          "(for a local experiment set security.sign_answers = false; "
                          "`gateway keys issue-test --orgs FILE --out DIR` writes a TEST-ONLY pair, "
                          "TEST-ONLY-gateway.*.pem)")
    try:
        return keys.load_signer(Path(config.signing.key_file), Path(config.signing.cert_file))
    except (OSError, ValueError) as exc:
        raise ConfigError(f"cannot load the gateway's signing key: {exc}") from None


def build(config: Config, *, upgrade: bool = False, answers: bool = True, signer: Signer | None = None) -> Gateway:
    """Make the engine, optionally migrate the schema, load the signing key, compile the schemas up front.

    ``answers=False`` is for administrative commands that never answer a provider. ``signer`` overrides
    the configured key (the demo and tests hand in a TEST-ONLY one).
    """
    if answers:
        signer = signer or answer_signer(config)
    engine = db.make_engine(config.database.url, pool_size=config.database.pool_size,
                            schema=config.database.schema, sqlite_cache_mib=config.database.sqlite_cache_mib,
                            sqlite_wal_autocheckpoint=config.database.sqlite_wal_autocheckpoint)
    if upgrade:
        db.upgrade(engine)
    for service in Service:
        validator(service)
    return Gateway(config=config, engine=engine, signer=signer)


def configure_logging(level: str) -> None:
    logging.basicConfig(
        level=getattr(logging, level.upper(), logging.INFO),
        format="%(asctime)s level=%(levelname)s logger=%(name)s %(message)s",
    )
    logging.getLogger("alembic").setLevel(logging.WARNING)
