"""Reconciliation: the registry checked against the registers that are the sources of truth.

Role: read the reference registries in their own open formats — the federal address register GAR (FIAS),
Rosreestr's cadastral extracts (EGRN) and the licence register of management companies (in the shape of
GIS ZhKKh's ``exportLicenseResult``) — from files or over HTTP, and compare them with the registry on a
schedule, producing discrepancies that support staff can work.

Data owned: none yet in this package's first part. ``gateway.sync.sources`` turns a reference file or
folder into a stream of typed, frozen records (``SourceError`` when a file is unusable, a ``RecordIssue``
per bad record so a run can be recorded as partial); it persists nothing except the files it downloads
(and a small JSON sidecar of their HTTP validators beside each). Staging tables, jobs, discrepancies and the
scheduler build on that interface.

Inputs: GAR region folders and archives, EGRN extract files or folders, licence-register XML, URLs.
Outputs: iterators of records (``gateway.sync.sources``), and a ``describe()`` of each source for the run
record. Memory stays flat whatever the size of a file: every reader streams with ``lxml.etree.iterparse``.
"""
