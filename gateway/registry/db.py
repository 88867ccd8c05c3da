"""Engines for the two supported databases, and schema upgrades through alembic."""

from __future__ import annotations

import fcntl
import os
import re
import sqlite3
import time
from pathlib import Path
from typing import Any

from alembic import command
from alembic.config import Config as AlembicConfig
from sqlalchemy import Engine, create_engine, event
from sqlalchemy.exc import DBAPIError

MIGRATIONS = Path(__file__).parent / "migrations"
_IDENTIFIER = re.compile(r"[a-z_][a-z0-9_]{0,62}")


def make_engine(url: str, *, pool_size: int = 5, schema: str = "", echo: bool = False,
                sqlite_cache_mib: int = 64, sqlite_wal_autocheckpoint: int = 10_000) -> Engine:
    """An engine for ``url``: SQLite (embedded default) or PostgreSQL via psycopg (production).

    ``schema`` (PostgreSQL only) puts the gateway's tables, alembic's included, in that schema. The SQLite
    settings are ``DatabaseConfig``'s (its page cache and checkpoint interval).
    """
    if url.startswith("sqlite"):
        engine = create_engine(url, echo=echo, connect_args={"timeout": BUSY_TIMEOUT, "check_same_thread": False})
        _sqlite_pragmas_and_savepoints(engine, cache_mib=sqlite_cache_mib, autocheckpoint=sqlite_wal_autocheckpoint)
        return engine
    if schema and not _IDENTIFIER.fullmatch(schema):
        raise ValueError(f"database schema {schema!r} is not a plain identifier")
    connect_args = {"options": f"-csearch_path={schema}"} if schema else {}
    engine = create_engine(url, echo=echo, pool_size=pool_size, pool_pre_ping=True, connect_args=connect_args)
    _binary_arrays(engine)
    _binary_results(engine)
    return engine


#: execution option: PostgreSQL sends this statement's results in its binary format (a bytea as its bytes, not
#: as hex text). Every column of such a statement must have a binary loader in psycopg (the built-in types
#: do); SQLite ignores it.
BINARY_RESULTS = "gateway_binary_results"


def _binary_results(engine: Engine) -> None:
    """Honour ``BINARY_RESULTS``: SQLAlchemy opens a cursor per statement and psycopg reads its ``format`` when
    executing, so this statement's results come in binary, and errors still pass through SQLAlchemy (a lost
    connection is recognised and the pool invalidated as for any other statement)."""
    from psycopg.pq import Format

    @event.listens_for(engine, "before_cursor_execute")
    def _before(_connection: Any, cursor: Any, _statement: str, _parameters: Any, context: Any,
                _executemany: bool) -> None:
        if context is not None and context.execution_options.get(BINARY_RESULTS):
            cursor.format = Format.BINARY


def _binary_arrays(engine: Engine) -> None:
    """psycopg sends a list parameter (a batch's keys, ``insert_rows``' columns) in PostgreSQL's binary array
    format instead of its text form: the text form quotes and regex-checks every element in Python — 1.76 ms
    of CPU a statement for 20 arrays of 100 strings, 0.35 ms in binary (measured). Element types are chosen
    as for the text form (mixed int/Decimal lists are refused by both); an empty list still goes as text."""
    from psycopg.types.array import ListBinaryDumper

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.adapters.register_dumper(list, ListBinaryDumper)


#: SQLite: the write-ahead log's file is cut back to this size after a checkpoint (a larger checkpoint interval
#: lets it grow to about interval × page size first)
WAL_SIZE_LIMIT = 64 * 2**20


