"""``gateway serve``'s gunicorn worker class: gunicorn keeps the processes, the front reads the requests.

gunicorn stays the process manager — several processes on one listening socket, ``post_worker_init``
(``settle_heap``), ``child_exit`` (Prometheus multiprocess), heartbeats, the access log, SIGTERM/SIGQUIT
— while each process serves with ``gateway.soap.front``: an asyncio event loop that reads every request
whole under ``server.header_timeout`` / ``server.body_timeout`` and then runs the WSGI app in
``server.threads`` threads. gunicorn's own worker classes do not fit: gthread gives a stalled client a
thread, and uvicorn's worker has no header timeout (a connection that sends half a request line is kept
forever) and answers framing errors with its own text page, not a SOAP Fault.
"""

from __future__ import annotations

import asyncio
import os
import signal
import time
from datetime import timedelta
from types import SimpleNamespace
from typing import Any

from gunicorn.workers.base import Worker

from gateway.soap.front import Front, FrontSettings

#: how often a worker tells the arbiter it is alive (gunicorn kills one silent for ``timeout`` seconds)
_HEARTBEAT = 1.0


class FrontWorker(Worker):  # type: ignore[misc]
    """Settings come from the gunicorn application's ``front_settings`` attribute (``gateway.cli.serve``)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._spawned = time.monotonic()  # in the arbiter, just before the fork

    def run(self) -> None:
        asyncio.run(self._serve())

    async def _serve(self) -> None:
        loop = asyncio.get_running_loop()
        settings: FrontSettings = getattr(self.app, "front_settings", None) or FrontSettings()
        front = Front(self.wsgi, settings, access=self._access, multiprocess=self.cfg.workers > 1)
        stop = asyncio.Event()
        for signum in (signal.SIGTERM, signal.SIGINT, signal.SIGQUIT):
            loop.add_signal_handler(signum, stop.set)
        servers = [await asyncio.start_server(front.handle, sock=listener.sock, backlog=self.cfg.backlog)
                   for listener in self.sockets]
        # gunicorn's "Booting worker" comes at the fork; this process takes requests only from here on (after
        # loading the application and settling its heap): what an operator, or a benchmark, waits for
        self.log.info("event=serve_process_ready pid=%d after_s=%.2f", os.getpid(), time.monotonic() - self._spawned)
        while self.alive and not stop.is_set():
            self.notify()
            if self.ppid != os.getppid():
                self.log.info("Parent changed, shutting down: %s", self)
                break
            try:
                await asyncio.wait_for(stop.wait(), _HEARTBEAT)
            except TimeoutError:
                pass
        for server in servers:
            server.close()
        # connections still arriving are dropped at once; requests in the app get the graceful timeout
        await front.shutdown(grace=float(self.cfg.graceful_timeout))

    def _access(self, environ: dict[str, Any], status: str, headers: list[tuple[str, str]], sent: int,
                seconds: float) -> None:
        """gunicorn's access log (``accesslog``, ``access_log_format``) for each answered request."""
        request_headers = [(key[5:].replace("_", "-"), value) for key, value in environ.items()
                           if key.startswith("HTTP_")]
        self.log.access(SimpleNamespace(status=status, headers=headers, sent=sent),
                        SimpleNamespace(headers=request_headers), environ, timedelta(seconds=seconds))
