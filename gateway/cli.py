"""``gateway``: serve, worker, demo, db, orgs, keys, messages. Errors exit non-zero with their code."""

from __future__ import annotations

import gc
import getpass
import logging
import multiprocessing
import os
import signal
import threading
from datetime import UTC, date, datetime
from pathlib import Path

import click

from gateway import bootstrap, nsifile, orgfile
from gateway import config as config_module
from gateway.cli_errors import GatewayCommand
from gateway.cli_options import as_of_moment
from gateway.cli_powers import powers_group
from gateway.console.mount import web
from gateway.domain.provenance import Provenance
from gateway.domain.values import Guid, InvalidValue
from gateway.errors import Code, CommandRefused, Exit
from gateway.registry import audit, db
from gateway.signing import keys

log = logging.getLogger("gateway.cli")


def operator(reason: str) -> Provenance:
    """The provenance of a change made from this command line: the OS user, and what they ran."""
    return Provenance.of_operator(getpass.getuser(), reason, role="administrator")


def refused(gateway: bootstrap.Gateway, action: str, target: str | None, message: str, *,
            code: Code = Code.COMMAND_REFUSED, exit_code: int = Exit.REFUSED) -> CommandRefused:
    """A refused administrative action, recorded as refused in the audit trail (its own transaction)."""
    with gateway.engine.begin() as connection:
        audit.record(connection, action=action, target=target, outcome="refused",
                     detail={"code": str(code), "reason": message[:500]})
    return CommandRefused(message, code=code, exit_code=exit_code)


def guid_argument(value: str, name: str) -> Guid:
    try:
        return Guid(value)
    except InvalidValue as exc:
        raise click.BadParameter(str(exc), param_hint=name) from None


class Context:
    def __init__(self, config_path: Path | None, *, debug: bool = False) -> None:
        self.config_path = config_path
        self.debug = debug

    def config(self) -> config_module.Config:
        return config_module.load(self.config_path)

    def gateway(self, *, answers: bool = False, upgraded: bool = True) -> bootstrap.Gateway:
        """The wired gateway, once its database answers and (``upgraded``) holds this gateway's schema;
        ``answers=True`` (serve, worker) also loads the key that signs answers."""
        config = self.config()
        bootstrap.configure_logging(config.logging.level)
        gateway = bootstrap.build(config, answers=False)
        db.check(gateway.engine, upgraded=upgraded)
        if answers:
            gateway.signer = bootstrap.answer_signer(config)
        return gateway


@click.group(cls=GatewayCommand)
@click.option("--config", "config_path", type=click.Path(path_type=Path), envvar="GATEWAY_CONFIG",
              help="TOML configuration file (default: ./gateway.toml if present). Env: GATEWAY_CONFIG.")
@click.option("--debug", is_flag=True, envvar="GATEWAY_DEBUG",
              help="Show the traceback of an unexpected error instead of one line. Env: GATEWAY_DEBUG=1.")
@click.pass_context
def main(ctx: click.Context, config_path: Path | None, debug: bool) -> None:
    """dom-gateway: GIS ZhKKh-compatible data-exchange gateway for housing and utilities.

    Exit codes: 0 done, 1 refused, 2 usage, 3 configuration, 4 database unreachable, 5 database not upgraded,
    70 internal error (README "Operations")."""
    if config_path is None and Path("gateway.toml").is_file():
        config_path = Path("gateway.toml")
    ctx.obj = Context(config_path, debug=debug)


@main.group("db")
def db_group() -> None:
    """Database schema."""


@db_group.command("upgrade")
@click.option("--revision", default="head", show_default=True)
@click.pass_obj
def db_upgrade(obj: Context, revision: str) -> None:
    """Apply alembic migrations up to REVISION."""
    gateway = obj.gateway(upgraded=False)
    before = db.current_revision(gateway.engine)
    db.upgrade(gateway.engine, revision)
    after = db.current_revision(gateway.engine)
    with gateway.engine.begin() as connection:
        audit.record(connection, action="db.upgrade", target=after, detail={"from": before, "to": after})
    click.echo(f"database at revision {after}")


