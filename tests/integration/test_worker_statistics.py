"""A worker keeps the registry's statistics fresh where autovacuum does not (PostgreSQL, worker.statistics_seconds):
tables never analysed or changed by a fifth are ANALYZEd, by one worker at a time, at most every interval."""

from __future__ import annotations

from sqlalchemy import text

from gateway.bootstrap import Gateway
from gateway.messages.worker import _STATISTICS_LOCK


def _analysed(gateway: Gateway, table: str) -> bool:
    with gateway.engine.connect() as connection:
        return bool(connection.execute(text(
            "SELECT coalesce(last_analyze, last_autoanalyze) IS NOT NULL FROM pg_stat_user_tables "
            "WHERE schemaname = current_schema() AND relname = :t"), {"t": table}).scalar())


def _counted(gateway: Gateway, table: str) -> None:
    """Wait until the statistics count every row the set-up inserted into ``table``. PostgreSQL 15 takes a
    backend's counts in at most once a second (and at its exit): counts of the set-up's connections arriving
    after an ANALYZE made the table look changed since (a CI run on a loaded machine failed so)."""
    import time

    gateway.engine.dispose()  # the set-up's backends exit, handing in what they counted
    deadline = time.monotonic() + 30
    while True:
        with gateway.engine.connect() as connection:
            rows = connection.execute(text(f'SELECT count(*) FROM "{table}"')).scalar()  # noqa: S608 - a constant
            counted = connection.execute(text(
                "SELECT n_tup_ins FROM pg_stat_user_tables WHERE schemaname = current_schema() AND relname = :t"),
                {"t": table}).scalar()
        if counted is not None and counted >= (rows or 0):
            return
        assert time.monotonic() < deadline, f"{table}: {counted} of {rows} inserted rows counted after 30 s"
        time.sleep(0.1)


def test_a_worker_analyses_stale_tables_once_an_interval_and_one_worker_at_a_time(gateway: Gateway) -> None:
    worker = gateway.worker
    if gateway.engine.dialect.name != "postgresql":
        assert worker.refresh_statistics() == []  # SQLite plans without such statistics
        return
    _counted(gateway, "organisations")
    worker._statistics_due = 0.0
    with gateway.engine.connect() as holder:  # another worker is at it: this one skips the round
        holder.execute(text("SELECT pg_advisory_lock(:key)"), {"key": _STATISTICS_LOCK})
        assert worker.refresh_statistics() == []
        holder.execute(text("SELECT pg_advisory_unlock(:key)"), {"key": _STATISTICS_LOCK})
    assert not _analysed(gateway, "organisations")
    worker._statistics_due = 0.0
    analysed = worker.refresh_statistics()
    assert "organisations" in analysed and _analysed(gateway, "organisations")
    assert worker.refresh_statistics() == []  # not again within the interval
    worker._statistics_due = 0.0
    assert "organisations" not in worker.refresh_statistics()  # fresh now: nothing changed since


def test_a_table_someone_holds_locked_is_skipped_not_waited_for(gateway: Gateway) -> None:
    import threading

    if gateway.engine.dialect.name != "postgresql":
        return
    worker = gateway.worker
    with gateway.engine.connect() as holder:
        holder.execute(text("LOCK TABLE organisations IN ACCESS EXCLUSIVE MODE"))  # a migration, say
        worker._statistics_due = 0.0
        done: list[list[str]] = []
        thread = threading.Thread(target=lambda: done.append(worker.refresh_statistics()))
        thread.start()
        thread.join(20)
        assert not thread.is_alive() and done  # it came back while the lock is held
        assert not _analysed(gateway, "organisations")
        holder.rollback()
    worker._statistics_due = 0.0
    worker.refresh_statistics()
    assert _analysed(gateway, "organisations")  # next time round
