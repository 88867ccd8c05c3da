"""The composition root: configuration → engine → application and worker. The one place that wires."""

from __future__ import annotations

import logging
from dataclasses import dataclass

from sqlalchemy import Engine

from gateway.config import Config
from gateway.messages.worker import Worker
from gateway.registry import db
from gateway.soap.app import GatewayApp
from gateway.soap.operations import process_message
from gateway.xsd import Service, validator


@dataclass
class Gateway:
    config: Config
    engine: Engine

    @property
    def app(self) -> GatewayApp:
        return GatewayApp(self.engine, self.config)

    @property
    def worker(self) -> Worker:
        return Worker(self.engine, process_message, self.config.worker)


def build(config: Config, *, upgrade: bool = False) -> Gateway:
    """Make the engine, optionally migrate the schema, and compile the schemas once, up front."""
    engine = db.make_engine(config.database.url, pool_size=config.database.pool_size,
                            schema=config.database.schema)
    if upgrade:
        db.upgrade(engine)
    for service in Service:
        validator(service)
    return Gateway(config=config, engine=engine)


def configure_logging(level: str) -> None:
    logging.basicConfig(
        level=getattr(logging, level.upper(), logging.INFO),
        format="%(asctime)s level=%(levelname)s logger=%(name)s %(message)s",
    )
    logging.getLogger("alembic").setLevel(logging.WARNING)
