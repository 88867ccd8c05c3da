"""The official schemas the sources validate against, compiled once per process.

GAR's XSDs (version 2_251, vendored unchanged in ``gar-xsd/``) and the licence register's
(``gateway/xsd/gis-zhkh-16.3.0.0/licenses/``, vendored unchanged with the other GIS ZhKKh schemas). Rosreestr's
EGRN extract schemas are not published in any public copy found, so EGRN is not validated (see ``egrn.py``).

Validation streams: lxml validates trees, not event streams, so readers move rows into a small batch
element (``BATCH_SIZE`` rows under a fresh root of the file's root name) and validate each batch as it
fills. Moved rows keep their source line, so every schema error names the file's own line. Each compiled
schema owns one error log, so validations of one schema take turns under its lock.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

from lxml import etree

from gateway.xsd import SCHEMA_ROOT

GAR_XSD_ROOT = Path(__file__).parent / "gar-xsd"
LICENCES_XSD = SCHEMA_ROOT / "licenses" / "hcs-licenses-types.xsd"

#: Rows per validated batch: big enough for libxml2 to do the work, small enough to stay flat.
BATCH_SIZE = 2000


@dataclass(frozen=True)
class CompiledSchema:
    schema: Any  # lxml.etree.XMLSchema
    lock: threading.Lock

    def errors_by_line(self, element: Any) -> dict[int | None, str]:
        """Validate ``element``; the first error message of every offending line (empty when valid)."""
        with self.lock:
            if self.schema.validate(element):
                return {}
            found: dict[int | None, str] = {}
            for error in self.schema.error_log:
                line = error.line if error.line and error.line > 0 else None
                found.setdefault(line, error.message)
            return found


_compile_lock = threading.Lock()


@cache
def _compiled(path: Path) -> CompiledSchema:
    parser = etree.XMLParser(resolve_entities=False, no_network=True, huge_tree=False, load_dtd=False)
    return CompiledSchema(etree.XMLSchema(etree.parse(str(path), parser)), threading.Lock())


def compiled(path: Path) -> CompiledSchema:
    """The compiled schema of a vendored file; compiled at most once per process."""
    with _compile_lock:
        return _compiled(path)


def gar_schema(file_name: str) -> CompiledSchema:
    return compiled(GAR_XSD_ROOT / file_name)


def licences_schema() -> CompiledSchema:
    return compiled(LICENCES_XSD)
