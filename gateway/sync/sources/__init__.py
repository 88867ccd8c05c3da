"""Reference-registry sources: GAR (FIAS), EGRN extracts and the licence register, read in their own formats.

Role: turn a reference file or folder into a stream of typed frozen records, in constant memory whatever
its size, for the reconciliation jobs of ``gateway.sync``; fetch them over HTTP (conditional, resumable) and
unpack GAR archives; generate large synthetic extracts for benchmarks.

Interface (``base``): every reader is a ``Source`` with ``name``, ``version``, ``describe()`` and
``records()``, plus one iterator per kind of record; ``SourceError`` (a ``GatewayError`` with a ``SYN``
code naming file and line) when a source cannot be used, ``RecordIssue``\\ s collected in ``reader.issues``
(bounded, counted) when single records are bad, so a run can be recorded as partial.

Data owned: none; persists only downloaded files and their HTTP sidecars (``http``). Never reads or keeps
personal data (EGRN right holders and recipients are skipped, an entrepreneur licensee's name is not read).
"""

from gateway.sync.sources.base import IssueLog, RecordIssue, Source, SourceError
from gateway.sync.sources.egrn import EgrnExtracts, EgrnObject
from gateway.sync.sources.gar import GarRegion, gar_regions
from gateway.sync.sources.licences import Licence, LicenceHouse, LicenceRegister

__all__ = [
    "EgrnExtracts", "EgrnObject", "GarRegion", "IssueLog", "Licence", "LicenceHouse", "LicenceRegister",
    "RecordIssue", "Source", "SourceError", "gar_regions",
]
