"""Every command of the README's Operations section, run against broken configurations, ends in one line on
stderr naming the problem and in the exit code the README documents for its kind — never a traceback."""

from __future__ import annotations

import re
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from gateway.cli import main
from gateway.errors import Code, Exit
from gateway.signing import keys

ROOT = Path(__file__).resolve().parents[2]
README = (ROOT / "README.md").read_text(encoding="utf-8")
FIXTURES = ROOT / "fixtures"
ORG = "6e5d4c3b-2a19-4087-b6a5-f4e3d2c1b0a9"
GUID = "11111111-2222-4333-8444-555555555555"


def readme_commands() -> set[str]:
    """The commands of the Operations section's code block: `gateway reconcile list | runs` gives two."""
    section = README.split("\n## Operations", 1)[1].split("\n## ", 1)[0]
    block = section.split("```sh\n", 1)[1].split("```", 1)[0]
    found: set[str] = set()
    for line in block.splitlines():
        if not line.startswith("gateway "):
            continue
        words: list[str] = []
        for token in line.split("#", 1)[0].split()[1:]:
            if token == "|" or re.fullmatch(r"[a-z][a-z-]*(\|[a-z][a-z-]*)*", token):
                words.append(token)
            else:
                break
        text = " ".join(words).replace(" | ", "|")
        group, _, rest = text.partition(" ")
        for alternative in (rest.split("|") if rest else [""]):
            found.add(f"{group} {alternative}".strip())
    return found


def samples(tmp: Path) -> dict[str, list[str]]:
    """Concrete arguments for each README command (files that exist where click checks that they do)."""
    ca = keys.issue_test_ca()
    keys.write_pem(ca, tmp / "ca.key.pem", tmp / "ca.cert.pem")
    (tmp / "list.crl").write_bytes(b"not read: the configuration is checked first")
    orgs, cert = str(FIXTURES / "organisations.toml"), str(tmp / "ca.cert.pem")
    (tmp / "password").write_text("a long enough password\n", encoding="utf-8")
    return {
        "db upgrade": [],
        "db partitions": ["--ensure"],
        "db series": ["--rebuild"],
        "orgs load": [orgs],
        "keys register": [ORG, cert],
        "keys revoke": ["0123abcd"],
        "keys crl": [str(tmp / "list.crl"), "--issuer", cert],
        "keys list": [],
        "keys issue-test": ["--orgs", orgs, "--out", str(tmp / "pki")],
        "nsi load": [str(FIXTURES / "nsi")],
        "registry house": [GUID],
        "registry history": [GUID],
        "powers grant": [ORG, GUID, "--function", "houses"],
        "powers accept": [GUID],
        "powers recall": [GUID],
        "powers renounce": [GUID],
        "powers list": [],
        "serve": ["--port", "0"],
        "worker": ["--once"],
        "messages list": ["--state", "dead"],
        "messages show": [GUID],
        "messages retry": [GUID],
        "archive verify": [],
        "reconcile run": ["authority"],
        "reconcile list": [],
        "reconcile runs": [],
        "reconcile discrepancies": ["--format", "json"],
        "reconcile ack": ["1", "--note", "seen"],
        "reconcile resolve": ["1", "--note", "fixed"],
        "reconcile apply": ["1", "--reason", "the register is right"],
        "report compliance": ["--as-of", "2026-11-30", "--format", "json", "-o", str(tmp / "report.json")],
        "scheduler": [],
        "audit list": [],
        "audit refusals": [],
        "audit prune": [],
        "users add": ["inspector", "--org", ORG, "--role", "provider", "--password-file", str(tmp / "password")],
        "users disable": ["inspector"],
        "users reset": ["inspector", "--password-file", str(tmp / "password")],
        "users list": [],
    }


def test_the_samples_cover_exactly_the_readme_commands(tmp_path: Path) -> None:
    assert readme_commands() == set(samples(tmp_path))


