"""XAdES-BES verification over signed-data-container: good, tampered, wrapped, foreign (DESIGN §5)."""

from __future__ import annotations

import copy
import hashlib
import shutil
import subprocess
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import serialization
from lxml import etree
from signxml import SignatureMethod
from signxml.algorithms import CanonicalizationMethod, DigestAlgorithm
from signxml.xades import XAdESSignatureConfiguration, XAdESSigner, XAdESVerifier

from gateway.domain.model import CertificateBinding
from gateway.domain.values import Guid
from gateway.errors import Code, TrustRefused
from gateway.signing import keys, sign, verify
from gateway.signing.policy import check_binding
from gateway.xmlparse import parse_untrusted
from tests.signing_support import SOAP, XADES, request_of, resign, wrap

HOUSE = Path(__file__).resolve().parents[2] / "fixtures" / "houses" / "sever-1.xml"
DS = "http://www.w3.org/2000/09/xmldsig#"
HM = "http://dom.gosuslugi.ru/schema/integration/house-management/"


SIGNERS_CA = keys.issue_test_ca()


@pytest.fixture(scope="module")
def signers() -> dict[str, keys.Issued]:
    return {alg: keys.issue_test_certificate(SIGNERS_CA, org_name="UK", ogrn="1027700999017", inn="7709990015",
                                             algorithm=alg) for alg in ("rsa", "ecdsa", "gost")}


def _signed(issued: keys.Issued) -> etree._Element:
    element = parse_untrusted(HOUSE.read_bytes())
    sign(element, key=issued.key, cert=issued.cert)
    return parse_untrusted(etree.tostring(element))  # what the wire carries


def _refused(element: etree._Element) -> Code:
    with pytest.raises(TrustRefused) as refused:
        verify(element)
    return refused.value.code


@pytest.mark.parametrize("algorithm", ["rsa", "ecdsa", "gost"])
def test_signature_by_the_gateway_signer_verifies_and_yields_the_signed_bytes(
        signers: dict[str, keys.Issued], algorithm: str) -> None:
    verified = verify(_signed(signers[algorithm]))
    assert verified.fingerprint == keys.describe(signers[algorithm].cert).fingerprint
    signed = parse_untrusted(verified.signed_element)
    assert signed.find(f"{{{DS}}}Signature") is None  # the enveloped signature is not part of the data
    assert signed.findtext(f".//{{{HM}}}TotalSquare") == "5400.5"


@pytest.mark.parametrize("algorithm", ["rsa", "gost"])
def test_the_signature_is_the_first_child_with_two_exclusive_c14n_references(
        signers: dict[str, keys.Issued], algorithm: str) -> None:
    element = _signed(signers[algorithm])
    assert element[0].tag == f"{{{DS}}}Signature"
    references = element[0].findall(f"{{{DS}}}SignedInfo/{{{DS}}}Reference")
    assert [r.get("URI") for r in references][0] == "#signed-data-container"
    assert references[1].get("Type") == "http://uri.etsi.org/01903#SignedProperties"
    assert {t.get("Algorithm") for t in element[0].iter(f"{{{DS}}}Transform")} == {
        "http://www.w3.org/2000/09/xmldsig#enveloped-signature", "http://www.w3.org/2001/10/xml-exc-c14n#"}


def test_a_third_reference_is_outside_the_profile_though_its_signature_holds(signers: dict[str, keys.Issued]) -> None:
    """signxml's XAdES signer (C14N 1.1) adds a reference to its KeyInfo certificate: a valid signature, but
    the GIS profile covers the request element and its SignedProperties and nothing else."""
    issued = signers["rsa"]
    element = parse_untrusted(HOUSE.read_bytes())
    signer = XAdESSigner(signature_algorithm=SignatureMethod.RSA_SHA256, digest_algorithm=DigestAlgorithm.SHA256,
                         c14n_algorithm=CanonicalizationMethod.CANONICAL_XML_1_1)
    pem = issued.key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                   serialization.NoEncryption())
    signed = signer.sign(element, key=pem, cert=[issued.cert], reference_uri="#signed-data-container")
    signature = signed.find(f"{{{DS}}}Signature")
    signed.remove(signature)
    signed.insert(0, signature)  # GIS puts it first; the enveloped transform does not care where it is
    wire = parse_untrusted(etree.tostring(signed))
    assert len(wire[0].findall(f"{{{DS}}}SignedInfo/{{{DS}}}Reference")) == 3
    XAdESVerifier().verify(wire, x509_cert=issued.cert,  # the signature itself holds
                           expect_config=XAdESSignatureConfiguration(location="./", expect_references=3))
    assert _refused(wire) is Code.SIGNATURE_SCOPE


