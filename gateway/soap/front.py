"""The gateway's HTTP/1.1 front: reads each request whole in an event loop, then runs the WSGI app in threads.

Why its own front: a thread-per-connection server (gunicorn's gthread, wsgiref) lets eight clients that send
headers and half a body, then nothing, hold every thread for as long as they stay connected. Here a
connection costs a coroutine while its request arrives; only a request whose body is complete reaches the
bounded thread pool, so stalled clients never stop a well-behaved one being answered. Each request has
``header_timeout`` seconds for its line and headers, then ``body_timeout`` seconds for the whole body (a
deadline, not an idle timer: trickling a byte a second does not keep it alive), and the body is capped at
``max_body_bytes``. Shutdown drops connections still arriving and waits only for requests in the app.

HTTP/1.1 parsing is h11's (RFC 9112); the framing decisions are this module's and every refusal is a
SOAP 1.1 Fault with a stable code, also for errors no SOAP handler ever sees (WS-I BP 1.1 R1113: 400
for a malformed request):

- a Content-Length that is not one decimal number — negative, a list of different values, two different
  headers — is refused (RFC 9112 §6.3: invalid framing is unrecoverable), ``HTTP_FRAMING_INVALID``;
  repeated identical values are one length, as RFC 9110 §8.6 allows;
- Transfer-Encoding together with Content-Length is refused (RFC 9112 §6.1: the pair is the request-
  smuggling shape); chunked alone is accepted (Java SOAP stacks chunk large requests), another coding 501;
- a body that ends before its declared length (or last chunk) is refused, ``BODY_LENGTH_MISMATCH``;
- a body over the limit is refused unread, ``BODY_TOO_LARGE`` (413); a client too slow, 408.

``gateway.soap.server.EmbeddedServer`` runs this front in a thread for the demo and the tests;
``gateway.soap.serving.FrontWorker`` runs it in each ``gateway serve`` process.
"""

from __future__ import annotations

import asyncio
import io
import logging
import socket
import sys
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime
from email.utils import formatdate
from typing import Any
from urllib.parse import unquote_to_bytes

import h11

from gateway import metrics
from gateway.errors import BodyTooLarge, Code, FramingRefused, GatewayError, RequestRefused
from gateway.soap import envelope

log = logging.getLogger("gateway.http")

#: request line and headers together; h11 refuses a larger head (431)
MAX_HEAD_BYTES = 32 * 1024
_READ = 64 * 1024
_STATUS = {400: "Bad Request", 408: "Request Timeout", 413: "Payload Too Large", 431: "Request Header Fields Too Large",
           500: "Internal Server Error", 501: "Not Implemented", 503: "Service Unavailable"}

_REASONS = {Code.BODY_LENGTH_MISMATCH: "body_incomplete", Code.BODY_TOO_LARGE: "body_too_large"}

#: what the front reports for each finished request: environ, status line, response headers, bytes sent, seconds
AccessLog = Callable[[dict[str, Any], str, list[tuple[str, str]], int, float], None]


@dataclass(frozen=True)
class FrontSettings:
    header_timeout: float = 10.0
    body_timeout: float = 30.0
    max_body_bytes: int = 10 * 1024 * 1024
    threads: int = 4
    max_connections: int = 1000
    #: seconds a finished response may take to leave, and shutdown waits for requests in the app
    send_timeout: float = 10.0

    @classmethod
    def from_config(cls, config: Any) -> FrontSettings:
        """From a ``gateway.config.Config`` (its ``server`` and ``limits`` sections)."""
        server = config.server
        return cls(header_timeout=server.header_timeout, body_timeout=server.body_timeout,
                   max_body_bytes=config.limits.max_body_bytes, threads=server.threads,
                   max_connections=server.max_connections)


class _Timeout(FramingRefused):
    code = Code.REQUEST_TIMEOUT
    http_status = 408