def _sqlite_pragmas_and_savepoints(engine: Engine, *, cache_mib: int, autocheckpoint: int) -> None:
    # pysqlite opens transactions lazily and breaks SAVEPOINT; take over BEGIN ourselves so per-object
    # savepoints work (SQLAlchemy docs, "Serializable isolation / Savepoints / Transactional DDL").
    # The page cache and the checkpoint interval: on a registry of a million stored readings the INSERT and the
    # COMMITs of a 1,000-reading message took 196 ms with SQLite's defaults (2 MiB, 1,000 pages), 84–94 ms with
    # 64 MiB and 10,000 pages (README, Performance); durability is unchanged (every commit is still synced to
    # the log: synchronous stays FULL).
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: sqlite3.Connection, _record: Any) -> None:
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute(f"PRAGMA busy_timeout={int(BUSY_TIMEOUT * 1000)}")
        cursor.execute(f"PRAGMA cache_size={-int(cache_mib) * 1024}")  # negative: KiB, not pages
        cursor.execute(f"PRAGMA wal_autocheckpoint={int(autocheckpoint)}")
        cursor.execute(f"PRAGMA journal_size_limit={WAL_SIZE_LIMIT}")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(connection: Any) -> None:
        queue = connection.connection.info.get(WriterQueue.KEY)
        if queue is not None:
            queue.enter()
        try:
            connection.exec_driver_sql("BEGIN IMMEDIATE")
        except BaseException:
            if queue is not None:
                queue.leave()
            raise

    database = engine.url.database
    if not database or database == ":memory:" or database.startswith("file:"):
        return  # one process: nothing to queue behind

    @event.listens_for(engine, "connect")
    def _open_queue(_dbapi_connection: sqlite3.Connection, record: Any) -> None:
        record.info[WriterQueue.KEY] = WriterQueue(f"{database}-writers", timeout=BUSY_TIMEOUT)

    @event.listens_for(engine, "close")
    def _close_queue(_dbapi_connection: sqlite3.Connection, record: Any) -> None:
        if (queue := record.info.pop(WriterQueue.KEY, None)) is not None:
            queue.close()

    @event.listens_for(engine, "checkin")
    def _on_checkin(_dbapi_connection: sqlite3.Connection, record: Any) -> None:
        # back in the pool, whatever ended its transaction (the pool's own reset rolls back): its turn ends
        if (queue := record.info.get(WriterQueue.KEY)) is not None:
            queue.leave()

    # COMMIT and ROLLBACK are issued here, then the queue let go of: the next transaction may begin at once,
    # not after an attempt that finds the database still locked by a commit in progress
    @event.listens_for(engine, "commit")
    def _on_commit(connection: Any) -> None:
        _end(connection, "COMMIT")

    @event.listens_for(engine, "rollback")
    def _on_rollback(connection: Any) -> None:
        _end(connection, "ROLLBACK")


def _end(connection: Any, statement: str) -> None:
    """COMMIT or ROLLBACK, then the writer's turn ends — only once the transaction has: a COMMIT that fails
    leaves it open (and the turn held) until the caller rolls back. A failure is raised as SQLAlchemy would
    have raised it (``IntegrityError``, ``OperationalError``, …), since it happens in SQLAlchemy's place."""
    fairy = connection.connection
    dbapi_connection = fairy.dbapi_connection
    try:
        if dbapi_connection.in_transaction:
            dbapi_connection.execute(statement)
    except sqlite3.Error as exc:
        raise DBAPIError.instance(statement, None, exc, sqlite3.Error) from exc
    finally:
        if not dbapi_connection.in_transaction and (queue := fairy.info.get(WriterQueue.KEY)) is not None:
            queue.leave()


#: how long a transaction waits for the database (SQLite's busy timeout, and the writers' queue), seconds
BUSY_TIMEOUT = 30.0


