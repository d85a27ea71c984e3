"""Territories: a hub's postal codes, the city map that groups them into areas, and adjacency.

A city map is a data file (``fedi/data/paris.json`` by default: the 20 arrondissements, their
postal codes and which ones share a border, across the Seine included). An admin of another
city replaces it with ``[territory] file = "/path/city.json"`` in ``voisins.toml``; the file is
validated when it is loaded and a wrong one stops with a message naming the key.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

from fedi.config import ConfigError, Settings

DEFAULT_MAP = Path(__file__).resolve().parent.parent / "data" / "paris.json"
POSTAL_RE = re.compile(r"^\d{5}$")
MAX_TERRITORY_CODES = 64


@dataclass(frozen=True)
class CityMap:
    """Areas (districts) by postal code, their names, and the pairs of areas that border."""

    name: str
    area_of: Mapping[str, str]
    area_names: Mapping[str, str]
    borders: frozenset[frozenset[str]]

    def areas(self, codes: Iterable[str]) -> set[str]:
        return {self.area_of[c] for c in codes if c in self.area_of}

    def border(self, a: str, b: str) -> bool:
        return a != b and frozenset((a, b)) in self.borders

    def adjacent(self, ours: Iterable[str], theirs: Iterable[str]) -> bool:
        """True when an area of one territory borders an area of the other.

        Sharing an area is not adjacency: two hubs for the same arrondissement are not
        neighbours of each other by geography, an admin links them by hand.
        """
        mine, other = self.areas(ours), self.areas(theirs)
        return any(self.border(a, b) for a in mine for b in other)

    def covers(self, territory: Iterable[str], code: str) -> bool:
        """Is ``code`` in the territory (listed, or another code of a listed area: 75116/75016)?"""
        codes = list(territory)
        if code in codes:
            return True
        area = self.area_of.get(code)
        return area is not None and area in self.areas(codes)

    def describe(self, codes: Iterable[str]) -> str:
        names = sorted({self.area_names[a] for a in self.areas(codes)})
        return ", ".join(names)


class CityMapError(ValueError):
    """A city map file is malformed; the message says where."""


def parse_city(doc: Any) -> CityMap:
    """Validate a city map document (see paris.json for the shape)."""
    if not isinstance(doc, dict) or not isinstance(doc.get("areas"), list):
        raise CityMapError("expected an object with an 'areas' list")
    area_of: dict[str, str] = {}
    names: dict[str, str] = {}
    for i, area in enumerate(doc["areas"]):
        if not isinstance(area, dict) or not isinstance(area.get("id"), str):
            raise CityMapError(f"areas[{i}] needs a string 'id'")
        area_id = area["id"]
        if area_id in names:
            raise CityMapError(f"area {area_id!r} is listed twice")
        names[area_id] = str(area.get("name") or area_id)
        codes = area.get("postal_codes")
        if not isinstance(codes, list) or not codes:
            raise CityMapError(f"area {area_id!r} needs a non-empty 'postal_codes' list")
        for code in codes:
            if not isinstance(code, str) or not POSTAL_RE.match(code):
                raise CityMapError(f"area {area_id!r}: {code!r} is not a 5-digit postal code")
            if code in area_of:
                raise CityMapError(f"postal code {code} is in two areas")
            area_of[code] = area_id
    borders: set[frozenset[str]] = set()
    for pair in doc.get("borders", []):
        if (not isinstance(pair, list) or len(pair) != 2 or pair[0] == pair[1]
                or any(p not in names for p in pair)):
            raise CityMapError(f"border {pair!r} must name two different known areas")
        borders.add(frozenset(pair))
    return CityMap(name=str(doc.get("name") or "?"), area_of=area_of, area_names=names,
                   borders=frozenset(borders))


@lru_cache(maxsize=8)
def _load(path: str, mtime: float) -> CityMap:
    del mtime  # part of the cache key only: a replaced file is read again
    try:
        doc = json.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise CityMapError(f"cannot read {path}: {exc}") from None
    return parse_city(doc)


def load_city(path: str | Path = DEFAULT_MAP) -> CityMap:
    p = Path(path)
    try:
        mtime = p.stat().st_mtime
    except OSError as exc:
        raise CityMapError(f"cannot read {p}: {exc}") from None
    return _load(str(p), mtime)


def city_for(settings: Settings) -> CityMap:
    """The city map this hub uses (``[territory] file``, else the Paris preset)."""
    table = settings.extra.get("territory", {})
    if not isinstance(table, Mapping):
        raise ConfigError("territory", "must be a table")
    path = table.get("file") or DEFAULT_MAP
    if not isinstance(path, str | Path):
        raise ConfigError("territory.file", "must be a path")
    if settings.config_path and not Path(path).is_absolute():
        path = Path(settings.config_path).parent / path
    try:
        return load_city(path)
    except CityMapError as exc:
        raise ConfigError("territory.file", str(exc)) from None


def clean_territory(value: Any) -> list[str]:
    """Postal codes from remote JSON: strings of 5 digits, deduplicated, bounded."""
    if isinstance(value, str):
        value = [value]
    if not isinstance(value, list):
        return []
    codes = [v for v in value if isinstance(v, str) and POSTAL_RE.match(v)]
    return list(dict.fromkeys(codes))[:MAX_TERRITORY_CODES]


def in_territory(settings: Settings, code: str) -> bool:
    return bool(POSTAL_RE.match(code)) and city_for(settings).covers(settings.territory, code)


def adjacent_to_us(settings: Settings, theirs: Iterable[str]) -> bool:
    return city_for(settings).adjacent(settings.territory, theirs)
