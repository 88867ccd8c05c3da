"""The synthetic world: deterministic, reusable, its plants as documented, its files readable in the real formats."""

from __future__ import annotations

from collections import Counter
from decimal import Decimal
from pathlib import Path

import pytest

from gateway.sync.sources import EgrnExtracts, GarRegion
from gateway.sync.sources.synthetic import REGIONS, Plants, world, write_egrn_folder, write_gar_region

HEAVY = {"missing_number": 0.1, "area_mismatch": 0.05, "unknown_number": 0.05, "purpose_mismatch": 0.05,
         "unknown_to_gar": 0.05, "retired_houses": 0.1}


def test_the_same_seed_gives_the_same_world_and_another_seed_another() -> None:
    first, again, other = world(1, 30, 10), world(1, 30, 10), world(2, 30, 10)
    assert list(first.premises()) == list(again.premises()) == list(first.premises())
    assert list(first.houses()) == list(again.houses())
    assert {h.fias_guid for h in first.houses()}.isdisjoint({h.fias_guid for h in other.houses()})


def test_identifiers_are_unique_and_well_formed() -> None:
    w = world(3, 200, 25)
    premises = list(w.premises())
    assert len({p.gar_guid for p in premises}) == len({p.cadastral_number for p in premises}) == 5000
    assert len({(p.house_guid, p.number) for p in premises}) == 5000
    assert all(len(p.gar_guid) == 36 and p.gar_guid[14] == "5" for p in premises)
    assert {h.region for h in w.houses()} == {r[0] for r in REGIONS}
    house = w.house(5)
    assert house.cadastral_number == f"{house.region}:01:0000005:1" and house.oktmo11 == house.oktmo + "000"


def test_plants_are_drawn_at_their_fractions_and_mean_what_they_say() -> None:
    w = world(4, 400, 50, **HEAVY)  # type: ignore[arg-type]
    counts: Counter[str] = Counter()
    for p in w.premises():
        counts[p.plant or "none"] += 1
        if p.plant == "missing_number":
            assert p.registry_cadastral_number is None and p.in_egrn and p.in_gar
        elif p.plant == "area_mismatch":
            assert p.egrn_area == (p.area * Decimal("1.10")).quantize(Decimal("0.1")) != p.area
        elif p.plant == "unknown_number":
            assert not p.in_egrn and p.registry_cadastral_number == p.cadastral_number
        elif p.plant == "purpose_mismatch":
            assert p.egrn_residential != p.residential
        elif p.plant == "unknown_to_gar":
            assert not p.in_gar
        else:
            assert p.in_egrn and p.in_gar and p.egrn_area == p.area and p.egrn_residential == p.residential
    total = w.premises_count
    for kind, fraction in HEAVY.items():
        if kind != "retired_houses":
            assert abs(counts[kind] / total - fraction) < 0.25 * fraction, (kind, counts[kind])
    planted = w.planted()
    assert {k: planted[k] for k in counts if k != "none"} == {k: v for k, v in counts.items() if k != "none"}
    assert 10 <= planted["retired_houses"] <= 70


def test_plant_fractions_that_cannot_be_are_refused() -> None:
    with pytest.raises(ValueError, match="add up"):
        Plants(missing_number=0.7, area_mismatch=0.5)
    with pytest.raises(ValueError, match="at least one"):
        world(1, 0, 10)


def test_the_written_gar_region_is_valid_and_holds_the_reference_side_of_the_world(tmp_path: Path) -> None:
    w = world(5, 60, 20, **HEAVY)  # type: ignore[arg-type]
    folder = write_gar_region(tmp_path / "77", w, region="77")
    reader = GarRegion(folder, validate=True)
    houses = [h for h in w.houses() if h.region == "77"]
    in_gar = [p for h in houses for p in w.premises_of(h) if p.in_gar]
    apartments = list(reader.apartments())
    assert [(a.object_guid, a.number) for a in apartments] == [(p.gar_guid, p.number) for p in in_gar]
    params = {p.object_id: p.value for p in reader.apartment_params(types={8})}
    assert params == {p.gar_object_id: p.cadastral_number for p in in_gar}
    rows = list(reader.houses())
    retired = [h for h in houses if h.retired]
    assert len(rows) == len(houses) + len(retired)
    by_guid = {row.object_guid: row for row in rows}
    for house in retired:
        old, new = by_guid[house.fias_guid], by_guid[house.successor_guid]  # type: ignore[index]
        assert not old.is_current and old.next_id == new.id and new.prev_id == old.id and new.is_current
    parents = {i.object_id: i.parent_object_id for i in reader.adm_hierarchy()}
    assert all(parents[p.gar_object_id] == w.house(p.house_index).current_object_id for p in in_gar)
    oktmo = {i.object_id: i.oktmo for i in reader.mun_hierarchy()}
    assert all(oktmo[h.current_object_id] == h.oktmo11 for h in houses)
    assert reader.issues.count == 0


def test_the_written_egrn_folder_holds_the_world_s_records(tmp_path: Path) -> None:
    w = world(6, 50, 20, **HEAVY)  # type: ignore[arg-type]
    paths = write_egrn_folder(tmp_path / "egrn", w, files=4)
    assert len(paths) == 4 and all(p.stat().st_size > 0 for p in paths)
    extracts = EgrnExtracts(tmp_path / "egrn")
    rooms = {o.cad_number: o for o in extracts.rooms()}
    expected = {p.cadastral_number: p for p in w.premises() if p.in_egrn}
    assert rooms.keys() == expected.keys()
    for number, room in rooms.items():
        fact = expected[number]
        assert (room.area, room.residential, room.readable_address) == (fact.egrn_area, fact.egrn_residential,
                                                                          fact.address)
        assert room.parent_cad_number == w.house(fact.house_index).cadastral_number
    assert len(list(extracts.builds())) == 50 and extracts.issues.count == 0