def test_unsigned_request_is_refused_as_missing_signature() -> None:
    assert _refused(parse_untrusted(HOUSE.read_bytes())) is Code.SIGNATURE_MISSING


@pytest.mark.parametrize("algorithm", ["ecdsa", "gost"])
def test_a_changed_value_after_signing_is_a_digest_mismatch(signers: dict[str, keys.Issued], algorithm: str) -> None:
    element = _signed(signers[algorithm])
    element.find(f".//{{{HM}}}TotalSquare").text = "1.0"
    assert _refused(element) is Code.SIGNATURE_INVALID


@pytest.mark.parametrize("algorithm", ["rsa", "gost"])
def test_a_changed_signed_property_is_refused(signers: dict[str, keys.Issued], algorithm: str) -> None:
    element = _signed(signers[algorithm])
    element.find(".//{http://uri.etsi.org/01903/v1.3.2#}SigningTime").text = "2001-01-01T00:00:00Z"
    assert _refused(element) is Code.SIGNATURE_INVALID


@pytest.mark.parametrize("algorithm", ["rsa", "gost"])
def test_certificate_swapped_in_key_info_is_refused(signers: dict[str, keys.Issued], algorithm: str) -> None:
    element = _signed(signers[algorithm])
    other = signers["ecdsa" if algorithm == "rsa" else "rsa"].cert.public_bytes(serialization.Encoding.DER)
    import base64
    element.find(f".//{{{DS}}}X509Certificate").text = base64.b64encode(other).decode()
    assert _refused(element) in {Code.SIGNATURE_INVALID, Code.ALGORITHM_UNSUPPORTED}


@pytest.mark.parametrize("algorithm", ["rsa", "ecdsa", "gost"])
def test_a_second_certificate_for_the_same_key_is_not_the_signing_certificate(
        signers: dict[str, keys.Issued], algorithm: str) -> None:
    """KeyInfo swapped for another certificate of the same key: the signature verifies, XAdES does not."""
    import base64

    element = _signed(signers[algorithm])
    twin = keys.issue_test_certificate(SIGNERS_CA, org_name="UK twin", ogrn="1027700999017", inn="7709990015",
                                       key=signers[algorithm].key)
    element.find(f".//{{{DS}}}X509Certificate").text = base64.b64encode(
        twin.cert.public_bytes(serialization.Encoding.DER)).decode()
    assert _refused(element) is Code.SIGNATURE_INVALID


def test_gost_signatures_use_streebog_digests_and_the_gost_signature_method(signers: dict[str, keys.Issued]) -> None:
    from gateway.signing import gost

    element = _signed(signers["gost"])
    assert element.find(f".//{{{DS}}}SignatureMethod").get("Algorithm") == gost.SIGNATURE_URI
    assert {m.get("Algorithm") for m in element.iter(f"{{{DS}}}DigestMethod")} == {gost.DIGEST_URI}


# -- signature wrapping: the gateway must process exactly the element the signature covers -------------

@pytest.mark.parametrize("algorithm", ["rsa", "gost"])
def test_wrapping_signed_content_moved_aside_and_a_forged_body_in_its_place(
        signers: dict[str, keys.Issued], algorithm: str) -> None:
    """Classic XSW: the signed original hides inside an Object of the signature; the root is forged."""
    element = _signed(signers[algorithm])
    original = copy.deepcopy(element)
    original.remove(original.find(f"{{{DS}}}Signature"))
    element.find(f".//{{{HM}}}TotalSquare").text = "1.0"  # forged root content
    element.set("Id", "forged")
    etree.SubElement(element[0], f"{{{DS}}}Object").append(original)  # signed Id now lives in the Object
    assert _refused(element) is Code.SIGNATURE_SCOPE