def _warn_if_partitions_behind(gateway: bootstrap.Gateway) -> None:
    """A worker's start says so when no month ahead has its partition (the scheduler is not running)."""
    from gateway.registry import partitions

    with gateway.engine.connect() as connection:
        ready = partitions.months_ready(connection, today=datetime.now(UTC).date())
    if ready == 0:
        log.warning("event=partitions_behind table=meter_readings months_ahead=0 fix='run gateway scheduler, or "
                    "gateway db partitions --ensure'")


@db_group.command("partitions")
@click.option("--ensure", is_flag=True,
              help="Create the monthly partitions up to database.partitions_ahead months after this one (audited).")
@click.option("--since", metavar="YYYY-MM", help="With --ensure: also the months back to this one, their readings "
                                                 "moved out of meter_readings_before.")
@click.pass_obj
def db_partitions(obj: Context, ensure: bool, since: str | None) -> None:
    """The monthly partitions of meter_readings (PostgreSQL): bounds, rows (estimated), size."""
    from gateway.registry import partitions

    if since is not None and not ensure:
        raise click.UsageError("--since goes with --ensure")
    gateway = obj.gateway()
    if gateway.engine.dialect.name != "postgresql":
        click.echo("meter_readings is one table on SQLite: partitions are PostgreSQL's (nothing to do)")
        return
    if ensure:
        try:
            created = partitions.maintain(gateway.engine, today=datetime.now(UTC).date(), since=since,
                                          ahead=gateway.config.database.partitions_ahead)
        except ValueError as exc:
            raise click.BadParameter(str(exc), param_hint="--since") from None
        except partitions.PartitionError as exc:
            raise refused(gateway, "db.partitions", partitions.PARENT, str(exc)) from None
        click.echo(f"created {len(created)} partition(s)" + (f": {', '.join(created)}" if created else ""))
    with gateway.engine.connect() as connection:
        for p in partitions.listing(connection):
            rows = "never analysed" if p.rows < 0 else f"~{p.rows:,} rows"
            click.echo(f"{p.name:<28} [{p.lower or 'MINVALUE'}, {p.upper or 'MAXVALUE'})  {rows:>18}  "
                       f"{p.bytes / 1048576:9.1f} MiB")


@db_group.command("series")
@click.option("--rebuild", is_flag=True, help="Recompute meter_series from the kept readings (audited).")
@click.pass_obj
def db_series(obj: Context, rebuild: bool) -> None:
    """Each meter series' first period (meter_series), which the latest readings are read back to: how many
    series it holds, and how many series with kept readings it lacks. After readings were loaded into
    meter_readings other than through the gateway (SQL, a restore of that table), --rebuild. Both read every
    kept reading once (one grouped scan): on a large registry that takes as long as a scan of meter_readings."""
    from sqlalchemy import and_, func, or_, select

    from gateway.registry.metering import rebuild_series
    from gateway.registry.tables import meter_readings, meter_series

    gateway = obj.gateway()
    if rebuild:
        with gateway.engine.begin() as connection:
            count = rebuild_series(connection)
            audit.record(connection, action="db.series", target="meter_series", detail={"series": count})
        click.echo(f"rebuilt meter_series: {count:,} series")
    r, s = meter_readings.c, meter_series.c
    with gateway.engine.connect() as connection:
        held = connection.execute(select(func.count()).select_from(meter_series)).scalar() or 0
        kept = select(r.device_root_guid, r.resource_code, r.kind, func.min(r.period).label("first")).where(
            r.superseded_at.is_(None)).group_by(r.device_root_guid, r.resource_code, r.kind).subquery()
        wrong = connection.execute(select(func.count()).select_from(kept).outerjoin(meter_series, and_(
            s.device_root_guid == kept.c.device_root_guid, s.resource_code == kept.c.resource_code,
            s.kind == kept.c.kind)).where(or_(s.first_period.is_(None), s.first_period > kept.c.first))
        ).scalar() or 0
    click.echo(f"meter_series: {held:,} series; series with kept readings missing from it or starting after "
               f"their first kept reading: {wrong:,}" + (" (run gateway db series --rebuild)" if wrong else ""))


