"""Large synthetic reference data: one deterministic world of houses and premises, and writers of it.

Benchmarks and load tests need a GAR region and an EGRN folder of a million premises *and* a registry that
holds the same premises with known differences. ``world(seed, houses, premises_per_house, …)`` is that
world: facts computed from the seed and an index (no state, nothing stored), so iterating it twice gives the
same facts in the same order and costs only the arithmetic. The registry side (``PremisesFact`` fields
``registry_*``) is for the integrator's bulk load; ``write_gar_region`` and ``write_egrn_folder`` turn the
reference side into the real formats with lxml's incremental writer, so no writer holds more than one row.

Planted differences (fractions of all premises, drawn independently per premises from the seed, one kind
at most per premises; ``PremisesFact.plant`` names it, ``World.planted()`` counts them):

=====================  ===================================================================================
``missing_number``     the registry holds the premises without a cadastral number; GAR (TYPEID 8) and EGRN
                       have it: a candidate the cadastral job should find by house, number and area
``area_mismatch``      EGRN's area is the registry's times ``area_factor`` (default 1.10, over a 5 % tolerance)
``unknown_number``     the registry's cadastral number is not in EGRN (EGRN has no record of the premises)
``purpose_mismatch``   EGRN says non-residential where the registry says residential, or the reverse
``unknown_to_gar``     the premises number is not among GAR's apartments of the house
=====================  ===================================================================================

and ``retired_houses`` (a fraction of houses): the house's FIAS GUID, the one the registry holds, is retired
in GAR (``ISACTUAL=0``, ``ISACTIVE=0``, ``NEXTID`` → a successor row with a new GUID, which holds the premises).

Houses are spread over ``regions`` in turn (Moscow, Moscow oblast, Tatarstan, Sverdlovsk oblast by
default); every 20th premises is non-residential (``Н1``, ``Н2``…). Cadastral numbers are
``RR:01:QQQQQQQ:N`` with a quarter per house (``N`` 1 the building, 2… its premises).
"""

from __future__ import annotations

import uuid
from collections import Counter
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from decimal import Decimal

from gateway.sync.sources.synthetic_writers import write_egrn_folder, write_gar_region

_MASK = (1 << 64) - 1
NON_RESIDENTIAL_EVERY = 20  # premises k with k % 20 == 19 are non-residential

#: region code, 8-digit OKTMO of its municipality, readable prefix of its addresses
REGIONS: tuple[tuple[str, str, str], ...] = (
    ("77", "45362000", "г. Москва"),
    ("50", "46638000", "Московская обл., г.о. Синтетический"),
    ("16", "92701000", "Респ. Татарстан, г. Казань"),
    ("66", "65701000", "Свердловская обл., г. Екатеринбург"),
)
HOUSES_PER_STREET = 100
PLANT_KINDS = ("missing_number", "area_mismatch", "unknown_number", "purpose_mismatch", "unknown_to_gar")


def _mix(value: int) -> int:
    """splitmix64: a well-spread 64-bit hash of an integer, cheap enough to call per premises."""
    z = (value + 0x9E3779B97F4A7C15) & _MASK
    z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & _MASK
    z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & _MASK
    return z ^ (z >> 31)


@dataclass(frozen=True)
class Plants:
    """Fractions of planted differences (see the module's table)."""

    missing_number: float = 0.05
    area_mismatch: float = 0.01
    unknown_number: float = 0.005
    purpose_mismatch: float = 0.002
    unknown_to_gar: float = 0.002
    retired_houses: float = 0.001
    area_factor: Decimal = Decimal("1.10")

    def __post_init__(self) -> None:
        fractions = [getattr(self, kind) for kind in PLANT_KINDS]
        if any(f < 0 for f in fractions) or sum(fractions) > 1 or not 0 <= self.retired_houses <= 1:
            raise ValueError("planted fractions must be non-negative and add up to at most 1")


@dataclass(frozen=True, slots=True)
class HouseFact:
    index: int
    region: str
    oktmo: str  # 8 digits, as the registry's houses carry it
    oktmo11: str  # 11 digits, as GAR's TYPEID 7 carries it
    fias_guid: str  # the GUID the registry holds
    gar_object_id: int
    street_object_id: int
    street: str
    house_num: str
    address: str
    cadastral_number: str
    retired: bool
    successor_guid: str | None
    successor_object_id: int | None

    @property
    def current_object_id(self) -> int:
        """The GAR object that holds the house's premises now (the successor of a retired house)."""
        return self.successor_object_id if self.successor_object_id is not None else self.gar_object_id


@dataclass(frozen=True, slots=True)
class PremisesFact:
    index: int
    house_index: int
    house_guid: str
    number: str
    residential: bool
    area: Decimal
    address: str
    cadastral_number: str  # the truth: GAR and EGRN know it (unless planted otherwise)
    registry_cadastral_number: str | None
    gar_object_id: int
    gar_guid: str
    in_gar: bool
    in_egrn: bool
    egrn_area: Decimal
    egrn_residential: bool
    plant: str | None


