"""The ``gateway`` console script's first step: settings that must exist before any import.

prometheus-client chooses where metric values live when it is first imported; for ``gateway serve``
(several gunicorn processes) they must live in a shared folder, so ``PROMETHEUS_MULTIPROC_DIR`` is set
here, before the CLI and with it prometheus-client are imported. An operator may set it themselves.
"""

from __future__ import annotations

import os
import sys
import tempfile


def main() -> None:
    if "serve" in sys.argv[1:] and not os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        os.environ["PROMETHEUS_MULTIPROC_DIR"] = tempfile.mkdtemp(prefix="gateway-metrics-")
    from gateway.cli import run

    run()


if __name__ == "__main__":
    main()