@main.command()
@click.option("--host", help="Listen address (default: server.host).")
@click.option("--port", type=click.IntRange(0, 65535), help="Listen port (default: server.port).")
@click.option("--workers", type=click.IntRange(1, 256), help="Server processes (default: server.workers).")
@click.pass_obj
def serve(obj: Context, host: str | None, port: int | None, workers: int | None) -> None:
    """Serve the SOAP endpoints and the web console under /console/ (run `gateway worker` beside it).

    gunicorn runs the processes; each serves with gateway.soap.front (gateway.soap.serving.FrontWorker),
    which reads every request whole under server.header_timeout / server.body_timeout before a thread runs it.
    """
    from gunicorn.app.base import BaseApplication

    from gateway.soap.front import FrontSettings

    gateway = obj.gateway(answers=True)
    server = gateway.config.server
    _raise_open_file_limit(server.max_connections * (workers or server.workers) + 64)

    class _Gunicorn(BaseApplication):  # type: ignore[misc]
        front_settings = FrontSettings.from_config(gateway.config)

        def load_config(self) -> None:
            self.cfg.set("bind", f"{host or server.host}:{port or server.port}")
            self.cfg.set("workers", workers or server.workers)
            self.cfg.set("threads", server.threads)
            self.cfg.set("backlog", server.backlog)
            self.cfg.set("worker_class", "gateway.soap.serving.FrontWorker")
            self.cfg.set("accesslog", "-")
            self.cfg.set("child_exit", _metrics_child_exit)
            # a forked process never uses the connections its parent's pool holds (two processes on one
            # socket answered SRV999999 under concurrent senders): the pool is emptied in the master below,
            # and each process starts from an empty pool of its own (SQLAlchemy: pools and os.fork())
            self.cfg.set("post_fork", lambda _server, _worker: gateway.engine.dispose(close=False))
            self.cfg.set("post_worker_init", lambda _worker: settle_heap())
            if "control_socket_disable" in self.cfg.settings:  # gunicorn ≥ 25: one shared path per user; unused
                self.cfg.set("control_socket_disable", True)

        def load(self) -> object:
            return web(gateway)

    gateway.engine.dispose()  # the start-up check's connection is closed before gunicorn forks
    _Gunicorn().run()


def _raise_open_file_limit(wanted: int) -> None:
    """Each held connection is a file descriptor: lift the soft limit towards ``wanted``, within the hard one."""
    import resource

    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    target = wanted if hard == resource.RLIM_INFINITY else min(wanted, hard)
    if soft != resource.RLIM_INFINITY and soft < target:
        resource.setrlimit(resource.RLIMIT_NOFILE, (target, hard))


def _metrics_child_exit(server: object, worker: object) -> None:
    """gunicorn hook: forget a dead worker process's live gauges (prometheus-client multiprocess mode)."""
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        from prometheus_client import multiprocess

        multiprocess.mark_process_dead(worker.pid)  # type: ignore[attr-defined,no-untyped-call]


@main.command()
@click.option("--once", is_flag=True, help="Process what is queued, then exit.")
@click.option("--concurrency", type=click.IntRange(1, 64), default=1, show_default=True,
              help="Worker processes (PostgreSQL; on SQLite only 1).")
@click.option("--metrics-port", type=click.IntRange(1, 65535),
              help="Serve this worker's Prometheus metrics on 127.0.0.1:PORT.")
@click.pass_obj
def worker(obj: Context, once: bool, concurrency: int, metrics_port: int | None) -> None:
    """Process accepted messages from the queue until stopped (SIGTERM or Ctrl-C finish the current one)."""
    gateway = obj.gateway(answers=True)
    if concurrency > 1 and gateway.engine.dialect.name == "sqlite":
        raise click.ClickException("SQLite takes one worker; use PostgreSQL for --concurrency above 1")
    _warn_if_partitions_behind(gateway)
    if once:
        click.echo(f"processed {gateway.worker.drain()} message(s)")
        return
    if metrics_port is not None:
        from prometheus_client import start_http_server

        start_http_server(metrics_port, addr="127.0.0.1")
    if concurrency == 1:
        _run_worker(gateway)
        return
    gateway.engine.dispose()  # each process opens its own connections
    context = multiprocessing.get_context("spawn")
    processes = [context.Process(target=_worker_process, args=(obj.config_path,), name=f"gateway-worker-{n}")
                 for n in range(concurrency)]
    for process in processes:
        process.start()
    def _terminate(*_: object) -> None:
        for process in processes:
            process.terminate()

    signal.signal(signal.SIGTERM, _terminate)
    try:
        for process in processes:
            process.join()
    except KeyboardInterrupt:
        for process in processes:
            process.terminate()
            process.join()


