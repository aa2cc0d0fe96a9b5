"""Run commands as the tests need them: in a real process as a user would, or in this one."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from click.testing import CliRunner, Result

from recommender.cli import cli
from recommender.config import Settings


def run(
    *args: str, env: dict[str, str] | None = None, cwd: Path | None = None
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "recommender", *args],
        capture_output=True,
        text=True,
        env={**os.environ, **(env or {})},
        cwd=cwd,
        timeout=120,
    )


def invoke(*args: str, env: dict[str, str]) -> Result:
    """Run a command in this process (quicker than :func:`run`)."""
    return CliRunner().invoke(cli, list(args), env=env, catch_exceptions=False)


def cli_env(settings: Settings) -> dict[str, str]:
    """The environment that points a command at ``settings``' database and home."""
    return {
        "RECOMMENDER_DATABASE_URL": settings.database_url,
        "RECOMMENDER_HOME": str(settings.home),
    }
