"""Every example in every command's ``--help`` runs, typed into a shell as a user would.

Each runs after the demo (the bundled dumps, the example profile, its digest sent), on a copy
of that database of its own, so no example depends on another. What an example names that a
user has and a test has not is put in place first: the files and folders it names, a
clipboard, the servers it talks to (loopback ones here), and nothing else is changed in it but
the few values :data:`STAND_INS` lists.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path

import click
import pytest

from recommender import resources
from recommender.cli import cli
from tests.loopback import FIXTURES, Reply, Seen, json_file, serving
from tests.mailserver import LOGIN, MailServer, free_port

REPO = Path(__file__).resolve().parent.parent


def _commands(group: click.Group, prefix: str = "") -> Iterator[tuple[str, click.Command]]:
    for name, command in group.commands.items():
        if command.hidden:
            continue
        yield f"{prefix}{name}", command
        if isinstance(command, click.Group):
            yield from _commands(command, f"{prefix}{name} ")


def help_examples() -> list[tuple[str, str]]:
    """(command, example line) for every example under an "Example(s):" heading of the
    top-level help and of every command's."""
    found = []
    for name, text in [
        ("recommender", cli.epilog or ""),
        *((n, c.help or "") for n, c in _commands(cli)),
    ]:
        heading = False
        for line in text.splitlines():
            line = line.strip()
            if line.startswith("Example"):
                heading = True
            elif heading and line:
                found.append((name, line.split("  # ")[0].strip()))
            else:
                heading = False
    return found


EXAMPLES = help_examples()

# What an example names that belongs to a user's setup, and what stands in for it here.
STAND_INS = {
    "postgresql://postgres@localhost/papers": "{database_url}",  # their server
    "/tmp/recommender-demo": "{tmp}/recommender-demo",
    "mail.example.org": "127.0.0.1",  # their mail server: the test's (port in the environment)
    "RECOMMENDER_SMTP_USER=me": f"RECOMMENDER_SMTP_USER={LOGIN[0]}",
    # one request a day since the date: a week, not every day since the example was written
    "fetch --since 2026-03-01": f"fetch --since {date.today() - timedelta(days=7)}",
}

# Examples that end otherwise than with status 0, as they should: the digest id in
# ``outbox --resend 42`` is one of the user's (this database has one digest, 1).
EXPECTED_STATUS = {"recommender outbox --resend 42 && recommender send": 1}


def test_every_command_has_examples_and_each_is_collected() -> None:
    named = {name for name, _ in EXAMPLES}
    assert named == {"recommender", *(name for name, _ in _commands(cli))}
    assert all("recommender" in line for _, line in EXAMPLES)


def _hugging_face_and_arxiv(request: Seen) -> Reply:
    """A day of Hugging Face Daily Papers, arXiv's feed, and an empty query API."""
    if request.path == "/api/daily_papers":
        name = f"{request.query['date']}-p{request.query['p']}.json"
        return json_file("hf", name if (FIXTURES / "hf" / name).exists() else "empty.json")
    if request.path.startswith("/rss/"):
        body = (FIXTURES / "arxiv" / "rss-cs.LG.xml").read_bytes()
        return Reply(200, body, {"Content-Type": "application/rss+xml"})
    if request.path == "/api/query":
        body = (FIXTURES / "arxiv" / "query-search-empty.xml").read_bytes()
        return Reply(200, body, {"Content-Type": "application/atom+xml"})
    return Reply(404)


@dataclass(frozen=True)
class UserSetup:
    env: dict[str, str]  # with a ``recommender`` and a clipboard on the PATH
    cwd: Path  # the folder they type in, which is also their home folder
    template: Path  # the database and data directory after the demo, to be copied
    sources_url: str  # where Hugging Face and arXiv answer (on loopback)


