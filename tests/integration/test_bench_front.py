"""The accept benchmark's "front alone" figure (issue 18: the HTTP ratio's measured reason): an application that
holds the interpreter as long as it is told, behind the real front, posted to by the bench's sender process."""

from __future__ import annotations

from benchmarks.accept import Holder, Sender
from gateway.soap.front import FrontSettings
from gateway.soap.server import EmbeddedServer


def test_the_holder_holds_as_long_as_told_and_the_sender_waits_the_hold_and_the_transport() -> None:
    holder = Holder()
    message = b"<a>" + b"x" * 200_000 + b"</a>"
    with EmbeddedServer(holder, settings=FrontSettings()) as server:
        sender = Sender(*server.socket.getsockname()[:2])
        try:
            waited = []
            for seconds in (0.0, 0.02):
                holder.seconds = seconds
                waited.append(sender.post(message))
        finally:
            sender.close()
    assert len(holder.held) == 2
    assert holder.held[0] < 0.02 <= holder.held[1]
    # what the sender waits beyond the hold (the figure the bench prints) is positive: the hold is inside it
    assert all(w > h for w, h in zip(waited, holder.held, strict=True))
