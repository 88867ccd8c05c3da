"""``gateway users add|disable|reset|list``: the web console's accounts (gateway.console.accounts), audited."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click

from gateway.console import accounts
from gateway.registry import console as store


def _password(password_file: Path | None) -> str:
    """From the file's first line, or a hidden prompt asked twice; never an argument (it would show in ps)."""
    if password_file is not None:
        try:
            lines = password_file.read_text(encoding="utf-8").splitlines()
        except OSError as exc:
            raise click.BadParameter(str(exc), param_hint="--password-file") from None
        return lines[0] if lines else ""
    return str(click.prompt("Password", hide_input=True, confirmation_prompt=True))


def _actor() -> str:
    from gateway.sync.runner import who

    return who()


@click.group("users")
def users_group() -> None:
    """Web console accounts: regulators, support staff, providers."""


@users_group.command("add")
@click.argument("login")
@click.option("--org", required=True, metavar="GUID", help="The organisation the account belongs to.")
@click.option("--role", required=True, type=click.Choice(sorted(accounts.ORG_ROLES)),
              help="regulator (an inspectorate), support (the operator's staff) or provider.")
@click.option("--password-file", type=click.Path(dir_okay=False, path_type=Path),
              help="Read the password from this file's first line instead of a prompt.")
@click.pass_obj
def users_add(obj: Any, login: str, org: str, role: str, password_file: Path | None) -> None:
    """Add an account LOGIN."""
    user = accounts.add(obj.gateway().engine, login=login, org=org, role=role, password=_password(password_file),
                        actor=_actor())
    click.echo(f"added {user.login} ({user.role}) for organisation {user.org_guid}")


@users_group.command("disable")
@click.argument("login")
@click.pass_obj
def users_disable(obj: Any, login: str) -> None:
    """Disable an account: it can no longer log in, and its open sessions end at their next request."""
    accounts.disable(obj.gateway().engine, login=login, actor=_actor())
    click.echo(f"disabled {login}")


@users_group.command("reset")
@click.argument("login")
@click.option("--password-file", type=click.Path(dir_okay=False, path_type=Path),
              help="Read the new password from this file's first line instead of a prompt.")
@click.pass_obj
def users_reset(obj: Any, login: str, password_file: Path | None) -> None:
    """Set a new password (and enable a disabled account)."""
    accounts.reset(obj.gateway().engine, login=login, password=_password(password_file), actor=_actor())
    click.echo(f"password of {login} reset")


@users_group.command("list")
@click.option("--org", metavar="GUID", help="Only this organisation's accounts.")
@click.pass_obj
def users_list(obj: Any, org: str | None) -> None:
    """The accounts, by login."""
    with obj.gateway().engine.connect() as connection:
        found = store.users(connection, org=org)
    for user in found:
        state = f"disabled {user.disabled_at:%Y-%m-%d}" if user.disabled_at else "active"
        click.echo(f"{user.login:<24} {user.role:<10} org={user.org_guid}  {state}")
    if not found:
        click.echo("no console accounts")
