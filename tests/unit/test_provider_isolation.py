"""providers/ installs and runs on a provider's machine without the server's database code (DESIGN §2).

A fresh interpreter whose import system refuses sqlalchemy and the gateway's database layers imports every
providers module, builds, checks and signs a request: if any module reached for them, the import fails.
"""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]

PROBE = textwrap.dedent("""
    import sys
    from importlib.abc import MetaPathFinder

    BLOCKED = ("sqlalchemy", "alembic", "psycopg", "gateway.registry", "gateway.messages", "gateway.services",
               "gateway.soap", "gateway.bootstrap")

    class Refuse(MetaPathFinder):
        def find_spec(self, name, path=None, target=None):
            if name in BLOCKED or name.startswith(tuple(b + "." for b in BLOCKED)):
                raise ImportError(f"blocked for this test: {name}")
            return None

    sys.meta_path.insert(0, Refuse())

    import uuid
    from datetime import date
    from decimal import Decimal

    import providers
    import providers.cli, providers.push, providers.exporting, providers.journal, providers.planning
    from gateway.signing import keys
    from providers import builders, wire
    from providers.records import NsiRef, Reading

    body = builders.readings_request([Reading(str(uuid.uuid4()), date(2026, 9, 25),
                                              NsiRef("1", str(uuid.uuid4())), Decimal("12.5"))])
    issued = keys.issue_test_certificate(keys.issue_test_ca(), org_name="probe", ogrn="1027700999017",
                                         inn="7709990015", algorithm="gost")
    client = providers.ProviderClient("http://127.0.0.1:9", org_guid=str(uuid.uuid4()), key=issued.key,
                                      cert=issued.cert, gateway_cert=None)
    prepared = client.prepare(body)
    assert prepared.data.startswith(b"<?xml") and b"SignatureValue" in prepared.data
    loaded = sorted(m for m in sys.modules if m.startswith(BLOCKED))
    assert not loaded, loaded
    print("isolated")
""")


def test_providers_import_and_sign_with_the_database_code_blocked() -> None:
    result = subprocess.run([sys.executable, "-c", PROBE], cwd=ROOT, capture_output=True, text=True, timeout=120)

    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "isolated"


def test_the_probe_does_block_what_it_claims() -> None:
    """The guard itself: importing the registry under it fails, so a passing probe means something."""
    probe = PROBE.split("import uuid", 1)[0] + "import gateway.registry.tables\n"

    result = subprocess.run([sys.executable, "-c", probe], cwd=ROOT, capture_output=True, text=True, timeout=60)

    assert result.returncode != 0 and "blocked for this test: gateway.registry" in result.stderr