def settle_heap() -> None:
    """For a long-running process, once its start-up objects exist: keep them out of every later collection
    and collect young objects less often.

    Processing a message of 1,000 readings allocates some 10^5 container objects; with CPython's default
    thresholds (700, 10, 10) the cyclic collector ran dozens of times per message, repeatedly walking the
    SQLAlchemy, lxml and schema objects built at start-up. Frozen, and with young collections every 20,000
    net allocations, the worker's CPU per such message fell from 188–219 ms to 167–169 ms (two runs each,
    PostgreSQL).
    Reference cycles are still collected; memory between collections stays bounded by the threshold.
    """
    gc.collect()
    gc.freeze()
    gc.set_threshold(20_000, 20, 20)


def _run_worker(gateway: bootstrap.Gateway) -> None:
    if gateway.config.worker.nice:
        os.nice(gateway.config.worker.nice)
    settle_heap()
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    try:
        gateway.worker.run(stop)
    except KeyboardInterrupt:
        stop.set()


def _worker_process(config_path: Path | None) -> None:
    _run_worker(Context(config_path).gateway(answers=True))


@main.group("orgs")
def orgs_group() -> None:
    """Organisations."""


@orgs_group.command("load")
@click.argument("file", type=click.Path(exists=True, path_type=Path))
@click.pass_obj
def orgs_load(obj: Context, file: Path) -> None:
    """Register the organisations listed in FILE (TOML, see fixtures/organisations.toml)."""
    gateway = obj.gateway()
    with gateway.unit_of_work(operator(f"gateway orgs load {file}")) as uow:
        added = []
        for entry in orgfile.read(file):
            if uow.organisations.get(entry.organisation.guid) is None:
                uow.organisations.add(entry.organisation)
                added.append(str(entry.organisation.guid))
            if entry.jurisdiction and uow.organisations.jurisdiction(entry.organisation.guid) != entry.jurisdiction:
                uow.organisations.set_jurisdiction(entry.organisation.guid, entry.jurisdiction, at=datetime.now(UTC))
                audit.record(uow.connection, action="orgs.jurisdiction", target=str(entry.organisation.guid),
                             detail={"oktmo": list(entry.jurisdiction)})
        audit.record(uow.connection, action="orgs.load", target=str(file)[:255], detail={"added": added})
        uow.commit()
    click.echo(f"registered {len(added)} organisation(s)")


@main.group("nsi")
def nsi_group() -> None:
    """Reference directories (NSI)."""


@nsi_group.command("load")
@click.argument("paths", nargs=-1, required=True, type=click.Path(exists=True, path_type=Path))
@click.pass_obj
def nsi_load(obj: Context, paths: tuple[Path, ...]) -> None:
    """Load directories from TOML files or folders of them (see fixtures/nsi/); each replaces its directory."""
    gateway = obj.gateway()
    for registry, count in nsifile.load(gateway.unit_of_work(operator("gateway nsi load")), list(paths),
                                        datetime.now(UTC), audit_action="nsi.load"):
        click.echo(f"NSI {registry}: {count} item(s)")


@main.group("keys")
def keys_group() -> None:
    """Certificates bound to organisations."""


@keys_group.command("issue-test")
@click.option("--orgs", "orgs_file", type=click.Path(exists=True, path_type=Path), required=True)
@click.option("--out", type=click.Path(path_type=Path), required=True, help="Folder for the TEST-ONLY keys.")
@click.option("--register/--no-register", default=True, show_default=True,
              help="Also register each certificate to its organisation.")