@pytest.fixture(scope="module")
def after_the_demo(tmp_path_factory: pytest.TempPathFactory) -> Iterator[UserSetup]:
    """A user's setup after ``recommender demo``: its database and home (to be copied), the
    folder they type in, their home folder, a ``recommender`` and a clipboard on the PATH."""
    root = tmp_path_factory.mktemp("examples")
    bin_dir, user_home, template = root / "bin", root / "user", root / "template"
    for folder in (bin_dir, user_home, template):
        folder.mkdir()
    dumps = sorted(resources.example_dumps_dir().glob("*.txt"))
    (bin_dir / "recommender").write_text(
        f'#!/bin/sh\nexec "{sys.executable}" -m recommender "$@"\n'
    )
    (bin_dir / "xclip").write_text(f'#!/bin/sh\nexec cat "{dumps[0]}"\n')
    for script in bin_dir.iterdir():
        script.chmod(0o755)
    for folder in (user_home / "dumps", user_home / "Downloads" / "daily-papers"):
        folder.mkdir(parents=True)
        for dump in dumps:
            shutil.copy(dump, folder)
    shutil.copy(dumps[0], user_home / "2026-11-20.txt")
    (user_home / "profiles").mkdir()
    shutil.copy(resources.profiles_dir() / "example.toml", user_home / "profiles" / "ada.toml")
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith("RECOMMENDER_")},
        "PATH": f"{bin_dir}{os.pathsep}{os.environ['PATH']}",
        "PYTHONPATH": str(REPO),
        "HOME": str(user_home),
        "XDG_CONFIG_HOME": str(root / "xdg-config"),
        "RECOMMENDER_EMBEDDING_MODEL": "none",
        "RECOMMENDER_SOURCES": "none",
        "RECOMMENDER_DATABASE_URL": f"sqlite:///{template / 'cli.db'}",
        "RECOMMENDER_HOME": str(template / "home"),
    }

    def setup(command: str) -> None:
        done = subprocess.run(
            command, shell=True, cwd=user_home, env=env, capture_output=True, text=True
        )
        assert done.returncode == 0, (command, done.stdout, done.stderr)

    setup("recommender demo")
    for paper, vote in [
        ("Sparse Mixture Routing", "up"),
        ("Calibrated Uncertainty", "up"),
        ("Diffusion Policies", "down"),
        ("Self-Supervised Weather", "down"),
    ]:  # enough for evaluate
        setup(f'recommender rate ada@example.org "{paper}" {vote}')
    setup("recommender export-ratings ada@example.org -o ada-ratings.csv")
    with serving(_hugging_face_and_arxiv) as (url, _):
        yield UserSetup(env, user_home, template, url)


@pytest.mark.slow  # about two minutes of processes: CI runs it (tests/conftest.py)
@pytest.mark.parametrize(("name", "example"), EXAMPLES, ids=[line for _, line in EXAMPLES])
def test_every_help_example_runs(
    after_the_demo: UserSetup,
    tmp_path: Path,
    login_mail_server: MailServer,
    name: str,
    example: str,
) -> None:
    database = tmp_path / "db"
    shutil.copytree(after_the_demo.template, database)
    database_url = f"sqlite:///{database / 'cli.db'}"
    command = example
    for value, stand_in in STAND_INS.items():
        command = command.replace(value, stand_in.format(database_url=database_url, tmp=tmp_path))
    url = after_the_demo.sources_url
    env = {
        **after_the_demo.env,
        "RECOMMENDER_DATABASE_URL": database_url,
        "RECOMMENDER_HOME": str(database / "home"),
        "RECOMMENDER_HF_API_URL": url,
        "RECOMMENDER_HF_REQUEST_INTERVAL": "0",
        "RECOMMENDER_ARXIV_RSS_URL": url,
        "RECOMMENDER_ARXIV_API_URL": url,
        "RECOMMENDER_ARXIV_REQUEST_INTERVAL": "0",
        "RECOMMENDER_SMTP_PORT": str(login_mail_server.port),
        "RECOMMENDER_SMTP_SECURITY": "none",
        "RECOMMENDER_SMTP_PASSWORD": LOGIN[1],
    }
    if " serve" in command:
        # a free port: 8000 may be taken, by another test among others
        command = f"{command} --port {free_port()}"
        status, output = _serve_until_it_listens(command, env, after_the_demo.cwd)
    else:
        done = subprocess.run(
            command,
            shell=True,
            executable="/bin/bash",
            cwd=after_the_demo.cwd,
            env=env,
            capture_output=True,
            text=True,
            timeout=300,
        )
        status, output = done.returncode, done.stdout + done.stderr
    assert status == EXPECTED_STATUS.get(example, 0), f"`{name} --help`: {example}\n{output}"
    assert "Traceback" not in output and "Error:" not in output.replace(
        "Error: there is no digest 42\n", ""
    )


def _serve_until_it_listens(command: str, env: dict[str, str], cwd: Path) -> tuple[int, str]:
    """Start ``serve``, stop it with SIGTERM once its scheduler has started; its status and
    output."""
    process = subprocess.Popen(
        command,
        shell=True,
        executable="/bin/bash",  # which runs the last command in its place: its status is ours
        cwd=cwd,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,  # the shell and the service are one group, signalled at once
    )
    assert process.stdout is not None
    said = []
    for line in process.stdout:  # until it is up (its signal handlers too) or gone
        said.append(line)
        if "scheduler started" in line:
            os.killpg(process.pid, signal.SIGTERM)
            break
    try:
        rest, _ = process.communicate(timeout=60)
    finally:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGKILL)
    return process.returncode, "".join(said) + rest