@pytest.mark.parametrize("algorithm", ["rsa", "gost"])
def test_wrapping_duplicate_id_is_refused(signers: dict[str, keys.Issued], algorithm: str) -> None:
    element = _signed(signers[algorithm])
    decoy = etree.SubElement(element[0], f"{{{DS}}}Object")
    etree.SubElement(decoy, "x", Id="signed-data-container")
    assert _refused(element) is Code.SIGNATURE_INVALID  # ambiguous reference


@pytest.mark.parametrize("algorithm", ["rsa", "gost"])
def test_signature_placed_elsewhere_than_first_child_is_refused(
        signers: dict[str, keys.Issued], algorithm: str) -> None:
    element = _signed(signers[algorithm])
    signature = element[0]
    element.remove(signature)
    element.find(f"{{{HM}}}ApartmentHouse").append(signature)
    assert _refused(element) is Code.SIGNATURE_SCOPE


@pytest.mark.parametrize("algorithm", ["rsa", "gost"])
def test_signature_over_another_element_does_not_cover_the_request(
        signers: dict[str, keys.Issued], algorithm: str) -> None:
    element = parse_untrusted(HOUSE.read_bytes())
    inner = element.find(f"{{{HM}}}ApartmentHouse")
    inner.set("Id", "only-this")
    sign(inner, key=signers[algorithm].key, cert=signers[algorithm].cert)
    signature = inner[0]
    inner.remove(signature)
    element.insert(0, signature)
    assert _refused(parse_untrusted(etree.tostring(element))) is Code.SIGNATURE_SCOPE


@pytest.mark.parametrize("algorithm", ["rsa", "gost"])
def test_sha1_and_unknown_algorithms_are_refused(signers: dict[str, keys.Issued], algorithm: str) -> None:
    element = _signed(signers[algorithm])
    element.find(f".//{{{DS}}}SignatureMethod").set("Algorithm", "http://www.w3.org/2000/09/xmldsig#rsa-sha1")
    assert _refused(element) is Code.ALGORITHM_UNSUPPORTED


# -- the certificate's binding to the sending organisation ------------------------------------------

NOW = datetime(2026, 11, 23, 12, tzinfo=UTC)
ORG = Guid("6e5d4c3b-2a19-4087-b6a5-f4e3d2c1b0a9")


def _binding(**changes: object) -> CertificateBinding:
    values: dict[str, object] = {"org_guid": ORG, "not_before": NOW - timedelta(days=1),
                                 "not_after": NOW + timedelta(days=1), "revoked_at": None}
    values.update(changes)
    return CertificateBinding(**values)  # type: ignore[arg-type]


@pytest.mark.parametrize("binding, code", [
    (None, Code.CERTIFICATE_UNKNOWN),
    (_binding(revoked_at=NOW - timedelta(hours=1)), Code.CERTIFICATE_REVOKED),
    (_binding(not_after=NOW - timedelta(seconds=1)), Code.CERTIFICATE_NOT_VALID_NOW),
    (_binding(not_before=NOW + timedelta(days=1)), Code.CERTIFICATE_NOT_VALID_NOW),
    (_binding(org_guid=Guid("0b7c9f3e-54a1-4c2d-9e8f-7a6b5c4d3e21")), Code.CERTIFICATE_ORG_MISMATCH),
])
def test_certificate_must_be_registered_valid_unrevoked_and_the_senders(
        binding: CertificateBinding | None, code: Code) -> None:
    with pytest.raises(TrustRefused) as refused:
        check_binding(binding, fingerprint="ab" * 32, sender=ORG, now=NOW)
    assert refused.value.code is code


def test_a_good_binding_passes() -> None:
    check_binding(_binding(), fingerprint="ab" * 32, sender=ORG, now=NOW)


