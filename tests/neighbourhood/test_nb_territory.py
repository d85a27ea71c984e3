"""The Paris preset and adjacency of territories (pure: the data file and its reader)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from fedi.config import ConfigError, load_settings
from fedi.services.territory import (
    DEFAULT_MAP,
    CityMapError,
    city_for,
    clean_territory,
    load_city,
    parse_city,
)


def test_paris_preset__every_arrondissement_and_its_codes() -> None:
    paris = load_city()
    assert len(paris.area_names) == 20
    assert {paris.area_of[f"750{n:02d}"] for n in range(1, 21)} == {str(n) for n in range(1, 21)}
    assert paris.area_of["75116"] == paris.area_of["75016"] == "16"


@pytest.mark.parametrize(("a", "b", "adjacent"), [
    ("75011", "75012", True),   # rue du Faubourg-Saint-Antoine
    ("75020", "75012", True),   # cours de Vincennes
    ("75011", "75020", True),   # boulevards de Belleville, Ménilmontant, Charonne
    ("75012", "75013", True),   # across the Seine
    ("75007", "75016", True),   # across the Seine (Trocadéro, Champ-de-Mars)
    ("75001", "75012", False),
    ("75001", "75020", False),
    ("75011", "75019", False),  # a single point at Belleville is not a border
    ("75011", "75011", False),  # sharing an arrondissement is not adjacency
    ("75116", "75017", True),   # the second code of the 16th
])
def test_adjacency(a: str, b: str, adjacent: bool) -> None:
    paris = load_city()
    assert paris.adjacent([a], [b]) is adjacent
    assert paris.adjacent([b], [a]) is adjacent


def test_territory_with_several_codes_and_unknown_codes() -> None:
    paris = load_city()
    assert paris.adjacent(["75001", "75011"], ["75020"])
    assert not paris.adjacent(["69001"], ["75011"])  # not in the map: never adjacent
    assert paris.covers(["75016"], "75116") and paris.covers(["75011"], "75011")
    assert not paris.covers(["75011"], "75012")


def test_clean_territory__bounded_and_validated() -> None:
    assert clean_territory(["75011", "75011", "7501", 75012, "abcde", "75020"]) == ["75011", "75020"]
    assert clean_territory("75011") == ["75011"]
    assert clean_territory({"x": 1}) == []
    assert len(clean_territory([f"{75000 + i}" for i in range(500)])) == 64


@pytest.mark.parametrize("doc", [
    {"areas": [{"id": "1", "postal_codes": ["7500"]}]},
    {"areas": [{"id": "1", "postal_codes": ["75001"]}, {"id": "1", "postal_codes": ["75002"]}]},
    {"areas": [{"id": "1", "postal_codes": ["75001"]}, {"id": "2", "postal_codes": ["75001"]}]},
    {"areas": [{"id": "1", "postal_codes": ["75001"]}], "borders": [["1", "9"]]},
    {"areas": "nope"},
])
def test_bad_city_map_is_refused(doc: object) -> None:
    with pytest.raises(CityMapError):
        parse_city(doc)


def test_admin_replaces_the_map(tmp_path: Path) -> None:
    lyon = {"name": "Lyon", "areas": [
        {"id": "1", "name": "Lyon 1er", "postal_codes": ["69001"]},
        {"id": "4", "name": "Lyon 4e", "postal_codes": ["69004"]}], "borders": [["1", "4"]]}
    (tmp_path / "lyon.json").write_text(json.dumps(lyon), encoding="utf-8")
    config = tmp_path / "voisins.toml"
    config.write_text('[hub]\ndomain = "lyon.example"\nsecret = "0123456789abcdefghij"\n'
                      'territory = ["69001"]\n[territory]\nfile = "lyon.json"\n', encoding="utf-8")
    settings = load_settings(str(config), env={})
    assert city_for(settings).adjacent(["69001"], ["69004"])
    (tmp_path / "broken.json").write_text("{broken", encoding="utf-8")
    with pytest.raises(CityMapError):
        load_city(tmp_path / "broken.json")
    config.write_text(config.read_text(encoding="utf-8").replace("lyon.json", "missing.json"),
                      encoding="utf-8")
    with pytest.raises(ConfigError, match="territory.file"):
        city_for(load_settings(str(config), env={}))
    assert DEFAULT_MAP.exists()
