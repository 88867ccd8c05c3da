"""The benchmarks' set-up leaves a registry an operator would accept: `gateway archive verify` is clean
(issue 19: the set-up messages' results were not archived, 291 problems on a fresh benchmark registry)."""

from __future__ import annotations

from pathlib import Path

from click.testing import CliRunner

from benchmarks import load, readings
from gateway.cli import main
from gateway.config import DatabaseConfig
from gateway.messages import archive


def test_the_benchmark_set_up_passes_archive_verify(database: DatabaseConfig, tmp_path: Path) -> None:
    deployment = load.deploy(database, tmp_path)
    flats = load._houses(deployment.gateway, deployment.org, 2, 3)  # a contract, houses, premises
    readings._devices(deployment.gateway, deployment.org, flats)  # and their meters
    with deployment.gateway.engine.connect() as connection:
        report = archive.verify(connection)
    assert report.intact, report.problems[:5]
    assert report.entries >= 6  # each set-up message: its request and its result
    deployment.gateway.engine.dispose()

    outcome = CliRunner().invoke(main, ["archive", "verify"], env=deployment.env)
    assert outcome.exit_code == 0, outcome.output
    assert outcome.output.startswith(f"archive intact: {report.entries} entries")