# -- vectors made by an independent implementation (xmlsec1 / libxmlsec; fixtures/signatures) ----------

VECTORS = Path(__file__).resolve().parents[2] / "fixtures" / "signatures"


@pytest.mark.parametrize("algorithm", ["rsa", "ecdsa"])
def test_xmlsec1_made_exclusive_c14n_xades_vectors_verify(algorithm: str) -> None:
    vector = parse_untrusted((VECTORS / f"xmlsec1-{algorithm}-importHouseUORequest.xml").read_bytes())
    verified = verify(vector)
    assert parse_untrusted(verified.signed_element).findtext(f".//{{{HM}}}TotalSquare") == "5400.5"


@pytest.mark.parametrize("algorithm", ["rsa", "ecdsa"])
def test_a_tampered_xmlsec1_vector_is_refused(algorithm: str) -> None:
    data = (VECTORS / f"xmlsec1-{algorithm}-importHouseUORequest.xml").read_bytes()
    assert _refused(parse_untrusted(data.replace(b"<hm:FloorCount>9<", b"<hm:FloorCount>8<"))) is Code.SIGNATURE_INVALID


@pytest.mark.skipif(shutil.which("xmlsec1") is None, reason="xmlsec1 (Debian package xmlsec1) is not installed")
@pytest.mark.parametrize("algorithm", ["rsa", "ecdsa"])
def test_the_gateway_signer_output_verifies_with_xmlsec1(signers: dict[str, keys.Issued], algorithm: str,
                                                         tmp_path: Path) -> None:
    signed = tmp_path / "signed.xml"
    signed.write_bytes(etree.tostring(_signed(signers[algorithm]), xml_declaration=True, encoding="UTF-8"))
    ca = tmp_path / "ca.pem"
    ca.write_bytes(SIGNERS_CA.cert.public_bytes(serialization.Encoding.PEM))
    checked = subprocess.run(
        ["xmlsec1", "--verify", "--trusted-pem", str(ca), "--id-attr:Id", "importHouseUORequest",
         "--id-attr:Id", "http://uri.etsi.org/01903/v1.3.2#:SignedProperties", str(signed)],
        capture_output=True, text=True, check=False)
    assert checked.returncode == 0, checked.stderr
    assert "SignedInfo References (ok/all): 2/2" in checked.stderr


@pytest.mark.parametrize("algorithm", ["rsa", "ecdsa", "gost"])
def test_keys_written_to_pem_load_back_as_a_matching_signer(
        signers: dict[str, keys.Issued], algorithm: str, tmp_path: Path) -> None:
    keys.write_pem(signers[algorithm], tmp_path / "k.pem", tmp_path / "c.pem")
    signer = keys.load_signer(tmp_path / "k.pem", tmp_path / "c.pem")
    element = parse_untrusted(HOUSE.read_bytes())
    signer.sign(element)
    verified = verify(parse_untrusted(etree.tostring(element)))
    assert verified.fingerprint == keys.describe(signers[algorithm].cert).fingerprint
    other = "rsa" if algorithm != "rsa" else "gost"
    keys.write_pem(signers[other], tmp_path / "k2.pem", tmp_path / "c2.pem")
    with pytest.raises(ValueError, match="is not the certificate of the key"):
        keys.load_signer(tmp_path / "k.pem", tmp_path / "c2.pem")


def test_an_encrypted_key_with_the_wrong_password_says_why(signers: dict[str, keys.Issued], tmp_path: Path) -> None:
    path = tmp_path / "locked.pem"
    path.write_bytes(signers["rsa"].key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
        serialization.BestAvailableEncryption(b"right")))
    with pytest.raises(ValueError, match="cannot load the private key.*(password|decrypt)"):
        keys.load_private_key(path, password=b"wrong")
    assert keys.load_private_key(path, password=b"right").public_key() is not None


# -- one strict profile for every algorithm (issue 16, finding 2) ---------------------------------------
# Each attack below keeps a cryptographically valid signature (SignatureValue made again over the changed
# SignedInfo): what refuses it is the profile, the same for RSA, ECDSA and GOST, never a crash.

