from __future__ import annotations

from pathlib import Path

import pytest

from gateway import config
from gateway.errors import ConfigError

ROOT = Path(__file__).resolve().parents[2]


def test_example_config_documents_every_key_and_loads() -> None:
    loaded = config.load(ROOT / "config.example.toml", environ={})
    assert loaded == config.Config()  # the example shows the defaults


def test_environment_overrides_any_key_with_types() -> None:
    loaded = config.load(None, environ={
        "GATEWAY_DATABASE__URL": "postgresql+psycopg://gw@db/gw",
        "GATEWAY_WORKER__POLL_INTERVAL": "0.1",
        "GATEWAY_SECURITY__REQUIRE_SIGNATURE": "false",
        "GATEWAY_LIMITS__MAX_BODY_BYTES": "1024",
    })
    assert loaded.database.url == "postgresql+psycopg://gw@db/gw"
    assert loaded.worker.poll_interval == 0.1
    assert loaded.security.require_signature is False
    assert loaded.limits.max_body_bytes == 1024


@pytest.mark.parametrize("text, message", [
    ("[database]\nurll = 'x'\n", "unknown key database.urll"),
    ("[nonsense]\n", "unknown section"),
    ("[database\n", "Expected"),
])
def test_bad_configuration_is_refused_with_a_reason(tmp_path: Path, text: str, message: str) -> None:
    path = tmp_path / "gateway.toml"
    path.write_text(text)
    with pytest.raises(ConfigError, match=message):
        config.load(path, environ={})


def test_bad_environment_value_is_refused() -> None:
    with pytest.raises(ConfigError, match="GATEWAY_SERVER__PORT"):
        config.load(None, environ={"GATEWAY_SERVER__PORT": "eighty"})


def test_the_gateway_will_not_start_without_its_answer_signing_key() -> None:
    from gateway.bootstrap import answer_signer

    with pytest.raises(ConfigError, match="signing.key_file"):
        answer_signer(config.Config())
    assert answer_signer(config.load(None, environ={"GATEWAY_SECURITY__SIGN_ANSWERS": "false"})) is None


def test_worker_niceness_is_checked() -> None:
    assert config.load(environ={"GATEWAY_WORKER__NICE": "0"}).worker.nice == 0
    assert config.load(environ={}).worker.nice == 10
    with pytest.raises(ConfigError, match="worker.nice=20"):
        config.load(environ={"GATEWAY_WORKER__NICE": "20"})


def test_leases_are_renewed_before_they_run_out() -> None:
    assert config.load(environ={}).worker.renew_every == 10.0  # a third of the 30 s lease
    assert config.load(environ={"GATEWAY_WORKER__LEASE_SECONDS": "3"}).worker.renew_every == 1.0
    assert config.load(environ={"GATEWAY_WORKER__HEARTBEAT_SECONDS": "5"}).worker.renew_every == 5.0
    with pytest.raises(ConfigError, match="worker.heartbeat_seconds=30.0 must be below worker.lease_seconds=30"):
        config.load(environ={"GATEWAY_WORKER__HEARTBEAT_SECONDS": "30"})
    with pytest.raises(ConfigError, match="worker.lease_seconds=0"):
        config.load(environ={"GATEWAY_WORKER__LEASE_SECONDS": "0"})


def test_the_sqlite_page_cache_and_checkpoint_interval_are_checked() -> None:
    loaded = config.load(environ={"GATEWAY_DATABASE__SQLITE_CACHE_MIB": "8",
                                  "GATEWAY_DATABASE__SQLITE_WAL_AUTOCHECKPOINT": "2000"})
    assert (loaded.database.sqlite_cache_mib, loaded.database.sqlite_wal_autocheckpoint) == (8, 2000)
    with pytest.raises(ConfigError, match="database.sqlite_cache_mib=0"):
        config.load(environ={"GATEWAY_DATABASE__SQLITE_CACHE_MIB": "0"})
    with pytest.raises(ConfigError, match="database.sqlite_wal_autocheckpoint=10"):
        config.load(environ={"GATEWAY_DATABASE__SQLITE_WAL_AUTOCHECKPOINT": "10"})
