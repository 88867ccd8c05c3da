"""How the ``gateway`` command ends when something is wrong: one line on stderr naming the problem and the fix,
an exit code by kind (``gateway.errors.Exit``; README "Operations"), a traceback only with ``--debug``.

``GatewayCommand`` is the top-level click group: every command's error passes through its ``invoke``, so the
console script and click's test runner end the same way.
"""

from __future__ import annotations

import logging
from typing import Any

import click
from sqlalchemy import exc as sa

from gateway.domain.values import InvalidValue
from gateway.errors import Code, Exit, GatewayError

log = logging.getLogger("gateway.cli")


def first_line(error: BaseException) -> str:
    """The first line of a (driver's) error message: enough to name the problem, never a traceback."""
    text = str(getattr(error, "orig", None) or error).strip()
    return text.splitlines()[0] if text else type(error).__name__


def describe(error: BaseException) -> tuple[int, str]:
    """The exit code and the one line for an error that ends a command."""
    if isinstance(error, click.UsageError):
        where = f" (see `{error.ctx.command_path} --help`)" if error.ctx is not None else ""
        return Exit.USAGE, f"error {Code.USAGE_INVALID}: {error.format_message()}{where}"
    if isinstance(error, click.ClickException):
        return error.exit_code, f"error {Code.COMMAND_REFUSED}: {error.format_message()}"
    if isinstance(error, InvalidValue):  # a value given on the command line
        return Exit.USAGE, f"error {Code.USAGE_INVALID}: {error}"
    if isinstance(error, GatewayError):
        return error.exit_code, f"error {error.code}: {error.message}"
    if isinstance(error, sa.IntegrityError):
        return Exit.REFUSED, (f"error {Code.COMMAND_REFUSED}: the registry refused the change, nothing was written "
                              f"({first_line(error)})")
    if isinstance(error, sa.OperationalError | sa.InterfaceError | sa.DisconnectionError):
        return Exit.DATABASE_UNREACHABLE, (f"error {Code.DATABASE_UNREACHABLE}: the database failed: "
                                           f"{first_line(error)}; check that it runs and database.url "
                                           "(GATEWAY_DATABASE__URL)")
    if isinstance(error, OSError):
        where = f"{error.filename}: " if error.filename else ""
        return Exit.REFUSED, f"error {Code.COMMAND_FAILED}: {where}{error.strerror or first_line(error)}"
    return Exit.INTERNAL, (f"error {Code.COMMAND_FAILED}: internal error {type(error).__name__}: {first_line(error)} "
                           "(run again with --debug for the traceback, and report it)")


class GatewayCommand(click.Group):
    """The ``gateway`` group: translates what ends a command into one line and an exit code."""

    def make_context(self, info_name: str | None, args: list[str], parent: click.Context | None = None,
                     **extra: Any) -> click.Context:
        try:
            return super().make_context(info_name, args, parent, **extra)
        except click.exceptions.NoArgsIsHelpError:  # plain `gateway`: click shows the help, as ever
            raise
        except click.UsageError as error:  # the group's own options (gateway --bogus): one line too
            code, line = describe(error)
            click.echo(line, err=True)
            raise click.exceptions.Exit(code) from None

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except (click.exceptions.Exit, click.Abort, click.exceptions.NoArgsIsHelpError):
            raise  # a group named without its command shows its help, as click does
        except Exception as error:  # noqa: BLE001 - every failure ends in one line; --debug re-raises
            if getattr(ctx.obj, "debug", False) and not isinstance(error, click.ClickException):
                raise
            code, line = describe(error)
            log.debug("event=command_failed exit=%d %s", code, line)
            click.echo(line, err=True)
            raise click.exceptions.Exit(code) from None
