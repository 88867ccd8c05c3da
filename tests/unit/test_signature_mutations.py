"""Hostile changes to signed messages: ``verify`` returns or refuses with a coded ``TrustRefused`` — never another
exception (which the door would answer as SRV999999, soap:Server) — and whatever it returns is exactly what was
signed (issue 16, finding 2).

The messages are signed in place in a SOAP envelope, with exclusive and with inclusive c14n, by RSA, ECDSA and
GOST keys, and by xmlsec1 (the committed vectors). Each example applies a few mutations — parts of the signature
removed, emptied, repeated or garbled; references and transforms added (XSLT, XPath, base64, URI="", external
URIs), removed or reordered; algorithms changed; Ids repeated; the envelope and the content altered — and
sometimes makes the SignatureValue again over the changed SignedInfo, so that the checks behind it are reached.
"""

from __future__ import annotations

import copy
import random
from collections.abc import Callable
from dataclasses import dataclass

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from lxml import etree

from gateway.errors import TrustRefused
from gateway.signing import keys, sign, verify
from gateway.xmlparse import parse_untrusted
from tests.signing_support import (
    C14N_10,
    DS,
    EXC_C14N,
    SOAP,
    XADES,
    XML,
    request_of,
    resign,
    unsigned_envelope,
    vector,
)

CA = keys.issue_test_ca()
ISSUED = {alg: keys.issue_test_certificate(CA, org_name="UK", ogrn="1027700999017", inn="7709990015",
                                           algorithm=alg) for alg in ("rsa", "ecdsa", "gost")}
NS = {"ds": DS, "xades": XADES}


@dataclass(frozen=True)
class Base:
    name: str
    wire: bytes
    key: keys.SigningKey | None  # to make the SignatureValue again (exclusive SignedInfo only)
    signed_element: bytes
    fingerprint: str
    replay_key: str

    def __repr__(self) -> str:
        return f"Base({self.name!r})"


def _base(name: str, wire: bytes, key: keys.SigningKey | None) -> Base:
    verified = verify(request_of(parse_untrusted(wire)))
    return Base(name, wire, key, verified.signed_element, verified.fingerprint, verified.replay_key)


def _bases() -> list[Base]:
    bases = []
    for algorithm, issued in ISSUED.items():
        for label, c14n in (("exc-c14n", EXC_C14N), ("c14n", C14N_10)):
            root, element = unsigned_envelope()
            sign(element, key=issued.key, cert=issued.cert, c14n=c14n)
            bases.append(_base(f"{algorithm} {label}", etree.tostring(root), issued.key if c14n == EXC_C14N else None))
    for name in ("xmlsec1-rsa-envelope-c14n11.xml", "xmlsec1-ecdsa-envelope-exc-c14n.xml"):
        bases.append(_base(name, vector(name), None))
    return bases


BASES = _bases()

Mutation = Callable[[etree._Element, random.Random], None]


def _signature(root: etree._Element) -> etree._Element:
    found = root.find(f".//{{{DS}}}Signature")
    return found if found is not None else root


def _pick(root: etree._Element, path: str, rng: random.Random) -> etree._Element | None:
    found = _signature(root).findall(path, namespaces=NS) if path else [_signature(root)]
    return rng.choice(found) if found else None


def _removing(path: str) -> Mutation:
    def mutate(root: etree._Element, rng: random.Random) -> None:
        node = _pick(root, path, rng)
        if node is not None and node.getparent() is not None:
            node.getparent().remove(node)
    return mutate


def _repeating(path: str) -> Mutation:
    def mutate(root: etree._Element, rng: random.Random) -> None:
        node = _pick(root, path, rng)
        if node is not None and node.getparent() is not None:
            node.addnext(copy.deepcopy(node))
    return mutate


TEXTS = ["", "   ", "!!!!", "ж", "AAAA", "A" * 1001, "====", "QUJD\nREVG", "\x7f"]


def _texting(path: str) -> Mutation:
    def mutate(root: etree._Element, rng: random.Random) -> None:
        node = _pick(root, path, rng)
        if node is not None:
            node.text = rng.choice(TEXTS) if rng.random() < 0.7 else (node.text or "")[::-1]
    return mutate


