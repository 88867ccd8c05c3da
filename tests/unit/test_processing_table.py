"""The door's operation table and the worker's processors name the same operations; the door never imports the
worker's side (the path of a message is door → queue → worker → services → registry)."""

from __future__ import annotations

import subprocess
import sys

from gateway.processing.operations import PROCESSORS
from gateway.soap.operations import OPERATIONS


def test_every_operation_the_door_accepts_has_a_processor() -> None:
    assert set(PROCESSORS) == set(OPERATIONS)


def test_the_door_does_not_import_the_worker_side() -> None:
    code = ("import sys, gateway.soap.app; "
            "print(sorted(m for m in sys.modules if m.startswith(('gateway.processing', 'gateway.messages.worker'))))")
    loaded = subprocess.run([sys.executable, "-c", code], check=True, capture_output=True, text=True).stdout
    assert loaded.strip() == "[]"
