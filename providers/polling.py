"""When to ask getState: the official GIS ZhKKh guidance, or shorter intervals where the operator configures them.

The guidance to information systems: the first ``getState`` no earlier than 10 s after the Ack, then after
60, 300, 900 and 1,800 s, and every 1,800 s after that. A push of many messages keeps one such schedule per
message (see ``providers.push``), so waiting on one message never delays sending the next. Tests and the
demo configure shorter intervals (``[polling]`` in provider.toml, or ``PollSchedule(...)``).
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class PollSchedule:
    first: float = 10.0  # seconds from the Ack to the first getState
    intervals: tuple[float, ...] = (60.0, 300.0, 900.0, 1800.0)  # then between polls; the last one repeats
    give_up_after: float = 86400.0  # seconds from the Ack after which a waiter stops (the result stays asked-for)

    def __post_init__(self) -> None:
        if self.first < 0 or any(i <= 0 for i in self.intervals) or not self.intervals:
            raise ValueError("poll intervals must be positive (first may be 0)")

    def delay(self, polls_done: int) -> float:
        """Seconds to wait before the next getState, after ``polls_done`` polls (0: counted from the Ack)."""
        if polls_done == 0:
            return self.first
        return self.intervals[min(polls_done - 1, len(self.intervals) - 1)]


OFFICIAL = PollSchedule()
