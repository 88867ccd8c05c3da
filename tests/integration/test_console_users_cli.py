"""``gateway users``: console accounts from the command line, in-process with CliRunner on SQLite and
PostgreSQL — audited, Argon2-hashed, the password never on the command line nor in the output or the log."""

from __future__ import annotations

from pathlib import Path

from click.testing import CliRunner
from sqlalchemy import select

from gateway.cli import main
from gateway.errors import Code, Exit
from gateway.registry.tables import audit_log, console_users

MC = "6e5d4c3b-2a19-4087-b6a5-f4e3d2c1b0a9"
REGULATOR = "3c2b1a09-8f7e-4d6c-b5a4-938271605f4e"


def _env(gateway) -> dict[str, str]:  # type: ignore[no-untyped-def]
    database = gateway.config.database
    return {"GATEWAY_DATABASE__URL": database.url, "GATEWAY_DATABASE__SCHEMA": database.schema,
            "GATEWAY_LOGGING__LEVEL": "WARNING"}


def test_support_adds_lists_resets_and_disables_console_accounts(gateway, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    runner, env = CliRunner(), _env(gateway)
    secret = tmp_path / "password"
    secret.write_text("first password of maria\n", encoding="utf-8")
    added = runner.invoke(main, ["users", "add", "mc-maria", "--org", MC, "--role", "provider", "--password-file",
                                 str(secret)], env=env)
    assert added.exit_code == 0, added.output
    prompted = runner.invoke(main, ["users", "add", "inspector-ivan", "--org", REGULATOR, "--role", "regulator"],
                             env=env, input="ivan's long password\nivan's long password\n")
    assert prompted.exit_code == 0, prompted.output
    listed = runner.invoke(main, ["users", "list"], env=env)
    assert "mc-maria" in listed.output and "inspector-ivan" in listed.output and "active" in listed.output
    secret.write_text("second password of maria\n", encoding="utf-8")
    reset = runner.invoke(main, ["users", "reset", "mc-maria", "--password-file", str(secret)], env=env)
    assert reset.exit_code == 0 and "second password" not in reset.output
    assert runner.invoke(main, ["users", "disable", "mc-maria"], env=env).exit_code == 0
    assert "disabled" in runner.invoke(main, ["users", "list", "--org", MC], env=env).output
    with gateway.engine.connect() as connection:
        hashes = connection.execute(select(console_users.c.password_hash)).scalars().all()
        audited = connection.execute(select(audit_log.c.action, audit_log.c.detail).where(
            audit_log.c.action.startswith("users."))).all()
    assert all(h.startswith("$argon2id$") for h in hashes)
    assert [a for a, _ in audited] == ["users.add", "users.add", "users.reset", "users.disable"]
    assert not any("password" in str(detail) for _, detail in audited)


def test_an_account_that_does_not_fit_its_organisation_is_refused_with_its_code(gateway, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    runner, env = CliRunner(), _env(gateway)
    secret = tmp_path / "password"
    secret.write_text("a long enough password\n", encoding="utf-8")
    cases = [["--org", MC, "--role", "regulator"], ["--org", "11111111-2222-4333-8444-555555555555", "--role",
                                                     "provider"]]
    for options in cases:
        result = runner.invoke(main, ["users", "add", "someone", *options, "--password-file", str(secret)], env=env)
        assert result.exit_code == Exit.REFUSED and result.stderr.startswith(f"error {Code.CONSOLE_USER_INVALID}: ")
    secret.write_text("short\n", encoding="utf-8")
    short = runner.invoke(main, ["users", "add", "someone", "--org", MC, "--role", "provider", "--password-file",
                                 str(secret)], env=env)
    assert short.exit_code == Exit.REFUSED and short.stderr.startswith(f"error {Code.CONSOLE_USER_INVALID}: ")
    with gateway.engine.connect() as connection:
        assert connection.execute(select(console_users)).all() == []
