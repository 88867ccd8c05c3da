"""The front's accepted connections leave Nagle's algorithm off.

Without TCP_NODELAY an answer written after its head waits, on a kept-alive connection, for the client's
delayed ACK — 40 ms a request on Linux, so a provider polling getState over one connection was answered 40
times slower than over new ones. asyncio sets the option only on sockets made with proto IPPROTO_TCP, which
``socket.create_server`` (the embedded server) does not make; the front sets it on each connection.
"""

from __future__ import annotations

import socket
import time
from typing import Any

from gateway.soap.front import FrontSettings
from gateway.soap.server import EmbeddedServer


def _app(environ: dict[str, Any], start_response: Any) -> list[bytes]:
    environ["wsgi.input"].read()
    start_response("200 OK", [("Content-Type", "text/plain"), ("Content-Length", "2")])
    return [b"ok"]


def test_every_accepted_connection_has_tcp_nodelay_and_keeps_alive() -> None:
    with EmbeddedServer(_app, settings=FrontSettings()) as server, \
            socket.create_connection(server.socket.getsockname()[:2], timeout=5) as client:
        answers = b""
        for _ in range(2):  # two requests on one connection: it was kept alive
            client.sendall(b"POST /x HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: 3\r\n\r\nabc")
            answer = b""
            while not answer.endswith(b"\r\n\r\nok"):
                chunk = client.recv(4096)
                assert chunk, answer
                answer += chunk
            answers += answer
        assert answers.count(b"HTTP/1.1 200") == 2
        deadline = time.monotonic() + 5
        while not server.front.connections and time.monotonic() < deadline:
            time.sleep(0.01)
        (connection,) = server.front.connections
        accepted = connection.writer.get_extra_info("socket")
        assert accepted.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY) != 0
        # the listening socket itself never had it: the front, not the socket's origin, makes it so
        assert server.socket.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY) == 0
