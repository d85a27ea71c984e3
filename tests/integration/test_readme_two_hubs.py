"""The README's recipe for two linked hubs on one machine, followed literally: its lines are
read out of README.md and run one by one (only the two ports are swapped for free ones)."""

from __future__ import annotations

import json
import os
import re
import shlex
import signal
import subprocess
import sys
from pathlib import Path

import httpx
import pytest
from support.hubs import free_port, wait_for

ROOT = Path(__file__).resolve().parents[2]
HEADING = "### Two linked hubs on one machine"

pytestmark = pytest.mark.multihub


def recipe_lines() -> list[str]:
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    assert HEADING in text, "README.md lost its two-hubs recipe"
    block = re.search(r"```sh\n(.*?)```", text.split(HEADING, 1)[1], re.DOTALL)
    assert block is not None
    return [line.strip() for line in block.group(1).splitlines() if line.strip()]


def test_readme_two_hubs_recipe__hubs_link_and_see_each_other(tmp_path: Path) -> None:
    """mkdir, init ×2, migrate ×2, users ×2, serve ×2, neighbours add both ways: linked, and
    each hub resolves the other's member."""
    onze, vingt = free_port("127.0.0.1"), free_port("127.0.0.1")
    while vingt == onze:
        vingt = free_port("127.0.0.1")
    # `.venv/bin/voisins` of the recipe is this interpreter's voisins.
    wrapper = tmp_path / ".venv" / "bin" / "voisins"
    wrapper.parent.mkdir(parents=True)
    wrapper.write_text(f'#!/bin/sh\nexec {shlex.quote(sys.executable)} -m fedi.cli "$@"\n')
    wrapper.chmod(0o755)
    env = {k: v for k, v in os.environ.items() if not k.startswith("VOISINS_")}
    env["PYTHONPATH"] = str(ROOT) + os.pathsep + env.get("PYTHONPATH", "")
    servers: list[subprocess.Popen[bytes]] = []

    def run(line: str) -> str:
        result = subprocess.run(line, shell=True, cwd=tmp_path, env=env, capture_output=True,
                                text=True, timeout=120, check=False)
        assert result.returncode == 0, f"{line}\n{result.stdout}{result.stderr}"
        return result.stdout

    outputs: dict[str, str] = {}
    try:
        for raw in recipe_lines():
            line = raw.replace("8401", str(onze)).replace("8402", str(vingt))
            if line.endswith("&"):
                argv = shlex.split(line[:-1])
                with open(tmp_path / f"serve{len(servers)}.log", "wb") as log:
                    servers.append(subprocess.Popen(argv, cwd=tmp_path, env=env, stdout=log,
                                                    stderr=subprocess.STDOUT))
                port = onze if "onze/" in line else vingt

                def answers(proc: subprocess.Popen[bytes] = servers[-1], port: int = port) -> bool:
                    assert proc.poll() is None, (tmp_path / f"serve{len(servers) - 1}.log").read_text()
                    try:
                        return httpx.get(f"http://127.0.0.1:{port}/.well-known/nodeinfo",
                                         timeout=2).status_code == 200
                    except httpx.TransportError:
                        return False

                wait_for(answers, timeout=180, what=f"the hub on port {port} to answer")
            elif " neighbours list" in line:
                pattern = rf"^127\.0\.0\.1:{vingt}\tlinked"

                def linked(line: str = line, pattern: str = pattern) -> str | None:
                    out = run(line)
                    return out if re.search(pattern, out, re.MULTILINE) else None

                outputs["list"] = wait_for(linked, timeout=60, what="the two hubs to be linked")
            elif " lookup " in line:
                outputs["lookup"] = wait_for(lambda line=line: run(line), timeout=30,
                                             what="the lookup to succeed")
            else:
                run(line)
        assert (tmp_path / "onze" / "voisins.db").exists()
        assert (tmp_path / "vingt" / "voisins.db").exists()
        bob = json.loads(outputs["lookup"])
        assert bob["username"] == "bob" and bob["domain"] == f"127.0.0.1:{vingt}"
        assert bob["id"] == f"http://127.0.0.1:{vingt}/users/bob"
        # and the other way: Vingt has Onze linked too
        back = run(".venv/bin/voisins --config vingt/voisins.toml neighbours list")
        assert re.search(rf"^127\.0\.0\.1:{onze}\tlinked", back, re.MULTILINE), back
    finally:
        for proc in servers:
            if proc.poll() is None:
                proc.send_signal(signal.SIGTERM)
                try:
                    proc.wait(timeout=15)
                except subprocess.TimeoutExpired:
                    proc.kill()
                    proc.wait(timeout=10)