XSLT = "http://www.w3.org/TR/1999/REC-xslt-19991116"
XPATH = "http://www.w3.org/TR/1999/REC-xpath-19991116"
FILTER2 = "http://www.w3.org/2002/06/xmldsig-filter2"
BASE64 = "http://www.w3.org/2000/09/xmldsig#base64"
EXC = "http://www.w3.org/2001/10/xml-exc-c14n#"
ENVELOPED = "http://www.w3.org/2000/09/xmldsig#enveloped-signature"


def _references(element: etree._Element) -> list[etree._Element]:
    return element[0].findall(f"{{{DS}}}SignedInfo/{{{DS}}}Reference")


def _insert_transform(algorithm: str, content: str | None = None) -> Callable[[etree._Element], None]:
    def change(element: etree._Element) -> None:
        transform = etree.SubElement(_references(element)[0].find(f"{{{DS}}}Transforms"),
                                     f"{{{DS}}}Transform", Algorithm=algorithm)
        if content:
            transform.append(etree.fromstring(content))
    return change


def _extra_reference(uri: str) -> Callable[[etree._Element], None]:
    def change(element: etree._Element) -> None:
        extra = copy.deepcopy(_references(element)[0])  # same transforms and digest: URI="" is the same data
        extra.set("URI", uri)
        _references(element)[-1].addnext(extra)
    return change


def _set(path: str, attribute: str, value: str) -> Callable[[etree._Element], None]:
    def change(element: etree._Element) -> None:
        element[0].find(path, namespaces={"ds": DS, "xades": XADES}).set(attribute, value)
    return change


def _remove(path: str) -> Callable[[etree._Element], None]:
    def change(element: etree._Element) -> None:
        found = element[0].find(path, namespaces={"ds": DS, "xades": XADES})
        found.getparent().remove(found)
    return change


def _duplicate(path: str) -> Callable[[etree._Element], None]:
    def change(element: etree._Element) -> None:
        found = element[0].find(path, namespaces={"ds": DS, "xades": XADES})
        found.addnext(copy.deepcopy(found))
    return change


def _empty(path: str) -> Callable[[etree._Element], None]:
    def change(element: etree._Element) -> None:
        element[0].find(path, namespaces={"ds": DS, "xades": XADES}).text = ""
    return change


def _swap_transforms(element: etree._Element) -> None:
    transforms = _references(element)[0].find(f"{{{DS}}}Transforms")
    transforms.insert(0, transforms[1])


def _key_value(element: etree._Element) -> None:
    key_info = element[0].find(f"{{{DS}}}KeyInfo")
    etree.SubElement(etree.SubElement(key_info, f"{{{DS}}}KeyValue"), f"{{{DS}}}RSAKeyValue")


def _inclusive_namespaces(element: etree._Element) -> None:
    transform = _references(element)[0].find(f"{{{DS}}}Transforms")[1]
    etree.SubElement(transform, f"{{{EXC}}}InclusiveNamespaces", PrefixList="hm base")


