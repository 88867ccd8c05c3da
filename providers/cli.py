"""``gateway-provider``: push a billing program's export, ask for a message's state, export what the registry holds.

    gateway-provider push KIND FILE --config provider.toml [--resume] [--send-valid] [--encoding E] [--delimiter D]
    gateway-provider status MESSAGEGUID --config provider.toml
    gateway-provider export KIND --fias GUID [--fias GUID…] --config provider.toml [-o FILE]

Exit status: 0 every row accepted, 1 some rows rejected (see the rejects file), 2 could not run (bad config,
gateway unreachable, a file that fails local validation without --send-valid, results still pending).
docs/providers.md is the guide.
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import click

from providers import config as config_mod
from providers import exporting, layouts
from providers.client import MessageFailed, PollTimeout, ProviderClient
from providers.push import Options, Stop, push
from providers.transport import Transport, Unreachable
from providers.wire import AnswerNotTrusted, BadAnswer, GatewayFault

KINDS = tuple(layouts.LAYOUTS)


def _client(config: config_mod.ProviderConfig) -> ProviderClient:
    key, cert = config.signing_pair()
    gateway_cert = config.gateway_cert()
    if gateway_cert is None:
        raise config_mod.ConfigInvalid(f"{config.path}: [gateway] gateway_cert is required: the pinned certificate "
                                       "every answer must be signed with (ask the gateway's operator for it)")
    return ProviderClient(config.url, org_guid=config.org_guid, key=key, cert=cert, gateway_cert=gateway_cert,
                          transport=Transport(config.transport), polling=config.polling,
                          operator_signature=config.operator_signature)


def _fail(message: str) -> None:
    click.echo(f"gateway-provider: {message}", err=True)
    sys.exit(2)


def _progress(quiet: bool) -> Callable[[int], Callable[[int], Any]] | None:
    if quiet:
        return None

    def start(total: int) -> Callable[[int], Any]:
        from tqdm import tqdm

        # tqdm disables itself when stderr is not a terminal (disable=None): no bar in logs and pipes
        bar = tqdm(total=total, unit="row", unit_scale=True, disable=None, dynamic_ncols=True,
                   desc="rows processed")
        update: Callable[[int], Any] = bar.update
        return update

    return start


config_option = click.option("--config", "config_path", type=click.Path(path_type=Path), default=Path("provider.toml"),
                             show_default=True, help="provider.toml: gateway URL, organisation, key, certificates")


@click.group()
def main() -> None:
    """Send a billing program's CSV/XLSX export to dom-gateway (or GIS ZhKKh) as signed requests."""


@main.command("push")
@click.argument("kind", type=click.Choice(KINDS))
@click.argument("file", type=click.Path(path_type=Path))
@config_option
@click.option("--resume", is_flag=True, help="finish the push journaled beside FILE (after a crash or a kill)")
@click.option("--send-valid", is_flag=True, help="send the valid rows even if some fail local validation")
@click.option("--encoding", help="CSV encoding (default: detected; utf-8, utf-8-sig, cp1251)")
@click.option("--delimiter", help="CSV delimiter (default: detected from the header; ';', ',' or tab)")
@click.option("--quiet", is_flag=True, help="no progress bar")
def push_command(kind: str, file: Path, config_path: Path, resume: bool, send_valid: bool, encoding: str | None,
                 delimiter: str | None, quiet: bool) -> None:
    """Check FILE row by row, send it in batches, wait for the results, write FILE's rejects beside it."""
    try:
        config = config_mod.load(config_path)
        client = _client(config)
        nsi = config_mod.load_nsi(config.nsi)
    except config_mod.ConfigInvalid as exc:
        _fail(str(exc))
        return
    if delimiter == "\\t":
        delimiter = "\t"
    options = Options(kind=kind, path=file, resume=resume, send_valid=send_valid, encoding=encoding,
                      delimiter=delimiter, max_in_flight=config.max_in_flight, batch_size=config.batch_size, nsi=nsi)
    try:
        summary = push(options, client, say=lambda line: click.echo(line, err=True), progress=_progress(quiet))
    except Stop as stop:
        _fail(str(stop))
        return
    except KeyboardInterrupt:
        _fail("interrupted; every batch is journaled: run the same command with --resume to finish")
        return
    click.echo(f"{file.name}: {summary.rows} row(s): {summary.accepted} accepted, {summary.rejected} rejected, "
               f"in {summary.batches} request(s), {summary.seconds:.1f} s "
               f"({summary.poll_wait_seconds:.1f} s waiting for results)")
    if summary.rejects_file is not None:
        click.echo(f"rejected rows with their error_code and error_message: {summary.rejects_file}")
    sys.exit(summary.exit_code)


@main.command("status")
@click.argument("message_guid")
@config_option
def status_command(message_guid: str, config_path: Path) -> None:
    """One getState for MESSAGEGUID (the gateway's, from an Ack): its state and each object's result."""
    try:
        client = _client(config_mod.load(config_path))
        service, state = client.status(message_guid)
    except config_mod.ConfigInvalid as exc:
        _fail(str(exc))
        return
    except (GatewayFault, Unreachable, AnswerNotTrusted, BadAnswer) as exc:
        _fail(str(exc))
        return
    names = {1: "received", 2: "processing", 3: "processed"}
    click.echo(f"{message_guid} ({service.value}): RequestState {state.request_state} "
               f"{names.get(state.request_state, '?')}")
    if state.error_code:
        click.echo(f"  {state.error_code} {state.description}")
    for item in state.objects:
        click.echo(f"  {item.transport_guid}: " + (f"accepted {item.guid or ''} {item.unique_number or ''}".rstrip()
                                                   if item.ok else f"{item.error_code} {item.description}"))
    sys.exit(0 if state.done and not state.error_code and all(o.ok for o in state.objects) else 1)


@main.command("export")
@click.argument("kind", type=click.Choice(exporting.KINDS))
@click.option("--fias", "houses", multiple=True, required=True, help="FIAS house GUID (repeat for several houses)")
@config_option
@click.option("-o", "--output", type=click.Path(path_type=Path), help="CSV file to write (default: standard output)")
@click.option("--encoding", default="utf-8-sig", show_default=True, help="CSV encoding (Excel opens utf-8-sig)")
@click.option("--delimiter", default=";", show_default=True)
def export_command(kind: str, houses: tuple[str, ...], config_path: Path, output: Path | None, encoding: str,
                   delimiter: str) -> None:
    """What the registry holds for the houses, as CSV in the push layout of KIND (plus the registry's GUIDs)."""
    try:
        config = config_mod.load(config_path)
        client = _client(config)
        header, rows = exporting.export(kind, client, list(houses), config_mod.load_nsi(config.nsi))
    except config_mod.ConfigInvalid as exc:
        _fail(str(exc))
        return
    except (GatewayFault, Unreachable, AnswerNotTrusted, BadAnswer, MessageFailed, PollTimeout) as exc:
        _fail(str(exc))
        return
    data = exporting.to_csv(header, rows, delimiter="\t" if delimiter == "\\t" else delimiter)
    if output is None:
        click.echo(data, nl=False)
    else:
        output.write_bytes(data.encode(encoding, errors="replace"))
        click.echo(f"{len(rows)} row(s) written to {output}", err=True)


if __name__ == "__main__":
    main()
