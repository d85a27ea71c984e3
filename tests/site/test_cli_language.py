"""The ``voisins`` command speaks French when the locale is French, English otherwise."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from fedi.cli_language import cli_language


def run(tmp_path: Path, env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    base = {k: v for k, v in os.environ.items()
            if not k.startswith(("VOISINS_", "LC_", "LANG"))}
    return subprocess.run([sys.executable, "-m", "fedi.cli", *args], capture_output=True, check=False,
                          text=True, env={**base, **env}, cwd=tmp_path, timeout=60)


@pytest.mark.parametrize(("env", "lang"), [
    ({"LANG": "fr_FR.UTF-8"}, "fr"), ({"LC_ALL": "fr_CA"}, "fr"), ({}, "en"),
    ({"LANG": "C.UTF-8"}, "en"), ({"LANG": "fr_FR.UTF-8", "LC_ALL": "en_GB.UTF-8"}, "en"),
    ({"LANG": "en_US.UTF-8", "LC_MESSAGES": "fr_FR"}, "fr"),
])
def test_language_from_the_locale(env: dict[str, str], lang: str) -> None:
    assert cli_language(env) == lang


def test_help_and_errors_in_french_and_english(tmp_path: Path) -> None:
    fr = run(tmp_path, {"LANG": "fr_FR.UTF-8"}, "--help")
    assert fr.returncode == 0
    assert "utilisation" in fr.stdout and "créer ou mettre à jour le schéma" in fr.stdout
    en = run(tmp_path, {"LANG": "C.UTF-8"}, "--help")
    assert "usage:" in en.stdout and "create or upgrade the database schema" in en.stdout
    missing = str(tmp_path / "none.toml")
    fr_error = run(tmp_path, {"LANG": "fr_FR.UTF-8"}, "--config", missing, "migrate")
    assert fr_error.returncode == 2
    assert "erreur de configuration" in fr_error.stderr and "n’existe pas" in fr_error.stderr
    en_error = run(tmp_path, {}, "--config", missing, "migrate")
    assert "configuration error" in en_error.stderr and "does not exist" in en_error.stderr
    usage = run(tmp_path, {"LANG": "fr_FR.UTF-8"}, "users")
    assert usage.returncode == 2 and "ces arguments sont obligatoires" in usage.stderr
