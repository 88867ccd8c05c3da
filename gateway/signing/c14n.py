"""Canonical XML of an element as it stands in the received document, and the enveloped-signature transform.

Why in place: a same-document reference (``#Id``) selects the element's subtree *in the document it arrived
in* (XMLDSig §4.4.3.3). Inclusive canonicalisation (Canonical XML 1.0 §2.4, 1.1 §2.4; the default of .NET's
SignedXml) renders on that apex element every namespace declaration in scope there — the envelope's
``xmlns:soapenv`` and any other, used or not — and the ``xml:*`` attributes it inherits from its ancestors. A
detached copy loses both (libxml2's deep copy keeps only the namespaces the subtree uses): a signature made in
place would be refused, and one made over the element on its own would pass although it does not hold for the
document received. Exclusive canonicalisation (Exc-C14N §3) looks at neither, so it is the same either way.

How, without copying a large message: lxml's ``tostring(node, method="c14n")`` lends the node's children to a
temporary root that carries every namespace declaration in scope at the node; what it does not carry are the
ancestors' ``xml:*`` attributes, so for inclusive c14n they are set on the apex for the call and taken off
after. lxml implements Canonical XML 1.0 only: for a node-set that is a whole subtree (an ``#Id`` reference,
less an enveloped signature's subtree) Canonical XML 1.1 differs from it only in what the apex inherits —
``xml:lang`` and ``xml:space`` but not ``xml:id``, and ``xml:base`` joined up the ancestors ("xml:base fix-up",
which the gateway does not implement and refuses) — so 1.1 is 1.0 with 1.1's inheritance.
"""

from __future__ import annotations

from lxml import etree

from gateway.errors import Code, TrustRefused
from gateway.signing.algorithms import C14N_10, C14N_11, EXC_C14N

XML = "{http://www.w3.org/XML/1998/namespace}"
_INHERITED_11 = frozenset({f"{XML}lang", f"{XML}space"})


def _inherited(node: etree._Element, algorithm: str) -> dict[str, str]:
    """The xml:* attributes inclusive c14n renders on ``node`` as the apex of a document subset: each from the
    nearest ancestor that has it, unless the node has it itself."""
    found: dict[str, str] = {}
    for ancestor in node.iterancestors():
        for name, value in ancestor.attrib.items():
            if name.startswith(XML) and name not in found and name not in node.attrib:
                found[name] = value
    if algorithm == C14N_11 and found:
        if f"{XML}base" in found:
            raise TrustRefused("Canonical XML 1.1 with xml:base on an ancestor of the signed element (xml:base "
                               "fix-up) is not supported", code=Code.ALGORITHM_UNSUPPORTED)
        found = {name: value for name, value in found.items() if name in _INHERITED_11}
    return found


def canonical(node: etree._Element, algorithm: str) -> bytes:
    """``node``'s subtree canonicalised where it stands (``algorithm``: one of ``algorithms.C14N_METHODS``)."""
    if algorithm == EXC_C14N:
        return bytes(etree.tostring(node, method="c14n", exclusive=True, with_comments=False))
    if algorithm not in (C14N_10, C14N_11):
        raise TrustRefused(f"canonicalisation {algorithm!r} is not accepted", code=Code.ALGORITHM_UNSUPPORTED)
    inherited = _inherited(node, algorithm)
    for name, value in inherited.items():
        node.set(name, value)
    try:
        return bytes(etree.tostring(node, method="c14n", exclusive=False, with_comments=False))
    finally:
        for name in inherited:
            del node.attrib[name]


def enveloped(element: etree._Element, signature: etree._Element, algorithm: str) -> bytes:
    """The enveloped-signature transform (XMLDSig §6.6.4), then ``canonical``: ``signature`` (a descendant of
    ``element``) is taken out of the tree in place, the text around it kept, the element canonicalised, and the
    signature put back where it was — no copy of a large message for the transform."""
    parent, previous = signature.getparent(), signature.getprevious()
    if parent is None:
        raise TrustRefused("the enveloped signature is not inside the signed element", code=Code.SIGNATURE_SCOPE)
    index, tail = parent.index(signature), signature.tail
    before = previous.tail if previous is not None else parent.text
    if tail:
        if previous is not None:
            previous.tail = (previous.tail or "") + tail
        else:
            parent.text = (parent.text or "") + tail
    parent.remove(signature)  # lxml's remove keeps the removed element's tail with it
    try:
        return canonical(element, algorithm)
    finally:
        if previous is not None:
            previous.tail = before
        else:
            parent.text = before
        signature.tail = tail
        parent.insert(index, signature)