@click.pass_obj
def keys_issue_test(obj: Context, orgs_file: Path, out: Path, register: bool) -> None:
    """Make a TEST-ONLY CA, a gateway answer-signing pair and one key + certificate per organisation in ORGS.

    Never for production. Point signing.key_file / signing.cert_file at TEST-ONLY-gateway.*.pem to use
    the gateway pair.
    """
    entries = orgfile.read(orgs_file)
    gateway = obj.gateway() if register else None
    if gateway is not None:  # refuse before writing any key: certificates bind to registered organisations
        with gateway.unit_of_work() as uow:
            missing = [str(e.organisation.guid) for e in entries if uow.organisations.get(e.organisation.guid) is None]
        if missing:
            raise refused(gateway, "keys.issue-test", str(orgs_file), f"{len(missing)} organisation(s) of {orgs_file} "
                          f"are not registered (first {missing[0]}): run `gateway orgs load {orgs_file}` first, "
                          "or pass --no-register")
    ca = keys.issue_test_ca()
    keys.write_pem(ca, out / "TEST-ONLY-ca.key.pem", out / "TEST-ONLY-ca.cert.pem")
    keys.write_pem(keys.issue_test_gateway_certificate(ca), out / "TEST-ONLY-gateway.key.pem",
                   out / "TEST-ONLY-gateway.cert.pem")
    issued = {}
    for entry in entries:
        org = entry.organisation
        item = keys.issue_test_certificate(ca, org_name=org.name, ogrn=str(org.ogrn), inn=str(org.inn),
                                           algorithm=entry.key_algorithm)
        keys.write_pem(item, out / f"TEST-ONLY-{org.guid}.key.pem", out / f"TEST-ONLY-{org.guid}.cert.pem")
        issued[org.guid] = item
    if gateway is not None:
        with gateway.unit_of_work(operator("gateway keys issue-test")) as uow:
            for guid, item in issued.items():
                uow.organisations.register_certificate(guid, keys.describe(item.cert))
            audit.record(uow.connection, action="keys.issue-test", target=str(out)[:255],
                         detail={"registered": {str(g): keys.describe(i.cert).fingerprint for g, i in issued.items()}})
            uow.commit()
    click.echo(f"issued {len(issued)} TEST-ONLY certificate(s) in {out}")


@keys_group.command("register")
@click.argument("org_guid")
@click.argument("cert_file", type=click.Path(exists=True, path_type=Path))
@click.pass_obj
def keys_register(obj: Context, org_guid: str, cert_file: Path) -> None:
    """Bind the PEM certificate CERT_FILE to organisation ORG_GUID."""
    org = guid_argument(org_guid, "ORG_GUID")
    try:
        info = keys.describe(keys.load_certificate(cert_file))
    except ValueError as exc:
        raise click.BadParameter(f"{cert_file} is not a PEM X.509 certificate ({str(exc).splitlines()[0]})",
                                 param_hint="CERT_FILE") from None
    gateway = obj.gateway()
    with gateway.unit_of_work(operator(f"gateway keys register {org_guid} {cert_file}")) as uow:
        problem, code = None, Code.COMMAND_REFUSED
        if uow.organisations.get(org) is None:
            problem = f"organisation {org} is not registered: `gateway orgs load FILE` first"
        elif (bound := uow.organisations.certificate_binding(info.fingerprint)) is not None:
            problem, code = (f"certificate {info.fingerprint} is already registered to organisation {bound.org_guid}"
                             + (" (revoked)" if bound.revoked_at else "")), Code.ALREADY_REGISTERED
        if problem is None:
            uow.organisations.register_certificate(org, info)
            audit.record(uow.connection, action="keys.register", target=info.fingerprint,
                         detail={"org": str(org), "subject": info.subject, "file": str(cert_file)})
            uow.commit()
    if problem is not None:
        raise refused(gateway, "keys.register", info.fingerprint, problem, code=code)
    click.echo(f"registered {info.fingerprint} to {org_guid}")


