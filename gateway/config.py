"""Configuration: a TOML file (``config.example.toml`` documents every key) plus environment overrides.

Loaded once into frozen dataclasses. ``GATEWAY_<SECTION>__<KEY>=value`` overrides any key, e.g.
``GATEWAY_DATABASE__URL=postgresql+psycopg://gateway@db/gateway``. Secrets (database passwords, key
passphrases) belong in the environment or in files the keys point to, never in the TOML file.
"""

from __future__ import annotations

import dataclasses
import os
import tomllib
import typing
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from gateway.errors import Code, ConfigError

ENV_PREFIX = "GATEWAY_"


@dataclass(frozen=True)
class DatabaseConfig:
    #: SQLAlchemy URL. SQLite is the embedded default; PostgreSQL (psycopg) is the production database.
    url: str = "sqlite:///gateway.sqlite3"
    pool_size: int = 5
    #: PostgreSQL schema (search_path) holding the gateway's tables; empty = the server's default.
    schema: str = ""
    #: PostgreSQL: monthly partitions of meter_readings kept ready this many months after the current one.
    partitions_ahead: int = 3
    #: PostgreSQL: when `gateway scheduler` creates them (cron, UTC); empty: only `gateway db partitions --ensure`.
    partitions_schedule: str = "15 0 * * *"
    #: SQLite: page cache of each connection, MiB (SQLite's own default is 2): a month's readings touch a leaf
    #: page of each device-keyed index per meter, which a registry of a million readings no longer keeps in
    #: 2 MiB. Filled only as pages are read.
    sqlite_cache_mib: int = 64
    #: SQLite: pages of write-ahead log after which a commit copies them into the database file (SQLite's
    #: default 1,000); a page changed by several commits in between is copied once. The log file is cut back
    #: to 64 MiB after a checkpoint.
    sqlite_wal_autocheckpoint: int = 10_000

    def __post_init__(self) -> None:
        if not 1 <= self.partitions_ahead <= 120:
            raise ConfigError(f"database.partitions_ahead={self.partitions_ahead} must be between 1 and 120 months")
        if not 1 <= self.sqlite_cache_mib <= 65_536:
            raise ConfigError(f"database.sqlite_cache_mib={self.sqlite_cache_mib} must be between 1 and 65536")
        if not 100 <= self.sqlite_wal_autocheckpoint <= 1_000_000:
            raise ConfigError(f"database.sqlite_wal_autocheckpoint={self.sqlite_wal_autocheckpoint} must be "
                              "between 100 and 1000000 pages")
        from sqlalchemy.engine import make_url
        from sqlalchemy.exc import ArgumentError

        try:
            backend = make_url(self.url).get_backend_name()
        except ArgumentError:
            backend = ""
        if backend not in {"sqlite", "postgresql"}:
            raise ConfigError(f"database.url {self.url!r} is not a database URL the gateway uses: "
                              "sqlite:///PATH or postgresql+psycopg://USER@HOST:PORT/DB",
                              code=Code.DATABASE_URL_INVALID)


@dataclass(frozen=True)
class ServerConfig:
    host: str = "127.0.0.1"
    port: int = 8080
    #: Base URL written into served WSDLs; empty = taken from each request's Host header.
    public_url: str = ""
    #: gunicorn worker processes for ``gateway serve``.
    workers: int = 2
    #: Threads per server process that run requests once their bodies have arrived whole.
    threads: int = 4
    #: Seconds a client has to send a request's line and headers; a slower one is dropped (INT001015).
    header_timeout: float = 10.0
    #: Seconds a client has, once its headers are in, to send the whole body; a slower one is dropped (INT001015).
    body_timeout: float = 30.0
    #: Connections each server process holds at once; more are answered 503 (INT001017) and closed.
    max_connections: int = 1000
    #: Listen backlog: connections the kernel queues before the server accepts them.
    backlog: int = 2048

    def __post_init__(self) -> None:
        if not 0 <= self.port <= 65535:
            raise ConfigError(f"server.port={self.port} is not a TCP port (0–65535)")
        for name in ("header_timeout", "body_timeout"):
            if not getattr(self, name) > 0:
                raise ConfigError(f"server.{name}={getattr(self, name)} must be a positive number of seconds")
        for name in ("workers", "threads", "max_connections", "backlog"):
            if getattr(self, name) < 1:
                raise ConfigError(f"server.{name}={getattr(self, name)} must be at least 1")


@dataclass(frozen=True)
class LimitsConfig:
    #: Largest SOAP request accepted, in bytes; larger bodies are refused unread (INT001001).
    max_body_bytes: int = 10 * 1024 * 1024


@dataclass(frozen=True)
class SecurityConfig:
    #: Refuse requests without a valid XAdES signature. Only for local experiments may this be false.
    require_signature: bool = True
    #: Sign every getState answer with the gateway's key (signing.key_file). Only for local experiments
    #: may this be false.
    sign_answers: bool = True