BROKEN = {
    # name: (configuration file text or None for a file that does not exist, environment, exit code, code)
    "missing file": (None, {}, Exit.CONFIG, Code.CONFIG_INVALID),
    "malformed file": ("[database\nurl = 1\n", {}, Exit.CONFIG, Code.CONFIG_INVALID),
    "unknown key": ("[server]\nprot = 8080\n", {}, Exit.CONFIG, Code.CONFIG_INVALID),
    "port out of range": ("[server]\nport = 70000\n", {}, Exit.CONFIG, Code.CONFIG_INVALID),
    "malformed database URL": ("", {"GATEWAY_DATABASE__URL": "postgres//nowhere"}, Exit.CONFIG,
                               Code.DATABASE_URL_INVALID),
    "database unreachable": ("", {"GATEWAY_DATABASE__URL": "postgresql+psycopg://gateway@127.0.0.1:1/gateway"},
                             Exit.DATABASE_UNREACHABLE, Code.DATABASE_UNREACHABLE),
    "database folder missing": ("", {"GATEWAY_DATABASE__URL": "sqlite:///{tmp}/no/such/folder/g.sqlite3"},
                                Exit.DATABASE_UNREACHABLE, Code.DATABASE_UNREACHABLE),
    "database never upgraded": ("", {"GATEWAY_DATABASE__URL": "sqlite:///{tmp}/empty.sqlite3"},
                                Exit.DATABASE_NOT_UPGRADED, Code.DATABASE_NOT_UPGRADED),
}


@pytest.mark.parametrize("broken", sorted(BROKEN))
def test_every_operations_command_ends_in_one_line_and_its_documented_exit_code(broken: str, tmp_path: Path) -> None:
    text, environ, exit_code, code = BROKEN[broken]
    config = tmp_path / "gateway.toml"
    if text is not None:
        config.write_text(text, encoding="utf-8")
    sqlite3.connect(tmp_path / "empty.sqlite3").close()  # a database file without the gateway's schema
    env = {"GATEWAY_LOGGING__LEVEL": "WARNING", **{k: v.format(tmp=tmp_path) for k, v in environ.items()}}
    runner = CliRunner()
    for command, args in samples(tmp_path).items():
        if command == "db upgrade" and exit_code == Exit.DATABASE_NOT_UPGRADED:
            continue  # the one command that fixes it
        result = runner.invoke(main, ["--config", str(config), *command.split(), *args], env=env)
        lines = result.stderr.splitlines()
        assert result.exit_code == exit_code, (command, result.output, result.exception)
        assert len(lines) == 1 and lines[0].startswith(f"error {code}: "), (command, result.stderr)
        assert result.stdout == "", (command, result.stdout)
    assert not (tmp_path / "pki").exists()  # keys issue-test wrote nothing before it knew it could register


def test_the_console_script_prints_one_line_and_the_traceback_only_with_debug(tmp_path: Path) -> None:
    command = [sys.executable, "-m", "gateway.cli", "--config", str(tmp_path / "missing.toml"), "messages", "list"]
    plain = subprocess.run(command, capture_output=True, text=True, timeout=120)
    assert plain.returncode == Exit.CONFIG
    assert plain.stderr.splitlines() == [f"error {Code.CONFIG_INVALID}: configuration file "
                                         f"{tmp_path / 'missing.toml'} does not exist"]
    debug = subprocess.run([*command[:3], "--debug", *command[3:]], capture_output=True, text=True, timeout=120)
    assert debug.returncode != 0 and "Traceback" in debug.stderr and "ConfigError" in debug.stderr


def test_usage_errors_are_one_line_with_exit_2(tmp_path: Path) -> None:
    env = {"GATEWAY_DATABASE__URL": f"sqlite:///{tmp_path / 'g.sqlite3'}", "GATEWAY_LOGGING__LEVEL": "WARNING"}
    runner = CliRunner()
    (tmp_path / "not.pem").write_text("not a certificate\n")
    for args in (["messages", "list", "--limit", "-1"], ["messages", "show", "not-a-guid"],
                 ["keys", "register", ORG, str(tmp_path / "not.pem")], ["serve", "--port", "70000"],
                 ["messages", "retry"], ["keys", "revoke", "xyz"], ["registry", "history", "nope"], ["--bogus"],
                 ["no-such-command"]):
        result = runner.invoke(main, args, env=env)
        assert result.exit_code == Exit.USAGE, (args, result.output)
        lines = result.stderr.splitlines()
        assert len(lines) == 1 and lines[0].startswith(f"error {Code.USAGE_INVALID}: "), (args, result.stderr)
