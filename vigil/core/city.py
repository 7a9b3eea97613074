"""The city model: districts, stations, ambulances, hospitals with wards, and sentinel sites.

Loaded from YAML. The default (``cities/default.yaml``) is the county-level city of the design notes:
16 stations, 19 on-duty and 16 standby ambulances, 20 sentinel sites, about 5.5 beds per 1,000 residents.
"""

from __future__ import annotations

import enum
from collections import Counter
from functools import cached_property
from importlib import resources
from pathlib import Path
from typing import Annotated

import yaml
from pydantic import BaseModel, ConfigDict, Field, StringConstraints, ValidationError, model_validator

from vigil.core.contracts import Ward
from vigil.core.errors import VigilError, describe

Ident = Annotated[str, StringConstraints(min_length=1, max_length=64, pattern=r"^[a-z0-9][a-z0-9_-]*$")]


class CityError(VigilError, ValueError):
    """The city file is wrong; the message names the file, the field path and the problem."""


class DistrictType(enum.StrEnum):
    URBAN = "urban"
    RURAL = "rural"


class DistanceClass(enum.StrEnum):
    """How far a hospital is from a patient's district, coarsely: the city model has districts, not roads.

    Enough to rank hospitals (``vigil.capacity.suggest``): the urban districts are one built-up area, a
    township's listed neighbours share a road, everything else is a drive across the county.
    """

    LOCAL = "local"  # the same district
    NEAR = "near"  # a listed neighbour, or urban to urban
    FAR = "far"


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class District(_Model):
    id: Ident
    name_zh: str
    name_en: str
    type: DistrictType
    population: int = Field(gt=0)
    neighbours: list[Ident] = Field(
        default_factory=list, description="districts a short drive away (either direction is enough)"
    )


class Station(_Model):
    id: Ident
    name_zh: str
    district: Ident
    joint: bool = Field(default=False, description="township joint 120 station (乡镇联合急救站)")


class Ambulance(_Model):
    id: Ident
    station: Ident
    on_duty: bool = Field(description="true: 24-hour duty; false: standby vehicle")


class Hospital(_Model):
    id: Ident
    name_zh: str
    name_en: str
    district: Ident
    wards: dict[Ward, int] = Field(description="beds per ward type")
    pathways: list[str] = Field(
        default_factory=list, description="time-critical centres: chest_pain, stroke…"
    )

    @model_validator(mode="after")
    def _beds_nonnegative(self) -> Hospital:
        for ward, beds in self.wards.items():
            if beds < 0:
                raise ValueError(f"wards.{ward.value}: bed count must be >= 0, got {beds}")
        return self


class SentinelSite(_Model):
    id: Ident
    name_zh: str
    district: Ident
    kind: str = Field(description="township health centre or community health service centre")
    mean_daily_visits: float = Field(gt=0)


class City(_Model):
    name_zh: str
    name_en: str
    timezone: str = "Asia/Shanghai"
    districts: list[District] = Field(min_length=1)
    stations: list[Station] = Field(min_length=1)
    ambulances: list[Ambulance] = Field(min_length=1)
    hospitals: list[Hospital] = Field(min_length=1)
    sentinel_sites: list[SentinelSite] = Field(default_factory=list)

    @model_validator(mode="after")
    def _references(self) -> City:
        for kind in ("districts", "stations", "ambulances", "hospitals", "sentinel_sites"):
            counts = Counter(item.id for item in getattr(self, kind))
            dup = [i for i, n in counts.items() if n > 1]
            if dup:
                raise ValueError(f"{kind}: duplicate id {dup[0]!r}; ids must be unique")
        districts = {d.id for d in self.districts}
        stations = {s.id for s in self.stations}
        placed = [("stations", i, s.district) for i, s in enumerate(self.stations)]
        placed += [("hospitals", i, h.district) for i, h in enumerate(self.hospitals)]
        placed += [("sentinel_sites", i, x.district) for i, x in enumerate(self.sentinel_sites)]
        for kind, i, district in placed:
            if district not in districts:
                raise ValueError(f"{kind}[{i}].district: unknown district {district!r}")
        for i, amb in enumerate(self.ambulances):
            if amb.station not in stations:
                raise ValueError(f"ambulances[{i}].station: unknown station {amb.station!r}")
        for i, d in enumerate(self.districts):
            for n in d.neighbours:
                if n == d.id:
                    raise ValueError(f"districts[{i}].neighbours: {n!r} is the district itself")
                if n not in districts:
                    raise ValueError(f"districts[{i}].neighbours: unknown district {n!r}")
        return self

    # -- derived views (cached: the model is frozen) ---------------------------------------------------
    @cached_property
    def district_by_id(self) -> dict[str, District]:
        return {d.id: d for d in self.districts}

    @cached_property
    def station_by_id(self) -> dict[str, Station]:
        return {s.id: s for s in self.stations}

    @cached_property
    def hospital_by_id(self) -> dict[str, Hospital]:
        return {h.id: h for h in self.hospitals}

    @cached_property
    def unit_district(self) -> dict[str, str]:
        """Home district of every ambulance."""
        return {a.id: self.station_by_id[a.station].district for a in self.ambulances}

    @cached_property
    def _neighbour_pairs(self) -> frozenset[frozenset[str]]:
        return frozenset(frozenset((d.id, n)) for d in self.districts for n in d.neighbours)

    def distance_class(self, from_district: str, to_district: str) -> DistanceClass:
        """How far ``to_district`` is from ``from_district``: the same district is LOCAL; a listed
        neighbour (listed on either side) or urban to urban is NEAR; anything else, or a district the city
        does not know, is FAR (an unknown place is not assumed to be close)."""
        districts = self.district_by_id
        if from_district not in districts or to_district not in districts:
            return DistanceClass.FAR
        if from_district == to_district:
            return DistanceClass.LOCAL
        if frozenset((from_district, to_district)) in self._neighbour_pairs:
            return DistanceClass.NEAR
        urban = DistrictType.URBAN
        if districts[from_district].type is urban and districts[to_district].type is urban:
            return DistanceClass.NEAR
        return DistanceClass.FAR

    @property
    def population(self) -> int:
        return sum(d.population for d in self.districts)

    @property
    def total_beds(self) -> int:
        return sum(sum(h.wards.values()) for h in self.hospitals)

    @property
    def beds_per_1000(self) -> float:
        return 1000.0 * self.total_beds / self.population


def load_city(path: str | Path | None = None) -> City:
    """Load and check a city file; ``None`` loads the default city shipped with Vigil."""
    if path is None:
        text = resources.files("vigil.core").joinpath("cities/default.yaml").read_text(encoding="utf-8")
        where = "cities/default.yaml"
    else:
        p = Path(path)
        if not p.is_file():
            raise CityError(f"{p}: no such city file; pass a YAML file like vigil/core/cities/default.yaml")
        text, where = p.read_text(encoding="utf-8"), str(p)
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise CityError(f"{where}: not valid YAML: {exc}") from None
    if not isinstance(data, dict):
        raise CityError(f"{where}: (top level): expected a mapping with districts, stations, ambulances…")
    try:
        return City.model_validate(data)
    except ValidationError as exc:
        raise CityError(describe(exc, where)) from None
