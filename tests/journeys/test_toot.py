"""toot 0.52.1 against a real ``voisins serve`` on loopback, non-interactively:
``login_cli``, ``whoami``, ``post``, ``timeline`` and ``notifications`` (client-api.md §7)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest
from support.hubs import HubProcess

pytestmark = pytest.mark.multihub
TOOT = Path(sys.executable).with_name("toot")


@pytest.fixture
def hub(make_hub: Callable[..., HubProcess]) -> HubProcess:
    h = make_hub("toot")
    h.add_user("alice")
    h.add_user("bob")
    h.start()
    return h


def toot_runner(tmp_path: Path, name: str) -> Callable[..., subprocess.CompletedProcess[str]]:
    home = tmp_path / name
    (home / "config").mkdir(parents=True)
    (home / "cache").mkdir()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("TOOT_", "VOISINS_"))}
    env.update(XDG_CONFIG_HOME=str(home / "config"), XDG_CACHE_HOME=str(home / "cache"),
               HOME=str(home), NO_COLOR="1", COLUMNS="120")

    def run(*args: str) -> subprocess.CompletedProcess[str]:
        result = subprocess.run([str(TOOT), *args], capture_output=True, text=True, env=env,
                                stdin=subprocess.DEVNULL, timeout=60)
        assert result.returncode == 0, (args, result.stdout[-2000:], result.stderr[-2000:])
        return result

    return run


def test_toot_journey(hub: HubProcess, tmp_path: Path) -> None:
    alice = toot_runner(tmp_path, "alice")
    bob = toot_runner(tmp_path, "bob")
    for run, name in ((alice, "alice"), (bob, "bob")):
        login = run("login_cli", "--instance", hub.base, "--email", f"{name}@{hub.host}.test",
                    "--password", hub.passwords[name])
        assert "Successfully logged in" in login.stdout
    me = json.loads(alice("whoami", "--json").stdout)
    assert me["username"] == "alice" and me["source"]["privacy"] == "private"
    assert "@alice" in alice("whoami").stdout

    posted = alice("post", "Bonjour le quartier, qui connaît un plombier ?")
    assert posted.stdout.startswith("Toot posted: ") and hub.base in posted.stdout
    alice("post", "Aux voisins du 11e", "--visibility", "public")
    timeline = alice("timeline", "--once")
    assert "plombier" in timeline.stdout and "Aux voisins du 11e" in timeline.stdout
    local = bob("timeline", "--public", "--local", "--once")
    assert "Aux voisins du 11e" in local.stdout and "plombier" not in local.stdout
    as_json = json.loads(alice("timelines", "home", "--json").stdout)
    assert [s["visibility"] for s in as_json][:2] == ["public", "private"]

    bob("post", "@alice on en parle jeudi ?", "--visibility", "direct")
    notes = alice("notifications")
    assert "on en parle jeudi" in notes.stdout
    assert "plombier" not in bob("timeline", "--once").stdout