ATTACKS: dict[str, tuple[Callable[[etree._Element], None], Code]] = {
    "xslt transform": (_insert_transform(XSLT, '<xsl:stylesheet xmlns:xsl="http://www.w3.org/1999/XSL/Transform" '
                                               'version="1.0"/>'), Code.ALGORITHM_UNSUPPORTED),
    "xpath transform": (_insert_transform(XPATH, f'<ds:XPath xmlns:ds="{DS}">1</ds:XPath>'),
                        Code.ALGORITHM_UNSUPPORTED),
    "xpath filter 2.0 transform": (_insert_transform(FILTER2), Code.ALGORITHM_UNSUPPORTED),
    "base64 transform": (_insert_transform(BASE64), Code.ALGORITHM_UNSUPPORTED),
    "second canonicalisation": (_insert_transform(EXC), Code.SIGNATURE_SCOPE),
    "no enveloped transform": (_remove("ds:SignedInfo/ds:Reference/ds:Transforms/ds:Transform"),
                               Code.SIGNATURE_SCOPE),
    "c14n before enveloped": (_swap_transforms, Code.SIGNATURE_SCOPE),
    "extra Reference URI=''": (_extra_reference(""), Code.SIGNATURE_SCOPE),
    "extra external Reference": (_extra_reference("http://attacker.example/payload.xml"), Code.SIGNATURE_SCOPE),
    "extra XPointer Reference": (_extra_reference("#xpointer(/)"), Code.SIGNATURE_SCOPE),
    "no SignedProperties reference": (_remove("ds:SignedInfo/ds:Reference[2]"), Code.SIGNATURE_INVALID),
    "InclusiveNamespaces parameter": (_inclusive_namespaces, Code.ALGORITHM_UNSUPPORTED),
    "c14n with comments": (_set("ds:SignedInfo/ds:CanonicalizationMethod", "Algorithm", f"{EXC}WithComments"),
                           Code.ALGORITHM_UNSUPPORTED),
    "HMAC signature method": (_set("ds:SignedInfo/ds:SignatureMethod", "Algorithm",
                                   "http://www.w3.org/2001/04/xmldsig-more#hmac-sha256"), Code.ALGORITHM_UNSUPPORTED),
    "SHA-1 digest": (_set("ds:SignedInfo/ds:Reference/ds:DigestMethod", "Algorithm",
                          "http://www.w3.org/2000/09/xmldsig#sha1"), Code.ALGORITHM_UNSUPPORTED),
    "empty DigestValue": (_empty("ds:SignedInfo/ds:Reference/ds:DigestValue"), Code.SIGNATURE_INVALID),
    "duplicate DigestValue": (_duplicate("ds:SignedInfo/ds:Reference/ds:DigestValue"), Code.SIGNATURE_INVALID),
    "KeyValue beside the certificate": (_key_value, Code.SIGNATURE_INVALID),
    "QualifyingProperties for another signature": (_set("ds:Object/xades:QualifyingProperties", "Target", "#other"),
                                                   Code.SIGNATURE_INVALID),
}


@pytest.mark.parametrize("algorithm", ["rsa", "ecdsa", "gost"])
@pytest.mark.parametrize("attack", sorted(ATTACKS))
def test_a_validly_signed_departure_from_the_profile_is_refused_with_its_code(
        signers: dict[str, keys.Issued], algorithm: str, attack: str) -> None:
    change, code = ATTACKS[attack]
    element = _signed(signers[algorithm])
    change(element)
    resign(element, signers[algorithm].key)
    assert _refused(parse_untrusted(etree.tostring(element))) is code


@pytest.mark.parametrize("algorithm", ["rsa", "ecdsa", "gost"])
@pytest.mark.parametrize("change", [
    _empty("ds:SignatureValue"), _remove("ds:SignatureValue"), _duplicate("ds:SignatureValue"),
    _set("ds:SignatureValue", "Id", "x"),  # harmless: still verifies (below, only the broken ones)
], ids=["empty", "missing", "duplicate", "with-an-Id"])
def test_an_empty_missing_or_repeated_signature_value_is_a_coded_refusal(
        signers: dict[str, keys.Issued], algorithm: str, change: Callable[[etree._Element], None],
        request: pytest.FixtureRequest) -> None:
    element = _signed(signers[algorithm])
    change(element)
    if request.node.callspec.id.startswith("with-an-Id"):
        assert verify(element).fingerprint == keys.describe(signers[algorithm].cert).fingerprint
    else:
        assert _refused(element) is Code.SIGNATURE_INVALID


@pytest.mark.parametrize("algorithm", ["rsa", "ecdsa", "gost"])
def test_an_id_repeated_in_the_soap_header_makes_the_reference_ambiguous(
        signers: dict[str, keys.Issued], algorithm: str) -> None:
    """XSW with the decoy outside the request element: Ids are unique in the whole received document."""
    wire = parse_untrusted(wrap(etree.tostring(_signed(signers[algorithm]))))
    etree.SubElement(wire.find(f"{{{SOAP}}}Header"), "decoy", Id="signed-data-container")
    assert _refused(request_of(wire)) is Code.SIGNATURE_INVALID


