"""The `gateway` command, in-process with click's CliRunner, on a real SQLite file."""

from __future__ import annotations

from pathlib import Path

from click.testing import CliRunner

from gateway.cli import main
from gateway.registry import db

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures"


def test_support_staff_can_set_up_a_registry_from_the_command_line(tmp_path: Path) -> None:
    runner = CliRunner()
    env = {"GATEWAY_DATABASE__URL": f"sqlite:///{tmp_path / 'g.sqlite3'}", "GATEWAY_LOGGING__LEVEL": "WARNING"}
    upgraded = runner.invoke(main, ["db", "upgrade"], env=env)
    assert upgraded.exit_code == 0, upgraded.output
    assert f"revision {db.head_revision()}" in upgraded.output
    loaded = runner.invoke(main, ["orgs", "load", str(FIXTURES / "organisations.toml")], env=env)
    assert "registered 6 organisation(s)" in loaded.output
    issued = runner.invoke(main, ["keys", "issue-test", "--orgs", str(FIXTURES / "organisations.toml"),
                                  "--out", str(tmp_path / "pki")], env=env)
    assert issued.exit_code == 0, issued.output
    assert (tmp_path / "pki" / "TEST-ONLY-6e5d4c3b-2a19-4087-b6a5-f4e3d2c1b0a9.key.pem").exists()
    listed = runner.invoke(main, ["keys", "list"], env=env)
    assert listed.output.count("TEST-ONLY") == 6
    fingerprint = listed.output.split()[1].rstrip("…")
    assert len(fingerprint) == 16
    assert runner.invoke(main, ["messages", "list"], env=env).exit_code == 0


def test_registering_a_certificate_for_an_unknown_organisation_fails_clearly(tmp_path: Path) -> None:
    runner = CliRunner()
    env = {"GATEWAY_DATABASE__URL": f"sqlite:///{tmp_path / 'g.sqlite3'}", "GATEWAY_LOGGING__LEVEL": "WARNING"}
    runner.invoke(main, ["db", "upgrade"], env=env)
    runner.invoke(main, ["keys", "issue-test", "--orgs", str(FIXTURES / "organisations.toml"), "--out",
                         str(tmp_path / "pki"), "--no-register"], env=env)
    cert = next((tmp_path / "pki").glob("TEST-ONLY-6e5d*.cert.pem"))
    result = runner.invoke(main, ["keys", "register", "11111111-2222-4333-8444-555555555555", str(cert)], env=env)
    assert result.exit_code != 0 and "is not registered" in result.output


def test_long_running_processes_freeze_their_start_up_heap() -> None:
    """`gateway worker` and each `gateway serve` process: start-up objects frozen, young collections rarer."""
    import gc

    from gateway.cli import settle_heap

    before = gc.get_threshold()
    try:
        settle_heap()
        assert gc.get_threshold() == (20_000, 20, 20)
        assert gc.get_freeze_count() > 0
    finally:
        gc.unfreeze()
        gc.set_threshold(*before)
