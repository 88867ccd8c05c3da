"""Rows into requests: grouping by house and contract, rows that disagree, per-request limits, the XSD per row."""

from __future__ import annotations

import uuid
from typing import Any

from lxml import etree

from gateway.xmlparse import parse_untrusted
from providers.codes import Local
from providers.layouts import LAYOUTS, parse_row
from providers.planning import Lookups, Row, plan

NSI = {2: {"1": "2e6a8a2c-1b0d-4b4e-9e3a-6b7c8d9e0f1a"}, 24: {"2": "5a1e2c3d-4b5f-4a6e-8d7c-9b0a1f2e3d4c"},
       32: {"1": "6c7d8e9f-0a1b-4c2d-8e3f-4a5b6c7d8e9f"}}
HOUSE = ["fias_house_guid", "house_total_square", "house_state", "used_year", "floor_count",
         "underground_floor_count", "olson_tz", "premises_number", "total_area", "entrance"]


def rows(kind: str, header: list[str], lines: list[list[Any]]) -> list[Row]:
    index = {name: i for i, name in enumerate(header)}
    parsed = []
    for line, cells in enumerate(lines, start=2):
        values, errors = parse_row(LAYOUTS[kind], index, cells, NSI)
        assert not errors, errors
        parsed.append(Row(line, values))
    return parsed


def test_premises_rows_of_one_house_make_one_request_and_each_house_its_own() -> None:
    first, second = str(uuid.uuid4()), str(uuid.uuid4())
    house = ["1000", "2", "1975", "9", "1", "1"]

    planned = plan(LAYOUTS["houses"], rows("houses", HOUSE, [
        [first, *house, "1", "50", "1"], [second, *house, "1", "40", "нет"], [first, *house, "2", "60", "2"]]),
        Lookups(None))

    assert planned.rejected == [] and len(planned.batches) == 2
    body = parse_untrusted(planned.batches[0].body)
    assert [e.text for e in body.iter("{*}PremisesNum")] == ["1", "2"]
    refs = planned.batches[0].rows
    assert [r.line for r in refs] == [2, 4] and {r.parent_guid for r in refs} == {
        body.findtext(".//{*}ApartmentHouseToCreate/{*}TransportGUID")}


def test_rows_of_one_house_that_disagree_reject_the_whole_house_naming_the_column() -> None:
    fias = str(uuid.uuid4())

    planned = plan(LAYOUTS["houses"], rows("houses", HOUSE, [
        [fias, "1000", "2", "1975", "9", "1", "1", "1", "50", "1"],
        [fias, "1000", "2", "1976", "9", "1", "1", "2", "50", "1"],
        [fias, "1000", "2", "1975", "9", "1", "1", "1", "50", "1"]]), Lookups(None))

    assert planned.batches == []
    assert sorted((e.line, e.code, e.column) for e in planned.rejected) == [
        (2, Local.ROWS_DISAGREE, None), (3, Local.ROWS_DISAGREE, "used_year"), (4, Local.DUPLICATE, "premises_number")]


def test_readings_are_batched_at_the_limit_or_the_configured_size() -> None:
    header = ["device_root_guid", "date", "resource", "value"]
    lines = [[str(uuid.uuid4()), "25.09.2026", "1", str(n)] for n in range(2500)]

    by_limit = plan(LAYOUTS["readings"], rows("readings", header, lines), Lookups(None))
    by_config = plan(LAYOUTS["readings"], rows("readings", header, lines[:10]), Lookups(None), batch_size=4)

    assert [len(b.rows) for b in by_limit.batches] == [1000, 1000, 500]
    assert [len(b.rows) for b in by_config.batches] == [4, 4, 2]


def test_a_row_the_schema_refuses_is_rejected_alone_and_the_rest_still_go() -> None:
    header = ["device_root_guid", "date", "resource", "value"]
    lines = [[str(uuid.uuid4()), "25.09.2026", "1", "12.5"], [str(uuid.uuid4()), "25.09.2026", "1", "1" * 16],
             [str(uuid.uuid4()), "25.09.2026", "1", "3"]]

    planned = plan(LAYOUTS["readings"], rows("readings", header, lines), Lookups(None))

    assert [(e.line, e.code, e.column) for e in planned.rejected] == [(3, Local.SCHEMA_INVALID, "value")]
    assert [[r.line for r in b.rows] for b in planned.batches] == [[2, 4]]
    assert len(parse_untrusted(planned.batches[0].body).findall("{*}MeteringDevicesValues")) == 2


def test_devices_of_different_houses_never_share_a_request() -> None:
    header = ["fias_house_guid", "device_number", "device_kind", "premises_guid", "account_guid", "resource",
              "base_value", "commissioned_on"]
    houses = [str(uuid.uuid4()), str(uuid.uuid4())]
    lines = [[houses[n % 2], f"ХВ-{n}", "ипу", str(uuid.uuid4()), str(uuid.uuid4()), "1", "10", "15.01.2026"]
             for n in range(4)]

    planned = plan(LAYOUTS["devices"], rows("devices", header, sorted(lines, key=lambda r: r[0])), Lookups(None))

    assert [etree.QName(parse_untrusted(b.body)).localname for b in planned.batches] == [
        "importMeteringDeviceDataRequest"] * 2
    assert sorted(parse_untrusted(b.body).findtext("{*}FIASHouseGuid") for b in planned.batches) == sorted(houses)