@keys_group.command("revoke")
@click.argument("fingerprint")
@click.pass_obj
def keys_revoke(obj: Context, fingerprint: str) -> None:
    """Revoke the certificate with SHA-256 FINGERPRINT (hex, or a unique prefix as `keys list` prints it)."""
    prefix = fingerprint.strip().rstrip("…").lower()
    if not prefix or any(c not in "0123456789abcdef" for c in prefix):
        raise click.BadParameter(f"{fingerprint!r} is not a hexadecimal SHA-256 fingerprint", param_hint="FINGERPRINT")
    gateway = obj.gateway()
    with gateway.unit_of_work(operator(f"gateway keys revoke {fingerprint}")) as uow:
        matching = [fp for _org, fp, _subject, _until, revoked in uow.organisations.certificates()
                    if fp.startswith(prefix) and revoked is None]
        if len(matching) == 1:
            uow.organisations.revoke_certificate(matching[0], at=datetime.now(UTC))
            audit.record(uow.connection, action="keys.revoke", target=matching[0])
            uow.commit()
    if len(matching) != 1:
        problem = (f"no unrevoked certificate's fingerprint starts with {prefix} (`gateway keys list`)" if not matching
                   else f"{len(matching)} unrevoked certificates' fingerprints start with {prefix}: give more of it")
        raise refused(gateway, "keys.revoke", prefix, problem)
    click.echo(f"revoked {matching[0]}")


@keys_group.command("crl")
@click.argument("crl_file", type=click.Path(exists=True, path_type=Path))
@click.option("--issuer", "issuer_file", type=click.Path(exists=True, path_type=Path), required=True,
              help="PEM certificate of the CA that issued the CRL; its signature is checked against it.")
@click.pass_obj
def keys_crl(obj: Context, crl_file: Path, issuer_file: Path) -> None:
    """Import a CRL (PEM or DER): registered certificates it lists are revoked from their revocation date."""
    from gateway.signing import crl

    gateway = obj.gateway()
    try:
        revocations = crl.read(crl_file.read_bytes(), keys.load_certificate(issuer_file))
    except crl.CrlRefused as exc:
        raise refused(gateway, "keys.crl", str(crl_file)[:255], f"{crl_file}: {exc.message}") from None
    except ValueError as exc:
        raise click.BadParameter(f"{issuer_file} is not a PEM X.509 certificate ({str(exc).splitlines()[0]})",
                                 param_hint="--issuer") from None
    with gateway.unit_of_work(operator(f"gateway keys crl {crl_file}")) as uow:
        revoked = sum(uow.organisations.revoke_by_issuer_serial(r.issuer, r.serial, at=r.revoked_at)
                      for r in revocations)
        audit.record(uow.connection, action="keys.crl", target=str(crl_file)[:255],
                     detail={"listed": len(revocations), "revoked": revoked})
        uow.commit()
    click.echo(f"{len(revocations)} revocation(s) in the CRL; {revoked} registered certificate(s) revoked")


@keys_group.command("list")
@click.pass_obj
def keys_list(obj: Context) -> None:
    """Certificates and the organisations they are bound to."""
    gateway = obj.gateway()
    with gateway.unit_of_work() as uow:
        for org, fp, subject, not_after, revoked in uow.organisations.certificates():
            status = f"revoked {revoked:%Y-%m-%d}" if revoked else f"valid to {not_after:%Y-%m-%d}"
            click.echo(f"{org}  {fp[:16]}…  {status}  {subject}")


@main.group("messages")
def messages_group() -> None:
    """The message archive and queue."""


@messages_group.command("list")
@click.option("--state", type=click.Choice(["received", "processing", "done", "dead"]))
@click.option("--org", "org", help="Only this organisation's messages (its GUID).")
@click.option("--limit", type=click.IntRange(1, 10_000), default=50, show_default=True)
@click.pass_obj
def messages_list(obj: Context, state: str | None, org: str | None, limit: int) -> None:
    """Recent messages, newest first."""
    gateway = obj.gateway()
    with gateway.reader() as reader:
        found = reader.messages(state=state, org=org, limit=limit)
    for row in found:
        error = f"  last_error={row.last_error[:80]}" if row.last_error else ""
        click.echo(f"{row.guid}  {row.state:<10} {row.operation:<20} org={row.org_guid} "
                   f"attempts={row.attempts} received={row.received_at:%Y-%m-%d %H:%M:%S}{error}")


