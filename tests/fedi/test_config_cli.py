"""The voisins command and its config: clear one-line errors, never a traceback."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from fedi.config import ConfigError, load_settings, render_config


def run(cwd: Path, *args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "fedi.cli", *args], capture_output=True,
                          text=True, cwd=cwd, env=env, timeout=120)


def write(tmp_path: Path, text: str) -> str:
    path = tmp_path / "voisins.toml"
    path.write_text(text, encoding="utf-8")
    return str(path)


def test_load_settings__env_overrides_file(tmp_path: Path) -> None:
    """VOISINS_SECTION_KEY overrides the TOML value, lists included."""
    path = write(tmp_path, render_config(domain="hub.example", name="Hub"))
    s = load_settings(path, env={"VOISINS_HUB_NAME": "Onze", "VOISINS_FEDERATION_NEIGHBOURS":
                                 "a.example, B.example:8443", "VOISINS_FEDERATION_ALLOW_HTTP": "1"})
    assert s.name == "Onze"
    assert s.neighbours == ("a.example", "b.example:8443")
    assert s.allow_http is True
    assert s.allow_private_addresses is False
    assert s.database_url == "sqlite:///" + str(tmp_path / "voisins.db")


@pytest.mark.parametrize(
    ("text", "key"),
    [
        ('[hub]\nname = "x"\nsecret = "0123456789abcdefghij"\n', "hub.domain"),
        ('[hub]\ndomain = "bad domain"\nsecret = "0123456789abcdefghij"\n', "hub.domain"),
        ('[hub]\ndomain = "a.example"\n', "hub.secret"),
        ('[hub]\ndomain = "a.example"\nsecret = "0123456789abcdefghij"\nterritory = ["7501"]\n',
         "hub.territory"),
        ('[hub]\ndomain = "a.example"\nsecret = "0123456789abcdefghij"\n[database]\nurl = "mysql://x"\n',
         "database.url"),
        ('[hub]\ndomain = "a.example"\nsecret = "0123456789abcdefghij"\n[federation]\nallow_http = "maybe"\n',
         "federation.allow_http"),
        ('[hub]\ndomain = "a.example"\nsecret = "0123456789abcdefghij"\n[federation]\nneighbours = ["x y"]\n',
         "federation.neighbours"),
        ('[hub]\ndomain = "a.example"\nsecret = "0123456789abcdefghij"\n[server]\nport = "http"\n',
         "server.port"),
        ('[hub]\ndomain = "a.example"\nsecret = "0123456789abcdefghij"\n[server]\ntls_cert = "/nope.pem"\n',
         "server.tls_cert"),
        ("[hub\n", "--config"),
    ],
)
def test_load_settings__bad_value_names_the_key(tmp_path: Path, text: str, key: str) -> None:
    """Each wrong or missing value raises ConfigError naming that key."""
    with pytest.raises(ConfigError) as info:
        load_settings(write(tmp_path, text), env={})
    assert info.value.key == key


def test_cli__bad_config_is_one_line_no_traceback(tmp_path: Path) -> None:
    """A broken config stops any command with one line naming the key (exit 2)."""
    write(tmp_path, '[hub]\ndomain = "a.example"\nsecret = "short"\n')
    result = run(tmp_path, "--config", "voisins.toml", "migrate")
    assert result.returncode == 2
    assert "Traceback" not in result.stderr
    assert result.stderr.strip().count("\n") == 0
    assert "hub.secret" in result.stderr


def test_cli__missing_config_file(tmp_path: Path) -> None:
    """--config naming a missing file says so and suggests init."""
    result = run(tmp_path, "--config", "nope.toml", "serve")
    assert result.returncode == 2 and "voisins init" in result.stderr
    assert "Traceback" not in result.stderr


@pytest.mark.parametrize(
    "argv",
    [["--help"], ["init", "--help"], ["migrate", "--help"], ["serve", "--help"],
     ["worker", "--help"], ["users", "create", "--help"], ["neighbours", "add", "--help"],
     ["neighbours", "list", "--help"], ["neighbours", "remove", "--help"], ["lookup", "--help"]],
)
def test_cli__help(tmp_path: Path, argv: list[str]) -> None:
    """Every command answers --help."""
    result = run(tmp_path, *argv)
    assert result.returncode == 0
    assert "usage: voisins" in result.stdout


def test_cli__init_migrate_users_neighbours(tmp_path: Path) -> None:
    """init → migrate → users create (with bad inputs refused) → neighbours add/list/remove."""
    assert run(tmp_path, "init", "--domain", "Hub.Example", "--territory", "75011,75012").returncode == 0
    again = run(tmp_path, "init", "--domain", "hub.example")
    assert again.returncode == 2 and "already exists" in again.stderr
    settings = load_settings(str(tmp_path / "voisins.toml"), env={})
    assert settings.domain == "hub.example" and settings.territory == ("75011", "75012")
    assert len(settings.secret) >= 32

    not_migrated = run(tmp_path, "users", "create", "alice", "--email", "a@b.org",
                       "--password", "longenough")
    assert not_migrated.returncode == 2 and "voisins migrate" in not_migrated.stderr
    assert run(tmp_path, "migrate").returncode == 0
    ok = run(tmp_path, "users", "create", "alice", "--email", "a@b.org", "--password",
             "longenough", "--role", "admin")
    assert ok.returncode == 0, ok.stderr
    assert "https://hub.example/users/alice" in ok.stdout
    for bad, word in (
        (["alice", "--email", "z@b.org", "--password", "longenough"], "already taken"),
        (["alice2", "--email", "A@b.org", "--password", "longenough"], "already registered"),
        (["Bad Name", "--email", "c@b.org", "--password", "longenough"], "username"),
        (["carol", "--email", "not-an-email", "--password", "longenough"], "email"),
        (["carol", "--email", "c@b.org", "--password", "short"], "password"),
    ):
        result = run(tmp_path, "users", "create", *bad)
        assert result.returncode == 2, bad
        assert word in result.stderr and "Traceback" not in result.stderr

    assert run(tmp_path, "neighbours", "add", "Douze.Example").returncode == 0
    bad = run(tmp_path, "neighbours", "add", "not a domain")
    assert bad.returncode == 2 and "DOMAIN" in bad.stderr
    listed = run(tmp_path, "neighbours", "list")
    assert "douze.example\trequested" in listed.stdout
    assert run(tmp_path, "neighbours", "remove", "douze.example").returncode == 0
    assert "douze.example" not in run(tmp_path, "neighbours", "list").stdout
    gone = run(tmp_path, "neighbours", "remove", "douze.example")
    assert gone.returncode == 2 and "not a neighbour" in gone.stderr