class Front:
    """``await Front(app, settings).handle(reader, writer)`` for each accepted connection; ``shutdown()`` at the end."""

    def __init__(self, app: Callable[..., Any], settings: FrontSettings, *, access: AccessLog | None = None,
                 multiprocess: bool = False) -> None:
        self.app = app
        self.settings = settings
        self.access = access
        self.multiprocess = multiprocess
        self.pool = ThreadPoolExecutor(settings.threads, thread_name_prefix="gateway-app")
        self.connections: set[_Connection] = set()
        self.closing = False

    async def handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        _no_delay(writer)
        connection = _Connection(self, reader, writer)
        if len(self.connections) >= self.settings.max_connections:
            await connection.refuse(GatewayError(f"this server process holds {len(self.connections)} connections, "
                                                 "its limit; try again shortly", code=Code.SERVER_BUSY),
                                    reason="too_many_connections", status=503, actor="Server")
            return
        self.connections.add(connection)
        try:
            await connection.run()
        finally:
            self.connections.discard(connection)
            connection.close()

    async def shutdown(self, grace: float) -> None:
        """Drop every connection not running the app at once; give those that are ``grace`` seconds."""
        self.closing = True
        deadline = time.monotonic() + grace
        while True:
            for connection in list(self.connections):
                if connection.state in {"idle", "head", "body"}:
                    connection.abort()
            if not self.connections or time.monotonic() >= deadline:
                break
            await asyncio.sleep(0.05)
        for connection in list(self.connections):
            connection.abort()
        self.pool.shutdown(wait=False, cancel_futures=True)


