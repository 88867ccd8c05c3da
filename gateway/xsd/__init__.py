"""Schemas: the vendored official GIS ZhKKh 16.3.0.0 WSDL/XSD and validators compiled once per process.

Role: find the schema files (``SCHEMA_ROOT``), compile each service's types schema once (lxml, the hot
path), validate request elements with errors a provider can act on, and check ``base:version``, which
lxml does not enforce even where the schema fixes it. Owns the vendored files (unchanged, see
``gis-zhkh-16.3.0.0/VENDORED.md``); persists nothing.
"""

from gateway.xsd.schemas import SCHEMA_ROOT, Service, check_version, validate, validator

__all__ = ["SCHEMA_ROOT", "Service", "check_version", "validate", "validator"]
