"""`gateway serve` forks its processes (gunicorn): no database connection may cross the fork.

A connection the master opened (the start-up database check) and left in the pool was inherited by every
process gunicorn forked; two processes then spoke over one socket at once, and under 8 concurrent senders
about one run in four answered SRV999999 (PostgreSQL: "unexpected result EMPTY_QUERY from command 'BEGIN'",
"savepoint does not exist") or refused a registered certificate as unknown (INT002004): found by `make bench`.
The check here is exact rather than a race to provoke: no socket other than the listening one is open in two
of the server's processes, after each has answered requests.
"""

from __future__ import annotations

import os
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
import requests

from gateway import bootstrap
from tests.integration.serving import PATH, fresh_house, gateway_serve


def _children(pid: int) -> list[int]:
    found = []
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                stat = Path(f"/proc/{entry}/stat").read_text()
            except OSError:
                continue
            if int(stat.rpartition(")")[2].split()[1]) == pid:  # the field after the state is the parent
                found.append(int(entry))
    return found


def _sockets(pid: int) -> set[str]:
    held = set()
    for fd in os.listdir(f"/proc/{pid}/fd"):
        try:
            target = os.readlink(f"/proc/{pid}/fd/{fd}")
        except OSError:
            continue
        if target.startswith("socket:["):
            held.add(target[len("socket:["):-1])
    return held


def _listening() -> set[str]:
    inodes = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        for line in Path(table).read_text().splitlines()[1:]:
            fields = line.split()
            if fields[3] == "0A":  # LISTEN
                inodes.add(fields[9])
    return inodes


@pytest.mark.skipif(not Path("/proc/self/fd").is_dir(), reason="reads the processes' sockets from /proc (Linux)")
def test_no_database_connection_is_shared_by_the_server_processes(gateway: bootstrap.Gateway, pki, envelopes,  # type: ignore[no-untyped-def]
                                                                  tmp_path: Path) -> None:
    with gateway_serve(gateway, pki, tmp_path) as served:
        def post(_: int) -> int:
            return requests.post(served.url + PATH, data=fresh_house(envelopes), timeout=60, headers={
                "Content-Type": "text/xml; charset=utf-8", "SOAPAction": '"urn:importHouseUOData"'}).status_code

        with ThreadPoolExecutor(8) as pool:  # enough at once that both processes answer some
            statuses = list(pool.map(post, range(24)))
        assert statuses == [200] * 24, served.log_text()[-3000:]
        master = served.process.pid
        processes = [master, *_children(master)]
        assert len(processes) >= 3, processes  # the master and its two workers
        listening = _listening()
        held = {pid: _sockets(pid) - listening for pid in processes}
        shared = {(a, b): held[a] & held[b] for a in processes for b in processes if a < b and held[a] & held[b]}
        assert not shared, f"sockets open in two server processes: {shared}"
        assert "internal_error" not in served.log_text()