class _Connection:
    def __init__(self, front: Front, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.front, self.reader, self.writer = front, reader, writer
        self.h11 = h11.Connection(h11.SERVER, max_incomplete_event_size=MAX_HEAD_BYTES)
        peer = writer.get_extra_info("peername") or ("-", 0)
        self.peer: tuple[str, int] = (str(peer[0]), int(peer[1])) if len(peer) >= 2 else (str(peer), 0)
        local = writer.get_extra_info("sockname") or ("", 0)
        self.local: tuple[str, int] = (str(local[0]), int(local[1])) if len(local) >= 2 else (str(local), 0)
        self.state = "idle"
        self.requests = 0

    @property
    def peer_text(self) -> str:
        return f"{self.peer[0]}:{self.peer[1]}"

    async def run(self) -> None:
        settings = self.front.settings
        while not self.front.closing:
            self.state = "idle"
            try:
                async with asyncio.timeout(settings.header_timeout):
                    request = await self._head()
                if request is None:
                    return
                self.state = "body"
                self._check_framing(request)
                async with asyncio.timeout(settings.body_timeout):
                    body = await self._body(request)
            except TimeoutError:
                if self.state == "body":
                    await self.refuse(_Timeout(f"the body did not arrive within {settings.body_timeout:g} s "
                                               "(server.body_timeout)"), reason="body_timeout")
                elif self.state == "head" or self.requests == 0:
                    await self.refuse(_Timeout(f"the request line and headers did not arrive within "
                                               f"{settings.header_timeout:g} s (server.header_timeout)"),
                                      reason="header_timeout")
                return  # an idle keep-alive connection is closed without a word
            except h11.RemoteProtocolError as exc:
                status = exc.error_status_hint if exc.error_status_hint in _STATUS else 400
                await self.refuse(FramingRefused(f"malformed HTTP/1.1 request: {exc}", http_status=status),
                                  reason="framing")
                return
            except RequestRefused as refusal:
                await self.refuse(refusal, reason=_REASONS.get(refusal.code, "framing"))
                return
            except OSError:
                return
            self.state = "app"
            self.requests += 1
            if not await self._respond(request, body):
                return

    async def _head(self) -> h11.Request | None:
        while True:
            event = self.h11.next_event()
            if event is h11.NEED_DATA:
                data = await self.reader.read(_READ)
                if data:
                    self.state = "head"
                self.h11.receive_data(data)
            elif isinstance(event, h11.Request):
                return event
            else:  # ConnectionClosed, or PAUSED after a response that closes the connection
                return None

    def _check_framing(self, request: h11.Request) -> None:
        # h11 caps a head that arrives in pieces; one that arrives in a single read is measured here
        if len(request.target) + sum(len(n) + len(v) + 4 for n, v in request.headers) > MAX_HEAD_BYTES:
            raise FramingRefused(f"the request line and headers exceed {MAX_HEAD_BYTES} bytes", http_status=431)
        names = {name for name, _ in request.headers}
        if b"transfer-encoding" in names and b"content-length" in names:
            raise FramingRefused("Transfer-Encoding and Content-Length together are refused (RFC 9112 §6.1)")
        limit = self.front.settings.max_body_bytes
        for name, value in request.headers:
            if name == b"content-length" and int(value) > limit:
                raise BodyTooLarge(f"request body of {int(value)} bytes exceeds the limit of {limit} bytes")
        if self.h11.they_are_waiting_for_100_continue:
            self.writer.write(self.h11.send(h11.InformationalResponse(status_code=100, headers=[])))

    async def _body(self, request: h11.Request) -> bytes:
        limit, size, chunks = self.front.settings.max_body_bytes, 0, []
        while True:
            event = self.h11.next_event()
            if event is h11.NEED_DATA:
                data = await self.reader.read(_READ)
                if not data:
                    declared = next((int(v) for n, v in request.headers if n == b"content-length"), None)
                    expected = f"the {declared} bytes its Content-Length declares" if declared is not None \
                        else "its last chunk"
                    raise FramingRefused(f"the connection ended after {size} bytes of the body, before {expected}",
                                         code=Code.BODY_LENGTH_MISMATCH)
                self.h11.receive_data(data)
            elif isinstance(event, h11.Data):
                size += len(event.data)
                if size > limit:
                    raise BodyTooLarge(f"request body exceeds the limit of {limit} bytes")
                chunks.append(bytes(event.data))
            elif isinstance(event, h11.EndOfMessage):
                return b"".join(chunks)

    async def _respond(self, request: h11.Request, body: bytes) -> bool:
        environ = self._environ(request, body)
        started = time.monotonic()
        loop = asyncio.get_running_loop()
        try:
            status, headers, content = await loop.run_in_executor(self.front.pool, _call, self.front.app, environ)
        except Exception:  # noqa: BLE001 - the app failed outside its own error handling; the log has it
            log.exception("event=internal_error path=%s", environ.get("PATH_INFO"))
            internal = GatewayError("internal error; the request was not accepted, send it again later")
            internal.fault_actor = "Server"
            status, headers, content = "500 Internal Server Error", _fault_headers(), envelope.fault(
                internal, datetime.now(UTC))
        self.state = "respond"
        code, _, reason = status.partition(" ")
        headers = [*headers, ("Date", formatdate(usegmt=True))]
        if self.front.closing:
            headers.append(("Connection", "close"))
        try:
            async with asyncio.timeout(self.front.settings.send_timeout):
                # one write: the head, the content and the end together leave in as few segments as they fit
                self.writer.write(b"".join((
                    self.h11.send(h11.Response(status_code=int(code), reason=reason.encode("latin-1"),
                                               headers=headers)) or b"",
                    self.h11.send(h11.Data(data=content)) or b"",
                    self.h11.send(h11.EndOfMessage()) or b"")))
                await self.writer.drain()
        except (TimeoutError, OSError, h11.LocalProtocolError):
            return False
        if self.front.access is not None:
            self.front.access(environ, status, headers, len(content), time.monotonic() - started)
        if self.h11.our_state is not h11.DONE or self.h11.their_state is not h11.DONE:
            return False
        self.h11.start_next_cycle()
        return True

    def _environ(self, request: h11.Request, body: bytes) -> dict[str, Any]:
        """PEP 3333 environ; CONTENT_LENGTH is the length of the body as received (chunked or not)."""
        target = request.target.decode("latin-1")
        path, _, query = target.partition("?")
        environ: dict[str, Any] = {
            "REQUEST_METHOD": request.method.decode("ascii"), "SCRIPT_NAME": "", "RAW_URI": target,
            "PATH_INFO": unquote_to_bytes(path).decode("latin-1"), "QUERY_STRING": query,
            "SERVER_NAME": self.local[0], "SERVER_PORT": str(self.local[1]),
            "SERVER_PROTOCOL": f"HTTP/{request.http_version.decode('ascii')}",
            "REMOTE_ADDR": self.peer[0], "REMOTE_PORT": str(self.peer[1]), "CONTENT_LENGTH": str(len(body)),
            "wsgi.version": (1, 0), "wsgi.url_scheme": "http", "wsgi.input": io.BytesIO(body),
            "wsgi.errors": sys.stderr, "wsgi.multithread": True, "wsgi.multiprocess": self.front.multiprocess,
            "wsgi.run_once": False, "wsgi.input_terminated": True,
        }
        for raw_name, raw_value in request.headers:
            name = raw_name.decode("latin-1")
            if "_" in name:  # Content_Length would become CONTENT_LENGTH: such names are dropped, as proxies do
                continue
            key = name.upper().replace("-", "_")
            value = raw_value.decode("latin-1")
            if key == "CONTENT_LENGTH":
                continue
            if key != "CONTENT_TYPE":
                key = f"HTTP_{key}"
            environ[key] = f"{environ[key]},{value}" if key in environ else value
        return environ

    async def refuse(self, error: GatewayError, *, reason: str, status: int | None = None,
                     actor: str | None = None) -> None:
        """Log the refusal, answer it with a SOAP 1.1 Fault if the client still listens, and close."""
        status = status or error.http_status
        if actor:
            error.fault_actor = actor
        log.warning("event=refused code=%s reason=%s peer=%s status=%d detail=%s",
                    error.code, reason, self.peer_text, status, error.message[:200])
        metrics.REFUSALS.labels(str(error.code)).inc()
        content = envelope.fault(error, datetime.now(UTC))
        head = (f"HTTP/1.1 {status} {_STATUS.get(status, 'Error')}\r\n"
                + "".join(f"{n}: {v}\r\n" for n, v in _fault_headers())
                + f"Content-Length: {len(content)}\r\nDate: {formatdate(usegmt=True)}\r\nConnection: close\r\n\r\n")
        try:
            self.writer.write(head.encode("latin-1") + content)
            async with asyncio.timeout(1.0):
                await self.writer.drain()
                # a lingering close: closing with unread bytes would reset the connection, and the reset can
                # destroy the answer before the client reads it; so end our side and read what is in flight
                if self.writer.can_write_eof():
                    self.writer.write_eof()
                while await self.reader.read(_READ):
                    pass
        except (TimeoutError, OSError):
            pass
        self.close()

    def close(self) -> None:
        if not self.writer.is_closing():
            self.writer.close()

    def abort(self) -> None:
        transport = self.writer.transport
        if not transport.is_closing():
            transport.abort()


def _no_delay(writer: asyncio.StreamWriter) -> None:
    """TCP_NODELAY on the accepted connection. asyncio sets it only on sockets made with proto IPPROTO_TCP, and
    ``socket.create_server`` (the embedded server) makes them with proto 0; without it, the second segment of an
    answer on a kept-alive connection waits for the client's delayed ACK — 40 ms a request on Linux.
    gunicorn sets it on its listening sockets, which accepted ones inherit; setting it again costs nothing."""
    sock = writer.get_extra_info("socket")
    if sock is not None and sock.family in (socket.AF_INET, socket.AF_INET6):
        try:
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        except OSError:  # the peer is already gone: the read that follows finds out
            pass


def _fault_headers() -> list[tuple[str, str]]:
    return [("Content-Type", "text/xml; charset=utf-8")]


def _call(app: Callable[..., Any], environ: dict[str, Any]) -> tuple[str, list[tuple[str, str]], bytes]:
    """Run the WSGI app in a pool thread and collect its whole answer (the gateway's answers are small)."""
    started: dict[str, Any] = {}

    def start_response(status: str, headers: list[tuple[str, str]], exc_info: Any = None) -> Callable[[bytes], None]:
        started["status"], started["headers"] = status, headers
        return lambda _data: None

    result = app(environ, start_response)
    try:
        content = b"".join(result)
    finally:
        close = getattr(result, "close", None)
        if close is not None:
            close()
    return started["status"], list(started["headers"]), content
