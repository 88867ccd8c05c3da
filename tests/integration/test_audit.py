"""The audit trail: every administrative command leaves an entry (who, when, what, outcome), refused ones too;
requests refused at the door are recorded with their digest, never their body, and the record stays bounded."""

from __future__ import annotations

import getpass
import hashlib
import json
from pathlib import Path

import pytest
import requests
from click.testing import CliRunner, Result
from sqlalchemy import select

from gateway import bootstrap
from gateway.cli import main
from gateway.errors import Code, Exit
from gateway.registry import audit
from gateway.registry.tables import door_refusals
from gateway.signing import keys
from gateway.soap import app as soap_app
from gateway.soap.server import EmbeddedServer
from tests.conftest import Envelopes, Pki

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures"
HOUSE = (FIXTURES / "houses" / "sever-1.xml").read_bytes()
MC = "6e5d4c3b-2a19-4087-b6a5-f4e3d2c1b0a9"
PATH = "/ext-bus-home-management-service/services/HomeManagementAsync"
UNKNOWN = "11111111-2222-4333-8444-555555555555"


def cli(gateway: bootstrap.Gateway, *args: str) -> Result:
    env = {"GATEWAY_DATABASE__URL": gateway.config.database.url, "GATEWAY_DATABASE__SCHEMA":
           gateway.config.database.schema, "GATEWAY_LOGGING__LEVEL": "WARNING"}
    return CliRunner().invoke(main, list(args), env=env)


def logged(gateway: bootstrap.Gateway) -> list[dict[str, object]]:
    listed = cli(gateway, "audit", "list", "--limit", "1000", "--format", "json")
    assert listed.exit_code == 0, listed.output
    return [json.loads(line) for line in listed.stdout.splitlines()][::-1]  # oldest first


def test_each_administrative_command_is_audited_with_its_outcome(gateway: bootstrap.Gateway, pki: Pki,
                                                                   tmp_path: Path) -> None:
    extra = keys.issue_test_certificate(pki.ca, org_name="Extra", ogrn="1027700000017", inn="7700000017")
    keys.write_pem(extra, tmp_path / "extra.key.pem", tmp_path / "extra.cert.pem")
    fingerprint = keys.describe(extra.cert).fingerprint

    assert cli(gateway, "db", "upgrade").exit_code == 0
    assert cli(gateway, "orgs", "load", str(FIXTURES / "organisations.toml")).exit_code == 0
    assert cli(gateway, "nsi", "load", str(FIXTURES / "nsi")).exit_code == 0
    assert cli(gateway, "keys", "register", MC, str(tmp_path / "extra.cert.pem")).exit_code == 0
    again = cli(gateway, "keys", "register", MC, str(tmp_path / "extra.cert.pem"))
    assert again.exit_code == Exit.REFUSED and again.stderr.startswith(f"error {Code.ALREADY_REGISTERED}: ")
    shown = next(line for line in cli(gateway, "keys", "list").stdout.splitlines() if fingerprint[:16] in line)
    revoked = cli(gateway, "keys", "revoke", shown.split()[1])  # the prefix `keys list` prints, with its "…"
    assert revoked.exit_code == 0 and revoked.stdout.strip() == f"revoked {fingerprint}"
    nothing = cli(gateway, "messages", "retry", "--all-dead")
    assert nothing.exit_code == Exit.REFUSED and nothing.stderr.startswith(f"error {Code.NOTHING_TO_DO}: ")
    unknown = cli(gateway, "messages", "retry", UNKNOWN)
    assert unknown.exit_code == Exit.REFUSED and UNKNOWN in unknown.stderr
    assert cli(gateway, "audit", "prune").exit_code == 0

    entries = logged(gateway)
    assert [(e["action"], e["outcome"]) for e in entries] == [
        ("db.upgrade", "ok"), ("orgs.load", "ok"), ("nsi.load", "ok"), ("keys.register", "ok"),
        ("keys.register", "refused"), ("keys.revoke", "ok"), ("messages.retry", "refused"),
        ("messages.retry", "refused"), ("audit.prune", "ok")]
    assert {(e["actor"], e["actor_kind"]) for e in entries} == {(getpass.getuser(), "os")}
    assert entries[3]["target"] == fingerprint and entries[3]["detail"]["org"] == MC  # type: ignore[index]
    assert entries[4]["detail"]["code"] == Code.ALREADY_REGISTERED  # type: ignore[index]
    assert entries[5]["target"] == fingerprint
    assert entries[2]["detail"]["directories"]  # type: ignore[index]
    only_keys = cli(gateway, "audit", "list", "--action", "keys", "--format", "json").stdout.splitlines()
    assert len(only_keys) == 3