@messages_group.command("show")
@click.argument("message_guid")
@click.pass_obj
def messages_show(obj: Context, message_guid: str) -> None:
    """One message: state, attempts, last error and its result, as support needs them."""
    from gateway.messages import queue

    guid = guid_argument(message_guid, "MESSAGE_GUID")
    gateway = obj.gateway()
    with gateway.engine.connect() as connection:
        message = queue.find(connection, guid)
    if message is None:
        raise click.ClickException(f"no message {message_guid}")
    click.echo(f"message      {message.guid}\nrequester    {message.requester_message_guid}\n"
               f"organisation {message.org_guid}\noperation    {message.service}.{message.operation}\n"
               f"state        {message.state} (getState RequestState {message.state.request_state})\n"
               f"received     {message.received_at:%Y-%m-%d %H:%M:%S %Z}\nattempts     {message.attempts}")
    if message.signed_by:  # an operator's signature under the organisation's delegated power (DESIGN, powers)
        click.echo(f"signed by    {message.signed_by} under power {message.power_guid}")
    if message.last_error:
        click.echo(f"last error   {message.last_error}")
    if message.result is not None:
        click.echo("result:\n" + message.result.decode("utf-8", "replace"))


@messages_group.command("retry")
@click.argument("message_guids", nargs=-1)
@click.option("--all-dead", is_flag=True, help="Re-queue every dead message.")
@click.pass_obj
def messages_retry(obj: Context, message_guids: tuple[str, ...], all_dead: bool) -> None:
    """Put dead messages back in the queue once the cause of their failure is fixed."""
    from gateway.messages import queue

    if not message_guids and not all_dead:
        raise click.UsageError("name the dead messages to re-queue (MESSAGE_GUID…) or pass --all-dead")
    guids = [guid_argument(g, "MESSAGE_GUIDS") for g in message_guids]
    gateway = obj.gateway()
    if all_dead:
        with gateway.reader() as reader:
            guids = [Guid(g) for g in reader.dead_messages()]
        if not guids:
            raise refused(gateway, "messages.retry", "--all-dead", "nothing to re-queue: no message is dead",
                          code=Code.NOTHING_TO_DO)
    with gateway.unit_of_work() as uow:
        requeued = [str(g) for g in guids if queue.requeue(uow.connection, g)]
        if requeued:
            audit.record(uow.connection, action="messages.retry", target=requeued[0] if len(requeued) == 1 else
                         f"{len(requeued)} messages", detail={"requeued": requeued})
        uow.commit()
    missing = sorted({str(g) for g in guids} - set(requeued))
    if requeued:
        click.echo(f"re-queued {len(requeued)} message(s)")
    if missing:
        raise refused(gateway, "messages.retry", missing[0] if len(missing) == 1 else f"{len(missing)} messages",
                      f"not dead or unknown, not re-queued: {', '.join(missing)}",
                      code=Code.COMMAND_REFUSED if requeued else Code.NOTHING_TO_DO)


@main.group("registry")
def registry_group() -> None:
    """Read the registry directly (support staff, regulators on the host)."""


def _plain(value: object) -> object:
    """A stored value as JSON shows it to a person: 54.3 (not 54.3000), ISO dates and moments."""
    from decimal import Decimal

    if isinstance(value, Decimal):
        return format(value.normalize(), "f")
    if isinstance(value, date | datetime):
        return value.isoformat()
    return value


@registry_group.command("house")
@click.argument("fias_house_guid")
@click.option("--as-of", "as_of", help="An ISO moment (2026-11-01T00:00:00+03:00): the house as the registry "
                                       "knew it then.")
@click.pass_obj
def registry_house(obj: Context, fias_house_guid: str, as_of: str | None) -> None:
    """Print the house and its premises as exportHouseResult XML (the official format), now or as of a moment."""
    from lxml import etree

    from gateway.domain.values import FiasHouseGuid, InvalidValue
    from gateway.soap import houses_xml

    try:
        fias = FiasHouseGuid(fias_house_guid)
    except InvalidValue as exc:
        raise click.BadParameter(str(exc), param_hint="FIAS_HOUSE_GUID") from None
    moment = as_of_moment(as_of)
    gateway = obj.gateway()
    with gateway.unit_of_work() as uow:
        house = uow.houses.get(fias, as_of=moment)
    if house is None:
        when = f" on {as_of}" if as_of else ""
        raise click.ClickException(f"no house with FIAS GUID {fias} was registered{when}")
    holder = etree.Element("registry")
    houses_xml.encode_export_house(holder, house)
    click.echo(etree.tostring(holder[0], pretty_print=True, encoding="unicode"))


