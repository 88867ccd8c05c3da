"""Reference-registry sources: GAR (FIAS), EGRN extracts and the licence register, read in their own formats.

Role: turn a reference file or folder into a stream of typed frozen records, in constant memory whatever
its size, for the reconciliation jobs of ``gateway.sync``; fetch them over HTTP (conditional, resumable) and
unpack GAR archives; generate large synthetic extracts for benchmarks.

Interface (``base``): every reader is a ``Source`` with ``name``, ``version``, ``describe()`` and
``records()``, plus one iterator per kind of record; ``SourceError`` (a ``GatewayError`` with a ``SYN``
code naming file and line) when a source cannot be used, ``RecordIssue``\\ s collected in ``reader.issues``
(bounded, counted) when single records are bad, so a run can be recorded as partial.

Modules: ``base`` (the interface), ``gar`` + ``gar_records`` (GAR region folders), ``egrn`` (EGRN extracts),
``licences`` (the licence register), ``http`` (``Fetcher``: retries, conditional and resumable downloads),
``archive`` (one region out of a GAR zip), ``synthetic`` + ``synthetic_writers`` (large generated worlds),
and the helpers ``xmlstream`` (hardened iterparse), ``values`` (strict scalar readers), ``schemas``
(compiled-once XSDs). Fixtures in the real formats, with every planted fact listed: ``fixtures/reference/``.

Data owned: none; persists only downloaded files and their HTTP sidecars (``http``). Never reads or keeps
personal data (EGRN right holders and recipients are skipped, an entrepreneur licensee's name is not read).
"""

from gateway.sync.sources.archive import extract_gar_region
from gateway.sync.sources.base import IssueLog, RecordIssue, Source, SourceError
from gateway.sync.sources.egrn import EgrnExtracts, EgrnObject
from gateway.sync.sources.gar import GarRegion, gar_regions
from gateway.sync.sources.gar_records import (
    GarAddressObject,
    GarApartment,
    GarHierarchyItem,
    GarHouse,
    GarParam,
    GarRegistryObject,
)
from gateway.sync.sources.http import Fetcher, FetchPolicy, FetchResult, latest_gar_release
from gateway.sync.sources.licences import Licence, LicenceHouse, LicenceRegister

__all__ = [
    "EgrnExtracts", "EgrnObject", "FetchPolicy", "FetchResult", "Fetcher", "GarAddressObject", "GarApartment",
    "GarHierarchyItem", "GarHouse", "GarParam", "GarRegion", "GarRegistryObject", "IssueLog", "Licence",
    "LicenceHouse", "LicenceRegister", "RecordIssue", "Source", "SourceError", "extract_gar_region", "gar_regions",
    "latest_gar_release",
]
