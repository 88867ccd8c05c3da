"""provider.toml: where the gateway is, who the provider is, its key, how to poll. Read once into frozen dataclasses.

Paths are relative to the file itself. Secrets stay out of it: the key is a file (readable by its owner
only), a key's password comes from the environment variable ``signing.key_password_env`` names.
``fixtures/providers/provider.toml`` is a commented example; docs/providers.md explains every key.
"""

from __future__ import annotations

import os
import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from cryptography import x509

from gateway.signing import keys
from gateway.signing.xades import SigningKey
from providers.errors import ProviderError
from providers.polling import PollSchedule
from providers.transport import TransportSettings


class ConfigInvalid(ProviderError):
    """provider.toml is missing, malformed, or names files that cannot be read."""


@dataclass(frozen=True)
class ProviderConfig:
    path: Path
    url: str
    org_guid: str
    key_file: Path
    cert_file: Path
    gateway_cert_file: Path | None
    key_password_env: str | None
    transport: TransportSettings
    polling: PollSchedule
    nsi: tuple[Path, ...]
    max_in_flight: int
    batch_size: int | None
    #: the key is the operator's of ``org_guid``'s information system, signing under its power (IsOperatorSignature)
    operator_signature: bool = False

    def signing_pair(self) -> tuple[SigningKey, x509.Certificate]:
        password = os.environ.get(self.key_password_env, "").encode() if self.key_password_env else None
        try:
            key = keys.load_private_key(self.key_file, password or None)
            cert = keys.load_certificate(self.cert_file)
        except (OSError, ValueError) as exc:
            raise ConfigInvalid(f"{self.path}: [signing]: {exc}") from None
        if not keys.key_matches(key, cert):
            raise ConfigInvalid(f"{self.path}: [signing]: {self.cert_file} is not the certificate of {self.key_file}")
        return key, cert

    def gateway_cert(self) -> x509.Certificate | None:
        if self.gateway_cert_file is None:
            return None
        try:
            return keys.load_certificate(self.gateway_cert_file)
        except (OSError, ValueError) as exc:
            raise ConfigInvalid(f"{self.path}: [gateway] gateway_cert: {exc}") from None


def _get(table: dict[str, Any], key: str, kind: type | tuple[type, ...], where: str, default: Any = ...) -> Any:
    if key not in table:
        if default is ...:
            raise ConfigInvalid(f"{where}: {key} is required")
        return default
    value = table[key]
    if not isinstance(value, kind) or isinstance(value, bool) and kind is not bool:
        raise ConfigInvalid(f"{where}: {key} = {value!r} has the wrong type")
    return value


def load(path: Path) -> ProviderConfig:
    try:
        raw = tomllib.loads(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise ConfigInvalid(f"{path}: cannot read: {exc.strerror}") from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigInvalid(f"{path}: not valid TOML: {exc}") from None
    home = path.resolve().parent

    def file(value: str | None) -> Path | None:
        return None if value is None else (home / value).resolve()

    gateway, signing = raw.get("gateway", {}), raw.get("signing", {})
    polling, push = raw.get("polling", {}), raw.get("push", {})
    where = f"{path}: [gateway]"
    transport = TransportSettings(
        connect_timeout=float(_get(gateway, "connect_timeout", (int, float), where, 10.0)),
        read_timeout=float(_get(gateway, "read_timeout", (int, float), where, 120.0)),
        retries=_get(gateway, "retries", int, where, 5), backoff=float(_get(gateway, "backoff", (int, float), where,
                                                                            1.0)),
        verify=file(_get(gateway, "ca_bundle", str, where, None)) or True,
        client_cert=file(_get(gateway, "client_cert", str, where, None)),
        client_key=file(_get(gateway, "client_key", str, where, None)))
    try:
        schedule = PollSchedule(
            first=float(_get(polling, "first", (int, float), f"{path}: [polling]", 10.0)),
            intervals=tuple(float(i) for i in _get(polling, "intervals", list, f"{path}: [polling]",
                                                   [60, 300, 900, 1800])),
            give_up_after=float(_get(polling, "give_up_after", (int, float), f"{path}: [polling]", 86400.0)))
    except (TypeError, ValueError) as exc:
        raise ConfigInvalid(f"{path}: [polling]: {exc}") from None
    nsi = push.get("nsi", [])
    batch_size = _get(push, "batch_size", int, f"{path}: [push]", 0)
    config = ProviderConfig(
        path=path, url=_get(gateway, "url", str, where), org_guid=_get(gateway, "org_guid", str, where),
        key_file=file(_get(signing, "key", str, f"{path}: [signing]")) or Path(),
        cert_file=file(_get(signing, "cert", str, f"{path}: [signing]")) or Path(),
        gateway_cert_file=file(_get(gateway, "gateway_cert", str, where, None)),
        key_password_env=_get(signing, "key_password_env", str, f"{path}: [signing]", None),
        transport=transport, polling=schedule,
        nsi=tuple(p for p in (file(n) for n in ([nsi] if isinstance(nsi, str) else nsi)) if p is not None),
        max_in_flight=_get(push, "max_in_flight", int, f"{path}: [push]", 100),
        batch_size=batch_size or None,
        operator_signature=_get(gateway, "operator_signature", bool, where, False))
    if config.max_in_flight < 1 or (config.batch_size is not None and config.batch_size < 1):
        raise ConfigInvalid(f"{path}: [push]: max_in_flight and batch_size must be positive")
    return config


def load_nsi(paths: tuple[Path, ...]) -> dict[int, dict[str, str]]:
    """Reference directories in the gateway's NSI TOML format (``registry = N``, ``[[item]] code, guid``)."""
    directories: dict[int, dict[str, str]] = {}
    files: list[Path] = []
    for path in paths:
        files.extend(sorted(path.glob("*.toml")) if path.is_dir() else [path])
    for file in files:
        try:
            raw = tomllib.loads(file.read_text(encoding="utf-8"))
            directories[int(raw["registry"])] = {str(i["code"]): str(i["guid"]) for i in raw.get("item", [])}
        except (OSError, KeyError, ValueError, TypeError, tomllib.TOMLDecodeError) as exc:
            raise ConfigInvalid(f"NSI file {file}: {exc}") from None
    return directories
