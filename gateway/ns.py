"""Namespace URIs, in one place, below every layer: the door, signing, schemas, the worker's mappers,
reconciliation's sources and the providers' SDK import them from here. No imports: providers stay free of the
server's code. Trailing slashes are part of the GIS ZhKKh URIs."""

SOAP11 = "http://schemas.xmlsoap.org/soap/envelope/"
DS = "http://www.w3.org/2000/09/xmldsig#"
XADES = "http://uri.etsi.org/01903/v1.3.2#"
WSDL = "http://schemas.xmlsoap.org/wsdl/"
WSDL_SOAP = "http://schemas.xmlsoap.org/wsdl/soap/"

_GIS = "http://dom.gosuslugi.ru/schema/integration/"
BASE = _GIS + "base/"
HM = _GIS + "house-management/"
DM = _GIS + "device-metering/"
RAP = _GIS + "rap/"
NSI_BASE = _GIS + "nsi-base/"
PREMISES_BASE = _GIS + "premises-base/"
ACCOUNT_BASE = _GIS + "account-base/"
METERING_DEVICE_BASE = _GIS + "metering-device-base/"
INDIVIDUAL_REGISTRY_BASE = _GIS + "individual-registry-base/"
ORGANIZATIONS_REGISTRY_BASE = _GIS + "organizations-registry-base/"
ORGANIZATIONS_BASE = _GIS + "organizations-base/"
LICENSES = _GIS + "licenses/"
HM_SERVICE = _GIS + "house-management-service-async/"
DM_SERVICE = _GIS + "device-metering-service-async/"
RAP_SERVICE = _GIS + "rap-service-async/"
#: dom-gateway's own services (gateway/xsd/extensions)
COMPLIANCE = "urn:dom-gateway:integration:compliance"

#: Prefixes for XPath-style lookups.
NSMAP = {"soap": SOAP11, "base": BASE, "hm": HM, "dm": DM, "nsi": NSI_BASE, "ds": DS}


def q(namespace: str, local: str) -> str:
    """Clark notation ``{namespace}local`` for lxml."""
    return f"{{{namespace}}}{local}"