class WriterQueue:
    """The processes and threads that use one SQLite file take turns through an OS lock on a file beside it,
    held from BEGIN IMMEDIATE to COMMIT or ROLLBACK.

    Every transaction of the registry begins IMMEDIATE (it takes SQLite's write lock at once). Left to SQLite,
    a transaction that finds the lock taken sleeps in its busy handler for 1, 2, 5, 10, … up to 100 ms at a
    time, so a waiter often misses the moment the lock is free and another takes it: with `gateway serve`'s
    two processes acknowledging and a worker processing, acknowledgements waited seconds (importAccountData,
    8 senders: p99 3.1–3.9 s, acknowledgements at a fifth of the floor's rate). Here a waiter retries every
    half millisecond (``flock`` without blocking: a blocking one could not time out), so the lock passes on
    within a millisecond of its release. An open file description is its own lock holder, so the threads of
    one process queue too; a process that dies lets go of its turn with its descriptors. After
    ``timeout`` seconds a waiter gives up with SQLite's own error, as its busy timeout would.
    """

    KEY = "gateway_writer_queue"
    POLL = 0.0005

    def __init__(self, path: str, *, timeout: float) -> None:
        self.path = path
        self.timeout = timeout
        self._fd: int | None = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
        self._held = False

    def enter(self) -> None:
        if self._fd is None or self._held:
            return
        deadline = time.monotonic() + self.timeout
        while True:
            try:
                fcntl.flock(self._fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                self._held = True
                return
            except BlockingIOError:
                if time.monotonic() >= deadline:
                    raise sqlite3.OperationalError(
                        f"database is locked: no turn to write within {self.timeout:.0f} s ({self.path})") from None
                time.sleep(self.POLL)

    def leave(self) -> None:
        if self._fd is not None and self._held:
            self._held = False
            fcntl.flock(self._fd, fcntl.LOCK_UN)

    def close(self) -> None:
        if self._fd is not None:
            self.leave()
            os.close(self._fd)
            self._fd = None


def alembic_config(engine: Engine) -> AlembicConfig:
    config = AlembicConfig()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.set_main_option("sqlalchemy.url", engine.url.render_as_string(hide_password=False))
    config.attributes["engine"] = engine
    return config


def upgrade(engine: Engine, revision: str = "head") -> None:
    """Bring the schema to ``revision`` (``gateway db upgrade``)."""
    command.upgrade(alembic_config(engine), revision)


def current_revision(engine: Engine) -> str | None:
    from alembic.runtime.migration import MigrationContext

    with engine.connect() as connection:
        return MigrationContext.configure(connection).get_current_revision()


def head_revision() -> str:
    """The newest migration shipped with this version of the gateway."""
    from alembic.script import ScriptDirectory

    config = AlembicConfig()
    config.set_main_option("script_location", str(MIGRATIONS))
    head = ScriptDirectory.from_config(config).get_current_head()
    assert head is not None, "no migrations found"
    return head


def check(engine: Engine, *, upgraded: bool = True) -> None:
    """Refuse to go on unless the database answers and, with ``upgraded``, holds this gateway's schema.

    Raises ``DatabaseUnavailable`` (exit 4 unreachable, 5 not upgraded) with a line naming the fix. A SQLite
    file that does not exist yet is not created here: only ``gateway db upgrade`` creates it.
    """
    from alembic.script import ScriptDirectory
    from sqlalchemy.exc import DBAPIError

    from gateway.errors import Code, DatabaseUnavailable, Exit

    shown = engine.url.render_as_string(hide_password=True)
    upgrade_it = "run `gateway db upgrade` (with the same configuration)"
    if engine.url.get_backend_name() == "sqlite" and engine.url.database not in (None, "", ":memory:"):
        file = Path(str(engine.url.database))
        if not file.parent.is_dir():
            raise DatabaseUnavailable(f"database {shown}: folder {file.parent} does not exist; check database.url "
                                      "(GATEWAY_DATABASE__URL)")
        if not file.is_file():
            if not upgraded:
                return
            raise DatabaseUnavailable(f"database file {file} does not exist: {upgrade_it}",
                                      code=Code.DATABASE_NOT_UPGRADED, exit_code=Exit.DATABASE_NOT_UPGRADED)
    try:
        current = current_revision(engine)
    except DBAPIError as exc:
        reason = str(exc.orig).strip().splitlines()[0] if str(exc.orig).strip() else type(exc.orig).__name__
        raise DatabaseUnavailable(f"database {shown} is unreachable ({reason}); check that it runs and "
                                  "database.url (GATEWAY_DATABASE__URL)") from None
    if not upgraded:
        return
    config = AlembicConfig()
    config.set_main_option("script_location", str(MIGRATIONS))
    script = ScriptDirectory.from_config(config)
    head = script.get_current_head()
    if current == head:
        return
    if current is None:
        raise DatabaseUnavailable(f"database {shown} holds no gateway schema: {upgrade_it}",
                                  code=Code.DATABASE_NOT_UPGRADED, exit_code=Exit.DATABASE_NOT_UPGRADED)
    if current not in {revision.revision for revision in script.walk_revisions()}:
        raise DatabaseUnavailable(f"database {shown} is at revision {current}, newer than this gateway knows "
                                  f"(head {head}): install the gateway version that upgraded it",
                                  code=Code.DATABASE_NOT_UPGRADED, exit_code=Exit.DATABASE_NOT_UPGRADED)
    raise DatabaseUnavailable(f"database {shown} is at revision {current}, this gateway needs {head}: {upgrade_it}",
                              code=Code.DATABASE_NOT_UPGRADED, exit_code=Exit.DATABASE_NOT_UPGRADED)
