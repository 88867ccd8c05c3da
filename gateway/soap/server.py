"""An embedded HTTP server for the demo and the tests: the production front (``gateway.soap.front``) in a thread.

The same front as ``gateway serve``, so the demo and the tests meet the same framing rules and timeouts;
what differs is only the host: one process, one event-loop thread, the app's threads beside it. The
listen backlog is ``server.backlog`` (the standard library's servers queue five, and the sixth
simultaneous client is reset).
"""

from __future__ import annotations

import asyncio
import logging
import socket
import threading
from typing import Any

from gateway.soap.front import Front, FrontSettings

log = logging.getLogger("gateway.http")


class EmbeddedServer:
    """``with EmbeddedServer(app, port=0) as server: server.url`` — serves on 127.0.0.1 in a thread.

    Settings come from ``app.config`` (a ``GatewayApp``) unless given.
    """

    def __init__(self, app: Any, host: str = "127.0.0.1", port: int = 0, *,
                 settings: FrontSettings | None = None, backlog: int | None = None) -> None:
        config = getattr(app, "config", None)
        if settings is None:
            settings = FrontSettings.from_config(config) if config is not None else FrontSettings()
        if backlog is None:
            backlog = config.server.backlog if config is not None else 2048
        self.backlog = backlog
        self.socket = socket.create_server((host, port), backlog=backlog)
        self.front = Front(app, settings, access=_access)
        self.loop = asyncio.new_event_loop()
        self._ready = threading.Event()
        self._stop: asyncio.Event | None = None
        self.thread = threading.Thread(target=self._run, name="gateway-http", daemon=True)

    @property
    def url(self) -> str:
        host, port = self.socket.getsockname()[:2]
        return f"http://{host}:{port}"

    def _run(self) -> None:
        asyncio.set_event_loop(self.loop)
        try:
            self.loop.run_until_complete(self._serve())
        finally:
            self.loop.close()

    async def _serve(self) -> None:
        self._stop = asyncio.Event()
        server = await asyncio.start_server(self.front.handle, sock=self.socket, backlog=self.backlog,
                                            limit=2 ** 16)
        self._ready.set()
        await self._stop.wait()
        server.close()
        await self.front.shutdown(grace=5.0)

    def __enter__(self) -> EmbeddedServer:
        self.thread.start()
        self._ready.wait(10)
        return self

    def __exit__(self, *exc: object) -> None:
        if self._stop is not None:
            self.loop.call_soon_threadsafe(self._stop.set)
        self.thread.join(10)
        self.socket.close()


def _access(environ: dict[str, Any], status: str, headers: list[tuple[str, str]], sent: int, seconds: float) -> None:
    log.debug('event=http %s "%s %s" %s %d %.3f', environ.get("REMOTE_ADDR"), environ["REQUEST_METHOD"],
              environ["RAW_URI"], status.split(" ", 1)[0], sent, seconds)