@pytest.mark.parametrize("bits, code", [(1024, Code.ALGORITHM_UNSUPPORTED), (2048, None)])
def test_rsa_keys_below_2048_bits_are_refused(bits: int, code: Code | None) -> None:
    from cryptography.hazmat.primitives.asymmetric import rsa

    key = rsa.generate_private_key(public_exponent=65537, key_size=bits)
    issued = keys.issue_test_certificate(SIGNERS_CA, org_name="UK", ogrn="1027700999017", inn="7709990015", key=key)
    element = _signed(issued)
    if code is None:
        assert verify(element).signature_method.endswith("rsa-sha256")
    else:
        assert _refused(element) is code


# -- the replay key ------------------------------------------------------------------------------------

@pytest.mark.parametrize("algorithm", ["rsa", "ecdsa", "gost"])
def test_the_replay_key_is_the_sha256_of_the_canonical_signed_info(
        signers: dict[str, keys.Issued], algorithm: str) -> None:
    element = _signed(signers[algorithm])
    signed_info = element[0].find(f"{{{DS}}}SignedInfo")
    expected = hashlib.sha256(etree.tostring(signed_info, method="c14n", exclusive=True)).hexdigest()
    assert verify(element).replay_key == expected


def test_the_same_signed_body_under_another_header_has_the_same_replay_key(signers: dict[str, keys.Issued]) -> None:
    signed = etree.tostring(_signed(signers["gost"]))
    first = verify(request_of(parse_untrusted(wrap(signed))))
    again = verify(request_of(parse_untrusted(wrap(signed, namespaces={"x": "urn:other"}))))
    assert again.replay_key == first.replay_key
    assert verify(_signed(signers["gost"])).replay_key != first.replay_key  # signed again: another signature


def _gost_certificate_without_parameters(issued: keys.Issued) -> x509.Certificate:
    """``issued``'s certificate with the GOST key's parameter set (curve, digest) left out, signed again."""
    from cryptography.hazmat.primitives import hashes
    from cryptography.hazmat.primitives.asymmetric import ec
    from pyasn1.codec.der import decoder, encoder
    from pyasn1.type import univ
    from pyasn1_modules import rfc5280

    from gateway.signing import gost

    tbs, _ = decoder.decode(issued.cert.tbs_certificate_bytes, asn1Spec=rfc5280.TBSCertificate())
    spki = rfc5280.SubjectPublicKeyInfo()
    algorithm = rfc5280.AlgorithmIdentifier()
    algorithm["algorithm"] = univ.ObjectIdentifier(gost.OID_GOST2012_256)
    spki["algorithm"] = algorithm
    spki["subjectPublicKey"] = tbs["subjectPublicKeyInfo"]["subjectPublicKey"]
    tbs["subjectPublicKeyInfo"] = spki
    whole = rfc5280.Certificate()
    whole["tbsCertificate"] = tbs
    whole["signatureAlgorithm"] = tbs["signature"]
    assert isinstance(SIGNERS_CA.key, ec.EllipticCurvePrivateKey)
    whole["signature"] = univ.BitString.fromOctetString(
        SIGNERS_CA.key.sign(encoder.encode(tbs), ec.ECDSA(hashes.SHA256())))
    return x509.load_der_x509_certificate(encoder.encode(whole))


def test_a_gost_certificate_without_key_parameters_is_a_coded_refusal(signers: dict[str, keys.Issued]) -> None:
    """pyasn1's error on the missing parameters used to escape as SRV999999."""
    element = parse_untrusted(HOUSE.read_bytes())
    sign(element, key=signers["gost"].key, cert=_gost_certificate_without_parameters(signers["gost"]))
    assert _refused(parse_untrusted(etree.tostring(element))) is Code.ALGORITHM_UNSUPPORTED


def test_a_comment_before_the_signature_leaves_it_the_first_element(signers: dict[str, keys.Issued]) -> None:
    element = _signed(signers["rsa"])
    element.insert(0, etree.Comment(" a provider's remark "))
    assert verify(parse_untrusted(etree.tostring(element))).signed_element
