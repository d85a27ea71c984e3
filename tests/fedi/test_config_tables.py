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
        ("[passwords]\nmemory_kib = 64\n", "passwords.memory_kib"),
        ("[passwords]\ntime_cost = 0\n", "passwords.time_cost"),
        ('[passwords]\nalgorithm = "md5"\n', "passwords.algorithm"),
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


def test_passwords_table_sets_the_cost_of_new_hashes_only(tmp_path: Path) -> None:
    """``[passwords]`` changes the argon2 cost of new hashes; without it, argon2's own
    parameters; a hash made with either is checked by both (the parameters are in it)."""
    from argon2 import PasswordHasher, extract_parameters

    from fedi.services.accounts import check_password, hash_password

    plain = load_settings(write(tmp_path, ""), env={})
    (tmp_path / "cheap").mkdir()
    cheap = load_settings(write(tmp_path / "cheap", "[passwords]\ntime_cost = 2\n"
                                                      "memory_kib = 2048\n"), env={})
    strong = PasswordHasher().hash("secret")  # what a hub without the table makes
    weak = hash_password("secret", cheap)
    params = extract_parameters(weak)
    assert (params.time_cost, params.memory_cost) == (2, 2048)
    assert extract_parameters(strong).memory_cost == 65536
    assert check_password(weak, "secret") and check_password(strong, "secret")
    assert not check_password(weak, "Secret")
    assert "passwords" not in plain.extra