ALGORITHMS = [
    EXC_C14N, C14N_10, "http://www.w3.org/2006/12/xml-c14n11", f"{EXC_C14N}WithComments",
    "http://www.w3.org/2000/09/xmldsig#enveloped-signature", "http://www.w3.org/TR/1999/REC-xslt-19991116",
    "http://www.w3.org/TR/1999/REC-xpath-19991116", "http://www.w3.org/2002/06/xmldsig-filter2",
    "http://www.w3.org/2000/09/xmldsig#base64", "http://www.w3.org/2001/04/xmldsig-more#rsa-sha256",
    "http://www.w3.org/2001/04/xmldsig-more#rsa-sha512", "http://www.w3.org/2000/09/xmldsig#rsa-sha1",
    "http://www.w3.org/2001/04/xmldsig-more#ecdsa-sha384", "http://www.w3.org/2000/09/xmldsig#dsa-sha1",
    "http://www.w3.org/2001/04/xmldsig-more#hmac-sha256",
    "urn:ietf:params:xml:ns:cpxmlsec:algorithms:gostr34102012-gostr34112012-256",
    "urn:ietf:params:xml:ns:cpxmlsec:algorithms:gostr34112012-256", "http://www.w3.org/2001/04/xmlenc#sha256",
    "http://www.w3.org/2001/04/xmldsig-more#sha384", "http://www.w3.org/2000/09/xmldsig#sha1", "", "urn:x",
]


def _algorithm(path: str) -> Mutation:
    def mutate(root: etree._Element, rng: random.Random) -> None:
        node = _pick(root, path, rng)
        if node is not None:
            if rng.random() < 0.1:
                node.attrib.pop("Algorithm", None)
            else:
                node.set("Algorithm", rng.choice(ALGORITHMS))
    return mutate


def _insert_transform(root: etree._Element, rng: random.Random) -> None:
    transforms = _pick(root, "ds:SignedInfo/ds:Reference/ds:Transforms", rng)
    if transforms is None:
        return
    transform = etree.Element(f"{{{DS}}}Transform", Algorithm=rng.choice(ALGORITHMS))
    content = rng.choice([None, f'<ds:XPath xmlns:ds="{DS}">1</ds:XPath>',
                          '<xsl:stylesheet xmlns:xsl="http://www.w3.org/1999/XSL/Transform" version="1.0"/>',
                          f'<ec:InclusiveNamespaces xmlns:ec="{EXC_C14N}" PrefixList="#default hm"/>'])
    if content:
        transform.append(etree.fromstring(content))
    transforms.insert(rng.randrange(len(transforms) + 1), transform)


def _reorder_transforms(root: etree._Element, rng: random.Random) -> None:
    transforms = _pick(root, "ds:SignedInfo/ds:Reference/ds:Transforms", rng)
    if transforms is not None:
        children = list(transforms)
        rng.shuffle(children)
        transforms[:] = children


URIS = ["", "#signed-data-container", "#", "#nope", "http://attacker.example/x.xml", "file:///etc/passwd",
        "#xpointer(/)", "#xpointer(id('signed-data-container'))", "signed-data-container", "#xmldsig-x"]
TYPES = ["http://uri.etsi.org/01903#SignedProperties", "http://www.w3.org/2000/09/xmldsig#Object", "", "urn:x"]


def _add_reference(root: etree._Element, rng: random.Random) -> None:
    reference = _pick(root, "ds:SignedInfo/ds:Reference", rng)
    if reference is not None:
        extra = copy.deepcopy(reference)
        extra.set("URI", rng.choice(URIS))
        reference.addnext(extra)


def _reference_attribute(root: etree._Element, rng: random.Random) -> None:
    reference = _pick(root, "ds:SignedInfo/ds:Reference", rng)
    if reference is None:
        return
    name = rng.choice(["URI", "Type"])
    if rng.random() < 0.3:
        reference.attrib.pop(name, None)
    else:
        reference.set(name, rng.choice(URIS if name == "URI" else TYPES))


