"""The built wheel carries prompts/ and the migrations: install it into a fresh venv and use it from there."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


@pytest.mark.skipif(bool(os.environ.get("CIVICPULSE_TEST_DATABASE_URL")),
                    reason="database-independent; runs in the SQLite pass")
def test_wheel_installs_and_runs_outside_the_checkout(tmp_path: Path) -> None:
    dist = tmp_path / "dist"
    subprocess.run([sys.executable, "-m", "build", "--wheel", "--no-isolation", "--outdir", str(dist), str(ROOT)],
                   check=True, capture_output=True, timeout=300)
    wheel = next(dist.glob("civicpulse-*.whl"))
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True, timeout=120)
    pip = subprocess.run([str(venv / "bin" / "python"), "-m", "pip", "install", "--quiet", str(wheel)],
                         capture_output=True, text=True, timeout=900)
    assert pip.returncode == 0, pip.stderr[-2000:]
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    env = {k: v for k, v in os.environ.items() if not k.startswith("CIVICPULSE_") and k != "PYTHONPATH"}
    cli = str(venv / "bin" / "civicpulse")
    upgrade = subprocess.run([cli, "db", "upgrade"], cwd=elsewhere, env=env, capture_output=True, text=True,
                             timeout=300)
    assert upgrade.returncode == 0, upgrade.stderr[-2000:]
    assert (elsewhere / "var" / "civicpulse.db").exists() and (elsewhere / "var" / "secret_key").exists()
    analyzed = subprocess.run([cli, "analyze", "¿Quién ve las grabaciones de la cámara CAM-104?"], cwd=elsewhere,
                              env=env, capture_output=True, text=True, timeout=300)
    assert analyzed.returncode == 0, analyzed.stderr[-2000:]
    out = json.loads(analyzed.stdout)
    assert out["language"] == "es" and out["polarity"] is None and "CAM-104" in out["text"]