@registry_group.command("history")
@click.argument("object_guid")
@click.option("--as-of", "as_of", help="An ISO moment with offset: print the version the registry held then, as "
                                       "JSON.")
@click.pass_obj
def registry_history(obj: Context, object_guid: str, as_of: str | None) -> None:
    """List every version of an object (organisation, contract, house, premises, room, account, device, notice,
    protocol) with where it came from — or, with --as-of, print the version the registry held at that moment."""
    import json

    from gateway.domain.values import InvalidValue
    from gateway.registry import versions

    try:
        guid = str(Guid(object_guid))
    except InvalidValue as exc:
        raise click.BadParameter(str(exc), param_hint="OBJECT_GUID") from None
    moment = as_of_moment(as_of)
    gateway = obj.gateway()
    with gateway.engine.connect() as connection:
        found = versions.versions_of(connection, guid)
        known = versions.as_of(connection, moment) if moment else None
    if known is not None:
        found = [v for v in found if versions.was_known(v, known)]
    if not found:
        raise click.ClickException(f"no version of {guid}" + (f" was known on {as_of}" if as_of else ""))
    if known is not None:
        last = found[-1]
        click.echo(json.dumps({"kind": last.kind, "version_guid": last.version_guid,
                               "recorded_from": last.recorded_from.isoformat(),
                               "recorded_to": last.recorded_to.isoformat() if last.recorded_to else None,
                               "provenance": last.provenance,
                               "data": {k: _plain(v) for k, v in last.data.items()}},
                              ensure_ascii=False, indent=2))
        return
    for v in found:
        until = f" to {v.recorded_to.isoformat()}" if v.recorded_to else " (current)"
        click.echo(f"{v.recorded_from.isoformat()}{until}  {v.kind:<22} version {v.version_guid or '-'}  "
                   f"{v.provenance}")


@main.group("archive")
def archive_group() -> None:
    """The tamper-evident archive of requests and answers."""


@archive_group.command("verify")
@click.pass_obj
def archive_verify(obj: Context) -> None:
    """Recompute the hash chain; exit 1 and list every altered or removed entry if it is broken."""
    from gateway.messages import archive

    gateway = obj.gateway()
    with gateway.engine.connect() as connection:
        report = archive.verify(connection)
    for problem in report.problems:
        where = f"entry {problem.seq}" if problem.seq is not None else "missing entry"
        click.echo(f"{where}: message {problem.message_guid}: {problem.what}", err=True)
    if not report.intact:
        raise click.ClickException(f"archive BROKEN: {len(report.problems)} problem(s) in {report.entries} entries")
    click.echo(f"archive intact: {report.entries} entries, head {report.head}")


@main.command()
@click.option("--workdir", type=click.Path(path_type=Path), default=Path(".demo"), show_default=True)
@click.option("--serve", is_flag=True, help="Keep the server (SOAP and the web console) up after the flow, until "
                                            "Ctrl-C; prints the console's address and the demo logins.")
@click.option("--port", type=int, default=0, help="With --serve: the port to listen on (default: any free one).")
@click.pass_obj
def demo(obj: Context, workdir: Path, serve: bool, port: int) -> None:
    """Run the whole flow on the embedded default: SQLite, in-process server and worker, fixture providers."""
    from gateway.demo import run

    run(workdir, serve=serve, port=port)


from gateway.cli_reconcile import reconcile_group, scheduler_command  # noqa: E402

main.add_command(reconcile_group)
main.add_command(scheduler_command)

from gateway.cli_report import report_group  # noqa: E402

main.add_command(report_group)

main.add_command(powers_group)

from gateway.cli_audit import audit_group  # noqa: E402

main.add_command(audit_group)
from gateway.cli_users import users_group  # noqa: E402

main.add_command(users_group)


def run() -> None:
    """The ``gateway`` console script (errors end in one line and an exit code: ``gateway.cli_errors``)."""
    main()


if __name__ == "__main__":
    run()