@dataclass(frozen=True)
class SigningConfig:
    #: PEM private key the gateway signs its answers with: GOST R 34.10-2012 by default, as GIS ZhKKh signs
    #: its answers (`gateway keys issue-test` writes a TEST-ONLY GOST pair), or RSA / ECDSA; keep it outside
    #: the repository.
    key_file: str = ""
    #: PEM certificate of that key; providers pin it to verify answers.
    cert_file: str = ""


@dataclass(frozen=True)
class WorkerConfig:
    #: Seconds between polls of an empty queue.
    poll_interval: float = 0.5
    #: A claimed message is leased for this many seconds; its worker renews the lease while it works, so a
    #: message is claimed again this long after its worker died (or lost the database for good).
    lease_seconds: int = 30
    #: How often a worker renews the lease of the message it works on (PostgreSQL; SQLite has one worker);
    #: 0: a third of the lease.
    heartbeat_seconds: float = 0.0
    #: After a database error, a worker retries with back-off doubling from 0.1 s up to this many seconds.
    reconnect_max_seconds: float = 2.0
    #: Processing attempts before a message goes to the dead-letter state.
    max_attempts: int = 5
    #: Scheduling niceness (0–19) a worker process gives itself: where `gateway serve` shares the host's
    #: cores, acknowledgements go first and the queue is worked off with the time left (0: no change).
    nice: int = 10
    #: PostgreSQL: every this many seconds one worker checks the registry's statistics and ANALYZEs a table
    #: that was never analysed or has changed by a fifth since — what autovacuum does, for a server where it
    #: is off or has not come round (0: never). Without it a registry filling from empty keeps plans made
    #: for empty tables: 160 account messages took 4.1 s instead of 2.8 s (README, Performance).
    statistics_seconds: float = 1.0

    def __post_init__(self) -> None:
        if self.statistics_seconds < 0:
            raise ConfigError(f"worker.statistics_seconds={self.statistics_seconds} must be 0 (off) or more")
        if not 0 <= self.nice <= 19:
            raise ConfigError(f"worker.nice={self.nice} must be between 0 (no change) and 19")
        if self.lease_seconds < 1:
            raise ConfigError(f"worker.lease_seconds={self.lease_seconds} must be at least 1")
        if not 0 <= self.heartbeat_seconds < self.lease_seconds:
            raise ConfigError(f"worker.heartbeat_seconds={self.heartbeat_seconds} must be below "
                              f"worker.lease_seconds={self.lease_seconds}: the lease is renewed before it runs out")
        if self.reconnect_max_seconds <= 0:
            raise ConfigError(f"worker.reconnect_max_seconds={self.reconnect_max_seconds} must be above 0")

    @property
    def renew_every(self) -> float:
        """Seconds between lease renewals: ``heartbeat_seconds``, or a third of the lease when that is 0."""
        return self.heartbeat_seconds or self.lease_seconds / 3


@dataclass(frozen=True)
class ReconciliationConfig:
    """Scheduled reconciliation (``gateway scheduler``, ``gateway reconcile``). A source is a path (a file or a
    folder) or an http(s) URL, downloaded into ``cache_dir`` (conditional and resumable); a schedule is a cron
    expression (minute hour day month weekday, UTC), empty to run the job only by hand."""

    #: where downloaded reference files are kept between runs
    cache_dir: str = ".reconciliation"
    #: EGRN extract (file or folder) for the cadastral job
    cadastral_source: str = ""
    cadastral_schedule: str = ""
    #: GAR (FIAS) region folder, or a GAR zip archive, for the address job
    address_source: str = ""
    address_schedule: str = ""
    #: GAR regions to take out of a GAR archive (two-digit codes, comma-separated)
    address_regions: str = ""
    #: licence register export (exportLicenseResult) for the licences job
    licences_source: str = ""
    licences_schedule: str = ""
    #: the registry's own consistency (authority, overlaps, readings against devices): no source
    authority_schedule: str = "0 4 * * *"
    #: an area off by more than this share of the register's is a discrepancy
    area_tolerance: float = 0.05
    #: a licence's entry for a house ending within this many days is reported
    licence_warning_days: int = 30
    #: a job's lock is held this long before another process may take it over (renewed while it runs)
    lock_minutes: int = 30

    def __post_init__(self) -> None:
        if not 0 < self.area_tolerance < 1:
            raise ConfigError(f"reconciliation.area_tolerance={self.area_tolerance} must lie between 0 and 1")
        if self.lock_minutes < 1 or self.licence_warning_days < 0:
            raise ConfigError("reconciliation.lock_minutes must be at least 1 and licence_warning_days not negative")


