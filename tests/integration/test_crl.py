"""A CRL from the issuing CA revokes registered certificates; requests signed with them are refused."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import requests
from click.testing import CliRunner
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from lxml import etree

from gateway.cli import main
from gateway.signing import keys
from gateway.soap.server import EmbeddedServer

HOUSE = (Path(__file__).resolve().parents[2] / "fixtures" / "houses" / "sever-1.xml").read_bytes()
MC = "6e5d4c3b-2a19-4087-b6a5-f4e3d2c1b0a9"
PATH = "/ext-bus-home-management-service/services/HomeManagementAsync"


def _crl(ca: keys.Issued, revoked: list[x509.Certificate], when: datetime) -> bytes:
    builder = (x509.CertificateRevocationListBuilder().issuer_name(ca.cert.subject)
               .last_update(when).next_update(when + timedelta(days=7)))
    for cert in revoked:
        builder = builder.add_revoked_certificate(
            x509.RevokedCertificateBuilder().serial_number(cert.serial_number).revocation_date(when).build())
    return builder.sign(ca.key, hashes.SHA256()).public_bytes(serialization.Encoding.PEM)


def _write(tmp_path: Path, name: str, data: bytes) -> str:
    (tmp_path / name).write_bytes(data)
    return str(tmp_path / name)


def test_an_imported_crl_revokes_the_certificate_and_its_requests_are_refused(
        server: EmbeddedServer, config, pki, envelopes, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    env = {"GATEWAY_DATABASE__URL": config.database.url, "GATEWAY_DATABASE__SCHEMA": config.database.schema,
           "GATEWAY_LOGGING__LEVEL": "WARNING"}
    crl = _write(tmp_path, "ca.crl", _crl(pki.ca, [pki.by_org[MC].cert], datetime.now(UTC) - timedelta(minutes=1)))
    issuer = _write(tmp_path, "ca.pem", pki.ca.cert.public_bytes(serialization.Encoding.PEM))
    imported = CliRunner().invoke(main, ["keys", "crl", crl, "--issuer", issuer], env=env)
    assert imported.exit_code == 0, imported.output
    assert "1 registered certificate(s) revoked" in imported.output
    response = requests.post(server.url + PATH, data=envelopes.signed(HOUSE, org=MC), timeout=10,
                             headers={"Content-Type": "text/xml; charset=utf-8", "SOAPAction": "urn:importHouseUOData"})
    code = etree.fromstring(response.content).findtext(".//{*}Fault/{*}ErrorCode")
    assert code == "INT002006"


def test_a_crl_not_signed_by_the_named_issuer_is_refused_and_imports_nothing(
        gateway, config, pki, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    env = {"GATEWAY_DATABASE__URL": config.database.url, "GATEWAY_DATABASE__SCHEMA": config.database.schema,
           "GATEWAY_LOGGING__LEVEL": "WARNING"}
    impostor_ca = keys.issue_test_ca()
    forged = x509.CertificateRevocationListBuilder().issuer_name(pki.ca.cert.subject) \
        .last_update(datetime.now(UTC)).next_update(datetime.now(UTC) + timedelta(days=1)) \
        .add_revoked_certificate(x509.RevokedCertificateBuilder().serial_number(pki.by_org[MC].cert.serial_number)
                                 .revocation_date(datetime.now(UTC)).build()) \
        .sign(impostor_ca.key, hashes.SHA256()).public_bytes(serialization.Encoding.PEM)
    crl = _write(tmp_path, "forged.crl", forged)
    issuer = _write(tmp_path, "ca.pem", pki.ca.cert.public_bytes(serialization.Encoding.PEM))
    result = CliRunner().invoke(main, ["keys", "crl", crl, "--issuer", issuer], env=env)
    assert result.exit_code != 0 and "signature does not verify" in result.output
    listed = CliRunner().invoke(main, ["keys", "list"], env=env)
    assert listed.exit_code == 0 and listed.output.count("valid to") == len(pki.by_org)
    assert "revoked" not in listed.output