def test_a_fingerprint_prefix_must_name_one_certificate(gateway: bootstrap.Gateway, pki: Pki,
                                                        tmp_path: Path) -> None:
    for n in range(17):  # seventeen more certificates: two of them share a first hex digit
        issued = keys.issue_test_certificate(pki.ca, org_name=f"Extra {n}", ogrn="1027700000017", inn="7700000017",
                                             algorithm="ecdsa")
        keys.write_pem(issued, tmp_path / f"{n}.key.pem", tmp_path / f"{n}.cert.pem")
        assert cli(gateway, "keys", "register", MC, str(tmp_path / f"{n}.cert.pem")).exit_code == 0
    with gateway.unit_of_work() as uow:
        prints = [fp for _org, fp, *_ in uow.organisations.certificates()]
    shared = next(p[0] for p in prints if sum(q.startswith(p[0]) for q in prints) > 1)
    ambiguous = cli(gateway, "keys", "revoke", shared)
    assert ambiguous.exit_code == Exit.REFUSED and "give more of it" in ambiguous.stderr
    unknown = cli(gateway, "keys", "revoke", "f" * 64)
    assert unknown.exit_code == Exit.REFUSED and "no unrevoked certificate" in unknown.stderr
    assert [e["outcome"] for e in logged(gateway) if e["action"] == "keys.revoke"] == ["refused", "refused"]


def test_test_certificates_for_organisations_not_loaded_are_refused_before_any_key_is_written(
        tmp_path: Path) -> None:
    env = {"GATEWAY_DATABASE__URL": f"sqlite:///{tmp_path / 'g.sqlite3'}", "GATEWAY_LOGGING__LEVEL": "WARNING"}
    runner = CliRunner()
    assert runner.invoke(main, ["db", "upgrade"], env=env).exit_code == 0
    result = runner.invoke(main, ["keys", "issue-test", "--orgs", str(FIXTURES / "organisations.toml"),
                                  "--out", str(tmp_path / "pki")], env=env)
    assert result.exit_code == Exit.REFUSED
    assert result.stderr.splitlines() == [result.stderr.strip()]
    assert "gateway orgs load" in result.stderr and "--no-register" in result.stderr
    assert not (tmp_path / "pki").exists()


def refusals(gateway: bootstrap.Gateway) -> list[dict[str, object]]:
    with gateway.engine.connect() as connection:
        return [dict(row._mapping) for row in connection.execute(select(door_refusals).order_by(door_refusals.c.id))]


def post(server: EmbeddedServer, body: bytes) -> requests.Response:
    return requests.post(server.url + PATH, data=body, timeout=10,
                         headers={"Content-Type": "text/xml; charset=utf-8", "SOAPAction": '"urn:importHouseUOData"'})


def test_door_refusals_are_recorded_with_a_digest_never_the_body(server: EmbeddedServer, gateway: bootstrap.Gateway,
                                                                  envelopes: Envelopes) -> None:
    unsigned = envelopes.wrap(HOUSE, org=MC)
    assert post(server, unsigned).status_code == 500
    wrong_type = requests.post(server.url + PATH, data=b"{}", timeout=10,
                               headers={"Content-Type": "application/json", "SOAPAction": '"urn:importHouseUOData"'})
    assert wrong_type.status_code == 415
    first, second = refusals(gateway)
    assert first["code"] == Code.SIGNATURE_MISSING and first["claimed_org"] == MC
    assert first["operation"] == "importHouseUOData" and first["peer"] == "127.0.0.1"
    assert first["body_sha256"] == hashlib.sha256(unsigned).hexdigest() and first["body_bytes"] == len(unsigned)
    assert second["code"] == Code.MEDIA_TYPE_UNSUPPORTED and second["body_sha256"] is None  # refused unread
    stored = json.dumps([first, second], default=str)
    assert "sever" not in stored.lower() and "Envelope" not in stored  # nothing of the body itself
    listed = cli(gateway, "audit", "refusals", "--code", str(Code.SIGNATURE_MISSING))
    assert listed.exit_code == 0 and f"org={MC}" in listed.stdout and len(listed.stdout.splitlines()) == 1


def test_the_door_keeps_its_record_of_refusals_bounded(gateway: bootstrap.Gateway, envelopes: Envelopes,
                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    from dataclasses import replace

    from gateway.config import AuditConfig

    monkeypatch.setattr(soap_app, "REFUSALS_TRIM", 1)  # trim at every row instead of every 500th
    bounded = replace(gateway, config=replace(gateway.config, audit=AuditConfig(refusals_max_rows=3)))
    with EmbeddedServer(bounded.app) as server:
        for _ in range(7):
            assert post(server, envelopes.wrap(HOUSE, org=MC)).status_code == 500
    kept = refusals(gateway)
    assert len(kept) == 3 and [r["id"] for r in kept] == [5, 6, 7]


def test_prune_applies_the_retention_settings(gateway: bootstrap.Gateway) -> None:
    from datetime import UTC, datetime, timedelta

    now = datetime.now(UTC)
    with gateway.engine.begin() as connection:
        audit.record(connection, action="keys.register", at=now - timedelta(days=400))
        audit.record(connection, action="keys.register", at=now - timedelta(days=10))
        for age in (40, 20, 1):
            audit.record_refusal(connection, at=now - timedelta(days=age), code="INT002001", peer="127.0.0.1",
                                 claimed_org=None, operation=None, body_sha256=None, body_bytes=None)
    with gateway.engine.begin() as connection:
        assert audit.prune(connection, now=now, keep_days=0, refusals_keep_days=30,
                           refusals_max_rows=100) == (0, 1)  # keep_days 0: the log is kept for ever
    with gateway.engine.begin() as connection:
        assert audit.prune(connection, now=now, keep_days=365, refusals_keep_days=30, refusals_max_rows=1) == (1, 1)
        assert len(audit.entries(connection)) == 1 and len(audit.refusals(connection)) == 1