class World:
    """A deterministic world of houses and premises; iterate it as often as needed."""

    def __init__(self, seed: int, houses: int, premises_per_house: int, plants: Plants | None = None,
                 regions: Sequence[tuple[str, str, str]] = REGIONS) -> None:
        if houses < 1 or premises_per_house < 1 or not regions:
            raise ValueError("a world needs at least one house, one premises per house and one region")
        self.seed = seed
        self.house_count = houses
        self.premises_per_house = premises_per_house
        self.plants = plants or Plants()
        self.regions = tuple(regions)
        self._namespace = uuid.uuid5(uuid.NAMESPACE_URL, f"https://dom-gateway.invalid/synthetic/{seed}")
        self._key = _mix(seed)
        bounds, total = [], 0.0
        for kind in PLANT_KINDS:
            total += getattr(self.plants, kind)
            bounds.append((total, kind))
        self._bounds = tuple(bounds)
        self._planted_total = total

    @property
    def premises_count(self) -> int:
        return self.house_count * self.premises_per_house

    def _guid(self, kind: str, index: int) -> str:
        """A house's GUID: uuid5 of the seed's namespace and the index."""
        return str(uuid.uuid5(self._namespace, f"{kind}{index}"))

    def _fast_guid(self, index: int) -> str:
        """A premises' GUID: 122 bits of two splitmix64 rounds in the RFC 4122 shape (uuid5 costs too much per
        premises at a million); distinct indexes collide with a probability of about 2**-80."""
        high = _mix(self._key ^ (3 << 40) ^ index)
        low = _mix(high ^ self._key)
        return (f"{high >> 32:08x}-{(high >> 16) & 0xFFFF:04x}-{0x5000 | (high & 0x0FFF):04x}-"
                f"{0x8000 | ((low >> 48) & 0x3FFF):04x}-{low & 0xFFFFFFFFFFFF:012x}")

    def _unit(self, salt: int, index: int) -> float:
        return _mix(self._key ^ (salt << 40) ^ index) / 2**64

    def house(self, index: int) -> HouseFact:
        region, oktmo, prefix = self.regions[index % len(self.regions)]
        in_region = index // len(self.regions)
        street_no = in_region // HOUSES_PER_STREET + 1
        street = f"Синтетическая-{street_no}"
        house_num = str(in_region % HOUSES_PER_STREET + 1)
        retired = self._unit(1, index) < self.plants.retired_houses
        return HouseFact(
            index=index, region=region, oktmo=oktmo, oktmo11=oktmo + "000", fias_guid=self._guid("h", index),
            gar_object_id=10_000_000 + index,
            street_object_id=1_000_000 + (index % len(self.regions)) * 100_000 + street_no,
            street=street, house_num=house_num, address=f"{prefix}, ул. {street}, д. {house_num}",
            cadastral_number=f"{region}:01:{index % 10_000_000:07d}:1", retired=retired,
            successor_guid=self._guid("s", index) if retired else None,
            successor_object_id=50_000_000 + index if retired else None)

    def houses(self) -> Iterator[HouseFact]:
        for index in range(self.house_count):
            yield self.house(index)

    def premises_of(self, house: HouseFact) -> Iterator[PremisesFact]:
        plants = self.plants
        for k in range(self.premises_per_house):
            index = house.index * self.premises_per_house + k
            residential = k % NON_RESIDENTIAL_EVERY != NON_RESIDENTIAL_EVERY - 1
            block = k // NON_RESIDENTIAL_EVERY
            number = str(k - block + 1) if residential else f"Н{block + 1}"
            area = Decimal(250 + _mix(self._key ^ (7 << 40) ^ index) % 950) / 10
            draw = self._unit(2, index)
            plant = None if draw >= self._planted_total else next(kind for bound, kind in self._bounds if draw < bound)
            cadastral = f"{house.cadastral_number[:-2]}:{k + 2}"
            egrn_area = (area * plants.area_factor).quantize(Decimal("0.1")) if plant == "area_mismatch" else area
            yield PremisesFact(
                index=index, house_index=house.index, house_guid=house.fias_guid, number=number,
                residential=residential, area=area,
                address=f"{house.address}, {'кв.' if residential else 'пом.'} {number}",
                cadastral_number=cadastral,
                registry_cadastral_number=None if plant == "missing_number" else cadastral,
                gar_object_id=100_000_000 + index, gar_guid=self._fast_guid(index),
                in_gar=plant != "unknown_to_gar", in_egrn=plant != "unknown_number", egrn_area=egrn_area,
                egrn_residential=(not residential) if plant == "purpose_mismatch" else residential, plant=plant)

    def premises(self) -> Iterator[PremisesFact]:
        for house in self.houses():
            yield from self.premises_of(house)

    def planted(self) -> Counter[str]:
        """How many of each planted difference the world holds (one pass over it)."""
        counts: Counter[str] = Counter()
        for house in self.houses():
            if house.retired:
                counts["retired_houses"] += 1
            for premises in self.premises_of(house):
                if premises.plant:
                    counts[premises.plant] += 1
        return counts


def world(seed: int, houses: int, premises_per_house: int, *, regions: Sequence[tuple[str, str, str]] = REGIONS,
          **plants: float | Decimal) -> World:
    """The world of ``houses`` × ``premises_per_house`` premises for ``seed`` (plant fractions by keyword)."""
    return World(seed, houses, premises_per_house, Plants(**plants), regions)  # type: ignore[arg-type]


__all__ = ["REGIONS", "HouseFact", "Plants", "PremisesFact", "World", "world", "write_egrn_folder", "write_gar_region"]
