"""The optional tables ([api], [delivery], [mesh], [registrations], [territory]) are checked
when the config loads: a wrong value or an unknown key is one error naming the key."""

from __future__ import annotations

from pathlib import Path

import pytest

from fedi.config import ConfigError, load_settings, render_config


def write(tmp_path: Path, tables: str) -> str:
    path = tmp_path / "voisins.toml"
    path.write_text(render_config(domain="hub.example", name="Hub") + tables, encoding="utf-8")
    return str(path)


@pytest.mark.parametrize(
    ("tables", "key"),
    [
        ('[api]\nrate_limit = "lots"\n', "api.rate_limit"),
        ("[api]\nlogin_rate_limit_ip = 0\n", "api.login_rate_limit_ip"),
        ("[api]\nlogin_rate_limit_account = true\n", "api.login_rate_limit_account"),
        ("[api]\naccount_stats_ttl = -1\n", "api.account_stats_ttl"),
        ('[api]\ncontact_email = "nobody"\n', "api.contact_email"),
        ("[api]\nratelimit = 10\n", "api.ratelimit"),
        ("[delivery]\nconcurrency = 0\n", "delivery.concurrency"),
        ('[delivery]\nretry_base_seconds = "soon"\n', "delivery.retry_base_seconds"),
        ("[delivery]\nworkers = 4\n", "delivery.workers"),
        ("[mesh]\nrefresh_seconds = 0.5\n", "mesh.refresh_seconds"),
        ('[mesh]\nrefresh_seconds = "hourly"\n', "mesh.refresh_seconds"),
        ("[mesh]\nrefresh = 60\n", "mesh.refresh"),
        ('[registrations]\nmode = "open"\n', "registrations.mode"),
        ("[registrations]\nmod = \"closed\"\n", "registrations.mod"),
        ("[territory]\nfile = 3\n", "territory.file"),
        ('[territory]\npath = "lyon.json"\n', "territory.path"),
        ('api = "x"\n', "api"),
    ],
)
def test_load_settings__bad_table_value_names_the_key(tmp_path: Path, tables: str,
                                                      key: str) -> None:
    """Each section's bad value (or unknown key) raises ConfigError naming table.key."""
    path = tmp_path / "voisins.toml"
    if tables.startswith("["):
        path = Path(write(tmp_path, tables))
    else:  # a top-level key that should be a table goes before the first table
        path.write_text(tables + render_config(domain="hub.example", name="Hub"), encoding="utf-8")
    with pytest.raises(ConfigError) as info:
        load_settings(str(path), env={})
    assert info.value.key == key
    assert key in str(info.value) and "\n" not in str(info.value)


def test_load_settings__good_tables_and_env_strings_pass(tmp_path: Path) -> None:
    """Good values load, and string overrides from the environment are numbers too."""
    path = write(tmp_path, '[api]\nrate_limit = 50\ncontact_email = "admin@hub.example"\n'
                           '[mesh]\nrefresh_seconds = 600\n[registrations]\nmode = "closed"\n'
                           '[delivery]\nbatch = 8\nlease_seconds = 2.5\n')
    settings = load_settings(path, env={"VOISINS_API_ACCOUNT_STATS_TTL": "0",
                                        "VOISINS_MESH_REFRESH_SECONDS": "120"})
    assert settings.extra["api"]["rate_limit"] == 50
    assert settings.extra["mesh"]["refresh_seconds"] == "120"
    with pytest.raises(ConfigError) as info:
        load_settings(path, env={"VOISINS_API_RATE_LIMIT": "many"})
    assert info.value.key == "api.rate_limit"