def _swap_certificate(root: etree._Element, rng: random.Random) -> None:
    import base64

    from cryptography.hazmat.primitives.serialization import Encoding

    node = _pick(root, "ds:KeyInfo/ds:X509Data/ds:X509Certificate", rng)
    if node is not None:
        other = rng.choice(list(ISSUED.values())).cert
        der = other.public_bytes(Encoding.DER)
        node.text = base64.b64encode(der if rng.random() < 0.7 else der[: rng.randrange(len(der))]).decode()


def _key_info_extra(root: etree._Element, rng: random.Random) -> None:
    key_info = _pick(root, "ds:KeyInfo", rng)
    if key_info is not None:
        tag = rng.choice(["KeyValue", "RetrievalMethod", "X509Data", "KeyName"])
        extra = etree.SubElement(key_info, f"{{{DS}}}{tag}")
        if tag == "RetrievalMethod":
            extra.set("URI", "http://attacker.example/key")


def _repeat_id(root: etree._Element, rng: random.Random) -> None:
    value = rng.choice(["signed-data-container", _signature(root).get("Id") or "x",
                        f"{_signature(root).get('Id')}-signedprops", "xmlsec1-vector-signedprops"])
    host = rng.choice([root.find(f"{{{SOAP}}}Header"), _signature(root), request_of(root)])
    if host is not None:
        attribute = rng.choice(["Id", "ID", "id", f"{{{XML}}}id", "{http://docs.oasis-open.org/wss/2004/01/"
                                "oasis-200401-wss-wssecurity-utility-1.0.xsd}Id"])
        etree.SubElement(host, "decoy").set(attribute, value)


def _envelope(root: etree._Element, rng: random.Random) -> None:
    choice = rng.randrange(4)
    if choice == 0:
        root.set(f"{{{XML}}}lang", rng.choice(["ru", "en"]))
    elif choice == 1:
        root.set(f"{{{XML}}}base", "http://example.org/")
    elif choice == 2:
        header = root.find(f"{{{SOAP}}}Header")
        if header is not None:
            header.append(etree.Element("{urn:extra}x", nsmap={"extra": "urn:extra"}))
    else:
        body = root.find(f"{{{SOAP}}}Body")
        if body is not None:
            body.set(f"{{{XML}}}space", "preserve")


def _content(root: etree._Element, rng: random.Random) -> None:
    element = request_of(root)
    nodes = [n for n in element.iter() if isinstance(n.tag, str) and n is not element]
    node = rng.choice(nodes)
    choice = rng.randrange(5)
    if choice == 0:
        node.text = (node.text or "") + "1"
    elif choice == 1:
        node.set("extra", "1")
    elif choice == 2:
        node.append(etree.Comment("a comment"))  # comments are not signed: harmless wherever they go
    elif choice == 3:
        node.append(etree.ProcessingInstruction("pi", "x"))
    else:
        node.tail = (node.tail or "") + " "


def _move_signature(root: etree._Element, rng: random.Random) -> None:
    signature = _signature(root)
    targets = [t for t in (request_of(root), root.find(f"{{{SOAP}}}Header"), root.find(f"{{{SOAP}}}Body"))
               if t is not None]
    if signature is not root:
        rng.choice(targets).append(signature)


def _remove_id(root: etree._Element, rng: random.Random) -> None:
    rng.choice([request_of(root), _signature(root)]).attrib.pop("Id", None)


def _change_target(root: etree._Element, rng: random.Random) -> None:
    qualifying = _pick(root, "ds:Object/xades:QualifyingProperties", rng)
    if qualifying is not None:
        qualifying.set("Target", rng.choice(URIS))


def _comment_in_signed_info(root: etree._Element, rng: random.Random) -> None:
    signed_info = _pick(root, "ds:SignedInfo", rng)
    if signed_info is not None:  # comments are not part of the canonical form: the signature still holds
        signed_info.insert(rng.randrange(len(signed_info) + 1), etree.Comment("unsigned"))


