"""A billing centre's software signing for a management company: the header says so (IsOperatorSignature), in the
SDK, the dynamic zeep client and `gateway-provider`'s configuration."""

from __future__ import annotations

from pathlib import Path

from lxml import etree

from gateway.ns import BASE
from providers import config, wire

ROOT = Path(__file__).resolve().parents[2]
COMPANY = "6e5d4c3b-2a19-4087-b6a5-f4e3d2c1b0a9"


def header_of(data: bytes) -> dict[str, str]:
    header = etree.fromstring(data).find(f".//{{{BASE}}}RequestHeader")
    assert header is not None
    return {etree.QName(child).localname: child.text or "" for child in header}


def test_an_operator_signed_request_names_the_company_and_says_the_operator_signed() -> None:
    body = wire.get_state_request("1c1b2a3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d")

    flagged = header_of(wire.envelope(body, message_guid="2c1b2a3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d", org_guid=COMPANY,
                                      operator_signature=True))
    own = header_of(wire.envelope(body, message_guid="3c1b2a3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d", org_guid=COMPANY))

    assert list(flagged) == ["Date", "MessageGUID", "orgPPAGUID", "IsOperatorSignature"]  # hcs-base's order
    assert flagged["orgPPAGUID"] == COMPANY and flagged["IsOperatorSignature"] == "true"
    assert "IsOperatorSignature" not in own


def test_provider_toml_turns_operator_signature_on_only_when_asked(tmp_path: Path) -> None:
    example = (ROOT / "fixtures" / "providers" / "provider.toml").read_text(encoding="utf-8")
    (tmp_path / "own.toml").write_text(example, encoding="utf-8")
    (tmp_path / "billing.toml").write_text(example.replace("# operator_signature = true", "operator_signature = true"),
                                           encoding="utf-8")

    assert config.load(tmp_path / "own.toml").operator_signature is False
    assert config.load(tmp_path / "billing.toml").operator_signature is True
