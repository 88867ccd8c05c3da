"""SQLite's writers take turns through the queue beside the database file (gateway.registry.db.WriterQueue)."""

from __future__ import annotations

import sqlite3
import threading
import time
from pathlib import Path

import pytest
from sqlalchemy import text

from gateway.registry import db


def test_a_waiting_writer_goes_on_within_milliseconds_of_the_release(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'q.sqlite3'}"
    first, second = db.make_engine(url), db.make_engine(url)  # two engines: as two processes would
    with first.begin() as connection:
        connection.execute(text("CREATE TABLE t (n INTEGER)"))
    released: list[float] = []
    began: list[float] = []

    def hold() -> None:
        with first.begin() as connection:
            connection.execute(text("INSERT INTO t VALUES (1)"))
            time.sleep(0.3)
            released.append(time.monotonic())  # the commit follows at once

    holder = threading.Thread(target=hold)
    holder.start()
    time.sleep(0.05)
    with second.begin() as connection:
        began.append(time.monotonic())
        connection.execute(text("INSERT INTO t VALUES (2)"))
    holder.join()
    with second.connect() as connection:
        assert connection.execute(text("SELECT count(*) FROM t")).scalar() == 2
    # SQLite's own busy handler sleeps up to 100 ms at a time: a waiter could start ~100 ms late
    assert 0 <= began[0] - released[0] < 0.05, began[0] - released[0]
    first.dispose()
    second.dispose()


def test_a_writer_that_gets_no_turn_fails_with_sqlites_error(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(db, "BUSY_TIMEOUT", 0.2)
    url = f"sqlite:///{tmp_path / 'q.sqlite3'}"
    first, second = db.make_engine(url), db.make_engine(url)
    with first.begin() as held:
        held.execute(text("CREATE TABLE t (n INTEGER)"))
        started = time.monotonic()
        with pytest.raises(Exception) as refused:  # noqa: PT011 - SQLAlchemy wraps it or not, by where it rose
            with second.begin() as connection:
                connection.execute(text("INSERT INTO t VALUES (2)"))
        assert 0.15 < time.monotonic() - started < 5
        assert "database is locked" in str(refused.value)
        assert isinstance(refused.value, sqlite3.OperationalError) or isinstance(
            getattr(refused.value, "orig", None), sqlite3.OperationalError)
    with second.begin() as connection:  # the turn ended with the holder's transaction: writing works again
        connection.execute(text("INSERT INTO t VALUES (3)"))
    first.dispose()
    second.dispose()


def test_a_commit_that_fails_raises_sqlalchemys_error_and_keeps_the_turn_until_the_rollback(tmp_path: Path) -> None:
    from sqlalchemy.exc import IntegrityError

    url = f"sqlite:///{tmp_path / 'q.sqlite3'}"
    first, second = db.make_engine(url), db.make_engine(url)
    with first.begin() as connection:
        connection.execute(text("CREATE TABLE p (id INTEGER PRIMARY KEY)"))
        connection.execute(text("CREATE TABLE c (p INTEGER REFERENCES p(id) DEFERRABLE INITIALLY DEFERRED)"))
    connection = first.connect()
    connection.execute(text("INSERT INTO c VALUES (7)"))  # no parent 7: refused at COMMIT
    with pytest.raises(IntegrityError):
        connection.commit()
    connection.rollback()
    connection.close()
    with second.begin() as other:  # the failed writer's turn ended with its rollback
        other.execute(text("INSERT INTO p VALUES (7)"))
    with second.connect() as other:
        assert other.execute(text("SELECT count(*) FROM c")).scalar() == 0
    first.dispose()
    second.dispose()


def test_every_connection_gets_the_configured_page_cache_and_checkpoint_interval(tmp_path: Path) -> None:
    """SQLite's own defaults (2 MiB, 1,000 pages) slowed processing about twofold on a registry of a million
    readings (README, Performance): the gateway's connections are set as configured, durability untouched."""
    from gateway import bootstrap
    from gateway.config import Config, DatabaseConfig

    configured = Config(database=DatabaseConfig(url=f"sqlite:///{tmp_path / 'p.sqlite3'}", sqlite_cache_mib=8,
                                                sqlite_wal_autocheckpoint=2500))
    built = bootstrap.build(configured, answers=False)
    for engine in (built.engine, db.make_engine(configured.database.url)):  # configured; the defaults
        raw = engine.raw_connection()
        try:
            settings = [raw.execute(f"PRAGMA {name}").fetchone()[0]  # type: ignore[attr-defined]
                        for name in ("cache_size", "wal_autocheckpoint", "journal_size_limit", "synchronous",
                                     "journal_mode")]
        finally:
            raw.close()
        default = DatabaseConfig()  # make_engine's own defaults are the configuration's
        expected = [-8 * 1024, 2500] if engine is built.engine else [-default.sqlite_cache_mib * 1024,
                                                                     default.sqlite_wal_autocheckpoint]
        assert settings == [*expected, db.WAL_SIZE_LIMIT, 2, "wal"]  # synchronous 2: FULL
        engine.dispose()