MUTATIONS: dict[str, Mutation] = {
    "remove SignatureValue": _removing("ds:SignatureValue"),
    "repeat SignatureValue": _repeating("ds:SignatureValue"),
    "garble SignatureValue": _texting("ds:SignatureValue"),
    "remove DigestValue": _removing("ds:SignedInfo/ds:Reference/ds:DigestValue"),
    "repeat DigestValue": _repeating("ds:SignedInfo/ds:Reference/ds:DigestValue"),
    "garble DigestValue": _texting("ds:SignedInfo/ds:Reference/ds:DigestValue"),
    "remove Reference": _removing("ds:SignedInfo/ds:Reference"),
    "repeat Reference": _repeating("ds:SignedInfo/ds:Reference"),
    "add Reference": _add_reference,
    "change Reference URI or Type": _reference_attribute,
    "remove Transforms": _removing("ds:SignedInfo/ds:Reference/ds:Transforms"),
    "remove Transform": _removing("ds:SignedInfo/ds:Reference/ds:Transforms/ds:Transform"),
    "repeat Transform": _repeating("ds:SignedInfo/ds:Reference/ds:Transforms/ds:Transform"),
    "insert Transform": _insert_transform,
    "reorder Transforms": _reorder_transforms,
    "change Transform algorithm": _algorithm("ds:SignedInfo/ds:Reference/ds:Transforms/ds:Transform"),
    "change SignatureMethod": _algorithm("ds:SignedInfo/ds:SignatureMethod"),
    "change CanonicalizationMethod": _algorithm("ds:SignedInfo/ds:CanonicalizationMethod"),
    "change DigestMethod": _algorithm("ds:SignedInfo/ds:Reference/ds:DigestMethod"),
    "change CertDigest method": _algorithm(".//xades:CertDigest/ds:DigestMethod"),
    "garble CertDigest": _texting(".//xades:CertDigest/ds:DigestValue"),
    "remove a signature part": _removing("*"),
    "repeat a signature part": _repeating("*"),
    "remove a XAdES part": _removing(".//xades:*"),
    "repeat a XAdES part": _repeating("ds:Object/xades:QualifyingProperties/xades:SignedProperties"),
    "garble certificate": _texting("ds:KeyInfo/ds:X509Data/ds:X509Certificate"),
    "swap certificate": _swap_certificate,
    "more in KeyInfo": _key_info_extra,
    "repeat an Id": _repeat_id,
    "remove an Id": _remove_id,
    "change Target": _change_target,
    "change the envelope": _envelope,
    "change the content": _content,
    "move the signature": _move_signature,
    "comment in SignedInfo": _comment_in_signed_info,
}


def _resign(element: etree._Element, key: keys.SigningKey | None) -> bool:
    """The SignatureValue made again over the changed SignedInfo, where the shape still allows it."""
    signature = element[0] if len(element) else None
    if key is None or signature is None or signature.tag != f"{{{DS}}}Signature":
        return False
    method = signature.find(f"{{{DS}}}SignedInfo/{{{DS}}}CanonicalizationMethod")
    if method is None or not method.get("Algorithm", "").startswith(EXC_C14N):
        return False
    resign(element, key)
    return True


def _check(base: Base, steps: list[tuple[str, int]], again: bool) -> None:
    root = parse_untrusted(base.wire)
    for name, seed in steps:
        MUTATIONS[name](root, random.Random(seed))
    again = again and _resign(request_of(root), base.key)
    try:
        verified = verify(request_of(parse_untrusted(etree.tostring(root))))  # as the wire would carry it
    except TrustRefused:
        return
    # accepted: then it is exactly what was signed (a signature made again over a changed SignedInfo is new)
    assert verified.signed_element == base.signed_element
    assert verified.fingerprint == base.fingerprint
    if not again:
        assert verified.replay_key == base.replay_key


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(base=st.sampled_from(BASES),
       steps=st.lists(st.tuples(st.sampled_from(sorted(MUTATIONS)), st.integers(0, 2**32)), min_size=1, max_size=4),
       again=st.booleans())
def test_no_mutation_of_a_signed_message_escapes_as_anything_but_a_coded_refusal(
        base: Base, steps: list[tuple[str, int]], again: bool) -> None:
    _check(base, steps, again)


@pytest.mark.parametrize("name", sorted(MUTATIONS))
def test_each_mutation_alone_on_every_message_is_refused_or_changes_nothing_signed(name: str) -> None:
    for base in BASES:
        for seed in range(3):
            _check(base, [(name, seed)], again=False)
            _check(base, [(name, seed)], again=True)
