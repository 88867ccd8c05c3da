"""Readers stream in flat memory: a file ten times larger does not need ten times the memory.

Measured in a fresh interpreter for each source: the tracemalloc peak (Python objects) while reading a
file of N records and one of 10 N, and the growth of the process's resident size during the larger read (sampled as it
goes; it also sees libxml2's own tree, invisible to tracemalloc: an element not released stays there).
Without ``release`` the 30,000-row GAR file keeps about 110 MB of tree, the 15,000 extracts about 50 MB.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]

GAR_ROW = ('<APARTMENT ID="{n}" OBJECTID="{n}" OBJECTGUID="a0000000-0000-4000-8000-{n:012d}" CHANGEID="{n}" '
           'NUMBER="{n}" APARTTYPE="2" OPERTYPEID="10" PREVID="0" NEXTID="0" UPDATEDATE="2012-01-01" '
           'STARTDATE="2012-01-01" ENDDATE="2079-06-06" ISACTUAL="1" ISACTIVE="1"/>\n')
EGRN_EXTRACT = ('<extract_base_params_room><details_statement><group_top_requisites><date_formation>2026-09-28'
                '</date_formation></group_top_requisites></details_statement><room_record><object><common_data>'
                '<cad_number>77:01:{q:07d}:{n}</cad_number></common_data></object><params><area>41.7</area>'
                '<purpose><code>206002000000</code><value>Жилое</value></purpose></params><address_room><address>'
                '<address><readable_address>г. Москва, ул. Синтетическая, д. {q}, кв. {n}</readable_address>'
                '</address></address></address_room></room_record><right_records><right_record><right_holders>'
                '<right_holder><individual><surname>НЕ-ЧИТАТЬ</surname></individual></right_holder></right_holders>'
                '</right_record></right_records><status>актуальные</status></extract_base_params_room>\n')

MEASURE = """
import json, sys, tracemalloc
from gateway.sync.sources import EgrnExtracts, GarRegion
kind, small, big = sys.argv[1:4]
def resident():
    with open("/proc/self/statm") as statm:
        return int(statm.read().split()[1]) * 4096
def read(path):
    source = GarRegion(path) if kind == "gar" else EgrnExtracts(path)
    records = source.apartments() if kind == "gar" else source.rooms()
    tracemalloc.start()
    count, most = 0, resident()
    for _ in records:
        count += 1
        if count % 500 == 0:
            most = max(most, resident())
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    return count, peak, most
read(small)  # warm up: imports, caches, compiled patterns
before = resident()
small_count, small_peak, _ = read(small)
big_count, big_peak, big_resident = read(big)
print(json.dumps({"small": small_count, "big": big_count, "small_peak": small_peak, "big_peak": big_peak,
                  "rss_growth": big_resident - before}))
"""


def _gar_region(folder: Path, rows: int) -> Path:
    folder.mkdir(parents=True)
    path = folder / "AS_APARTMENTS_20261002_0f1e2d3c-4b5a-4697-8877-665544332211.XML"
    with path.open("w", encoding="utf-8") as out:
        out.write('<?xml version="1.0" encoding="utf-8"?>\n<APARTMENTS>\n')
        for n in range(1, rows + 1):
            out.write(GAR_ROW.format(n=n))
        out.write("</APARTMENTS>\n")
    return folder


def _egrn_file(path: Path, extracts: int) -> Path:
    with path.open("w", encoding="utf-8") as out:
        out.write('<?xml version="1.0" encoding="utf-8"?>\n<extracts>\n')
        for n in range(1, extracts + 1):
            out.write(EGRN_EXTRACT.format(q=n // 100 + 1, n=n % 100 + 2))
        out.write("</extracts>\n")
    return path


def _measure(kind: str, small: Path, big: Path) -> dict[str, int]:
    done = subprocess.run([sys.executable, "-c", MEASURE, kind, str(small), str(big)], cwd=ROOT, check=True,
                          capture_output=True, text=True, timeout=600)
    return json.loads(done.stdout)  # type: ignore[no-any-return]


@pytest.mark.parametrize("kind", ["gar", "egrn"])
def test_reading_ten_times_more_records_does_not_take_ten_times_the_memory(kind: str, tmp_path: Path) -> None:
    if kind == "gar":
        small, big = _gar_region(tmp_path / "small" / "77", 3_000), _gar_region(tmp_path / "big" / "77", 30_000)
    else:
        small, big = _egrn_file(tmp_path / "small.xml", 1_500), _egrn_file(tmp_path / "big.xml", 15_000)
    measured = _measure(kind, small, big)
    assert measured["big"] == 10 * measured["small"]
    assert measured["big_peak"] < 2 * measured["small_peak"] + 256 * 1024, measured
    assert measured["rss_growth"] < 16 * 2**20, measured
