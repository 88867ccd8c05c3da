"""`make bench` notes the machine's load before and after each part (issue 18: figures "with the machine's load
noted"), read from the operating system, not assumed."""

from __future__ import annotations

import os
import re

from benchmarks.run import machine_load


def test_the_load_note_gives_the_three_averages_and_the_cores() -> None:
    note = machine_load()
    found = re.fullmatch(r"load average (\d+\.\d\d) / (\d+\.\d\d) / (\d+\.\d\d) \(1 / 5 / 15 min\) on (\d+) cores",
                         note)
    assert found, note
    assert int(found.group(4)) == os.cpu_count()
    assert all(float(found.group(n)) >= 0 for n in (1, 2, 3))
