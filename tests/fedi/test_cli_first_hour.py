"""An operator's first hour with the ``voisins`` command: the port follows the domain, a
folder with no config says so, and a closed pipe ends a command quietly."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from fedi.config import load_settings


def run(cwd: Path, *args: str, **kw) -> subprocess.CompletedProcess[str]:  # type: ignore[no-untyped-def]
    env = {k: v for k, v in os.environ.items() if not k.startswith("VOISINS_")}
    return subprocess.run([sys.executable, "-m", "fedi.cli", *args], text=True, cwd=cwd,
                          env=env, timeout=120, check=False,
                          **{"capture_output": True, **kw})


def test_init__port_comes_from_the_domain_unless_given(tmp_path: Path) -> None:
    """init --domain H:P writes server.port = P; --port wins; no port in the domain: 8000."""
    assert run(tmp_path, "init", "--domain", "127.0.0.1:8490").returncode == 0
    assert load_settings(str(tmp_path / "voisins.toml"), env={}).port == 8490
    assert run(tmp_path, "init", "--domain", "hub.example", "--port", "9001",
               "--force").returncode == 0
    assert load_settings(str(tmp_path / "voisins.toml"), env={}).port == 9001
    assert run(tmp_path, "init", "--domain", "hub.example", "--force").returncode == 0
    assert load_settings(str(tmp_path / "voisins.toml"), env={}).port == 8000


def test_cli__outside_a_hub_folder_says_there_is_no_config(tmp_path: Path) -> None:
    """No voisins.toml and no --config: one line saying so, not 'hub.domain: missing'."""
    for argv in (["trades", "list"], ["serve"], ["migrate"]):
        result = run(tmp_path, *argv)
        assert result.returncode == 2
        assert "no voisins.toml here (use --config or run voisins init)" in result.stderr
        assert "hub.domain" not in result.stderr and "Traceback" not in result.stderr


def test_quickstart__port_disagreeing_with_the_domain_is_explained(tmp_path: Path) -> None:
    """quickstart --port P on a hub whose ids carry another port refuses, saying why."""
    assert run(tmp_path, "init", "--domain", "127.0.0.1:8490", "--scheme", "http").returncode == 0
    result = run(tmp_path, "quickstart", "--port", "8491")
    assert result.returncode == 2 and "Traceback" not in result.stderr
    assert "127.0.0.1:8490" in result.stderr and "8491" in result.stderr


def test_cli__closed_pipe_ends_quietly(tmp_path: Path) -> None:
    """`voisins trades list | head -0`: the reader is gone; no BrokenPipe traceback."""
    assert run(tmp_path, "init", "--domain", "hub.example").returncode == 0
    assert run(tmp_path, "migrate").returncode == 0
    read_end, write_end = os.pipe()
    os.close(read_end)  # the reader has gone before the command writes anything
    try:
        result = run(tmp_path, "trades", "list", capture_output=False, stdout=write_end,
                     stderr=subprocess.PIPE)
    finally:
        os.close(write_end)
    assert "Traceback" not in result.stderr and "BrokenPipe" not in result.stderr, result.stderr
    assert result.stderr == ""