@dataclass(frozen=True)
class AuditConfig:
    """Retention of the audit trail (``gateway audit list``; ``gateway audit prune`` applies it)."""

    #: days the audit log of administrative actions is kept; 0 = for ever (it is append-only otherwise)
    keep_days: int = 0
    #: days the record of requests refused at the door is kept
    refusals_keep_days: int = 30
    #: at most this many refusals are kept (the oldest go first), so a flood of bad requests stays bounded
    refusals_max_rows: int = 100_000

    def __post_init__(self) -> None:
        if self.keep_days < 0 or self.refusals_keep_days < 1 or self.refusals_max_rows < 1:
            raise ConfigError("audit.keep_days must not be negative, audit.refusals_keep_days and "
                              "audit.refusals_max_rows must be at least 1")


@dataclass(frozen=True)
class ConsoleConfig:
    """The web console under /console/ (``gateway.console``). Its session secret comes from the environment
    (GATEWAY_CONSOLE__SECRET) or from ``secret_file``, never from this file; without one the console answers
    503 (CON001009) and the SOAP paths are unaffected."""

    #: serve the console beside the SOAP paths
    enabled: bool = True
    #: a file holding the session-signing secret (at least 32 characters); GATEWAY_CONSOLE__SECRET wins
    secret_file: str = ""
    #: set only through GATEWAY_CONSOLE__SECRET (documented as env-only; a secret never goes into TOML)
    secret: str = ""
    #: mark the session cookie Secure (behind TLS: always)
    secure_cookies: bool = False
    #: a session unused this long has expired (CON001003)
    session_minutes: int = 30
    #: failed logins of one login from one address within ``lockout_minutes`` before further tries are refused
    max_failures: int = 5
    lockout_minutes: int = 15
    #: rows on a page of every list
    page_size: int = 50

    def __post_init__(self) -> None:
        for name in ("session_minutes", "max_failures", "lockout_minutes", "page_size"):
            if getattr(self, name) < 1:
                raise ConfigError(f"console.{name}={getattr(self, name)} must be at least 1")


@dataclass(frozen=True)
class LoggingConfig:
    level: str = "INFO"


@dataclass(frozen=True)
class Config:
    database: DatabaseConfig = field(default_factory=DatabaseConfig)
    server: ServerConfig = field(default_factory=ServerConfig)
    limits: LimitsConfig = field(default_factory=LimitsConfig)
    security: SecurityConfig = field(default_factory=SecurityConfig)
    signing: SigningConfig = field(default_factory=SigningConfig)
    worker: WorkerConfig = field(default_factory=WorkerConfig)
    reconciliation: ReconciliationConfig = field(default_factory=ReconciliationConfig)
    audit: AuditConfig = field(default_factory=AuditConfig)
    console: ConsoleConfig = field(default_factory=ConsoleConfig)
    logging: LoggingConfig = field(default_factory=LoggingConfig)


def _coerce(value: str, target: type[Any], name: str) -> Any:
    if target is bool:
        lowered = value.strip().lower()
        if lowered in {"1", "true", "yes", "on"}:
            return True
        if lowered in {"0", "false", "no", "off"}:
            return False
        raise ConfigError(f"{name}={value!r} is not a boolean")
    try:
        return target(value)
    except ValueError:
        raise ConfigError(f"{name}={value!r} is not a valid {target.__name__}") from None


def load(path: Path | None = None, environ: dict[str, str] | None = None) -> Config:
    """Read ``path`` (if given and present) and apply ``GATEWAY_*`` overrides from ``environ``."""
    environ = dict(os.environ if environ is None else environ)
    raw: dict[str, Any] = {}
    if path is not None:
        try:
            raw = tomllib.loads(path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            raise ConfigError(f"configuration file {path} does not exist") from None
        except tomllib.TOMLDecodeError as exc:
            raise ConfigError(f"{path}: {exc}") from None
    sections: dict[str, Any] = {}
    for section_field in dataclasses.fields(Config):
        section_type = typing.get_type_hints(Config)[section_field.name]
        hints = typing.get_type_hints(section_type)
        given = raw.pop(section_field.name, {})
        if not isinstance(given, dict):
            raise ConfigError(f"[{section_field.name}] must be a table")
        values: dict[str, Any] = {}
        known = {f.name for f in dataclasses.fields(section_type)}
        for key, value in given.items():
            if key not in known:
                raise ConfigError(f"unknown key {section_field.name}.{key}")
            values[key] = value
        for key in known:
            env_name = f"{ENV_PREFIX}{section_field.name.upper()}__{key.upper()}"
            if env_name in environ:
                values[key] = _coerce(environ[env_name], hints[key], env_name)
        try:
            sections[section_field.name] = section_type(**values)
        except TypeError as exc:
            raise ConfigError(f"[{section_field.name}]: {exc}") from None
    if raw:
        raise ConfigError(f"unknown section(s): {', '.join(sorted(raw))}")
    return Config(**sections)
