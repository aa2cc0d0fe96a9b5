"""The command line, run as a user runs it: a real process, then a look into the database."""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import pty
import socket
import struct
import subprocess
import sys
import termios
import threading
import zipfile
from datetime import UTC, datetime, timedelta
from pathlib import Path

import click
import pytest
from click.testing import CliRunner
from sqlalchemy import update

from recommender.cli import cli
from recommender.config import Settings
from recommender.core import Recommender
from recommender.reading import title_search_url
from recommender.store.models import Subscriber
from recommender.store.papers import MAX_SEARCH_CHARS
from tests.builders import dump_text, entry
from tests.commands import invoke, run

REPO = Path(__file__).resolve().parent.parent


@pytest.fixture
def user_env(database_url: str, tmp_path: Path) -> dict[str, str]:
    return {"RECOMMENDER_DATABASE_URL": database_url, "RECOMMENDER_HOME": str(tmp_path / "home")}


@pytest.fixture
def sqlite_env(tmp_path: Path) -> dict[str, str]:
    """For tests of what a command prints, the same on every database: SQLite only."""
    return {
        "RECOMMENDER_DATABASE_URL": f"sqlite:///{tmp_path / 'cli.db'}",
        "RECOMMENDER_HOME": str(tmp_path / "home"),
    }


@pytest.fixture
def dump_folder(tmp_path: Path) -> Path:
    folder = tmp_path / "dumps"
    folder.mkdir()
    (folder / "day1.txt").write_text(
        dump_text([entry(1, authors=3, date="Mar 18", upvotes=7), entry(2)], "Mar 19")
    )
    (folder / "day2.txt").write_text(dump_text([entry(2), entry(3)], "Mar 20"))
    return folder


def test_ingest_then_stats_and_papers_report_the_database_as_json(
    user_env: dict[str, str], dump_folder: Path
) -> None:
    ingest = run("ingest", "--date", "2026-03-21", str(dump_folder), env=user_env)
    assert ingest.returncode == 0, ingest.stderr
    assert "Ingested 2 of 2 files" in ingest.stdout
    assert "3 papers new, 0 updated, 1 unchanged" in ingest.stdout

    stats = json.loads(run("stats", "--json", env=user_env).stdout)
    assert (stats["papers"], stats["dumps"]) == (3, 2)

    papers = json.loads(run("papers", "--json", env=user_env).stdout)
    assert [p["title"] for p in papers] == [entry(3).title, entry(1).title, entry(2).title]
    first = next(p for p in papers if p["title"] == entry(1).title)
    assert {k: first[k] for k in ("authors", "published", "upvotes")} == {
        "authors": 3,
        "published": "2026-03-18",
        "upvotes": 7,
    }
    assert first["links"] == [{"kind": "code", "url": "https://github.com/lab/p1"}]
    assert first["abstract"] == entry(1).abstract
    assert len(first["id"]) == 16


def test_ingest_refusing_a_file_exits_nonzero_and_still_ingests_the_rest(
    user_env: dict[str, str], dump_folder: Path
) -> None:
    (dump_folder / "saved-page.txt").write_text("<!doctype html><html></html>")
    result = run("ingest", str(dump_folder), str(dump_folder / "nope.txt"), env=user_env)
    assert result.returncode == 1
    assert "Ingested 2 of 4 files" in result.stdout
    assert "saved-page.txt:1: this is HTML" in result.stderr
    assert "nope.txt: no such file" in result.stderr
    assert json.loads(run("stats", "--json", env=user_env).stdout)["dumps"] == 2


def test_ingest_of_a_folder_with_no_dump_is_refused_naming_the_folder_not_counted_as_a_file(
    user_env: dict[str, str], dump_folder: Path, tmp_path: Path
) -> None:
    empty = tmp_path / "nothing-here"
    empty.mkdir()
    (empty / "notes.md").write_text("not a dump")
    refusal = f"{empty}: a folder with no dump (*.txt) in it or below it"
    alone = run("ingest", str(empty), env=user_env)
    assert alone.returncode == 1
    assert alone.stdout.startswith("Found no dump to ingest; nothing was added to ")
    assert "Ingested" not in alone.stdout
    assert alone.stderr == f"Refused 1 folder:\n  {refusal}\n"
    as_json = run("ingest", "--json", str(empty), env=user_env)
    assert as_json.returncode == 1
    assert json.loads(as_json.stdout)["files"] == 0
    assert json.loads(as_json.stdout)["refused"] == [{"path": str(empty), "error": refusal}]
    beside = run("ingest", str(empty), str(dump_folder), str(tmp_path / "nope.txt"), env=user_env)
    assert beside.returncode == 1
    assert "Ingested 2 of 3 files into " in beside.stdout  # the two dumps and nope.txt
    assert beside.stderr.startswith("Refused 1 file and 1 folder:\n")
    assert refusal in beside.stderr
    assert json.loads(run("stats", "--json", env=user_env).stdout)["dumps"] == 2


def test_ingest_refuses_a_date_after_today_as_a_usage_error_and_stores_nothing(
    sqlite_env: dict[str, str], dump_folder: Path
) -> None:
    # two days ahead: still more than a day ahead if midnight (UTC) passes while it runs
    ahead = (datetime.now(UTC) + timedelta(days=2)).date().isoformat()
    result = invoke("ingest", "--date", ahead, str(dump_folder), env=sqlite_env)
    assert result.exit_code == 2
    assert f"Invalid value for '--date': {ahead} is after today (" in result.output
    assert "No dumps yet" in invoke("dumps", env=sqlite_env).output


def test_ingest_refuses_a_file_dated_by_a_clock_years_ahead_and_ingests_the_rest(
    sqlite_env: dict[str, str], dump_folder: Path
) -> None:
    ahead = dump_folder / "day1.txt"
    later = datetime.now(UTC).replace(year=datetime.now(UTC).year + 4).timestamp()
    os.utime(ahead, (later, later))
    result = run("ingest", str(dump_folder), env=sqlite_env)
    assert result.returncode == 1
    assert "Ingested 1 of 2 files" in result.stdout
    assert f"  {ahead}: the listing day 'Mar 19' → " in result.stderr
    assert ", is after today (" in result.stderr
    listed = json.loads(run("dumps", "--json", env=sqlite_env).stdout)
    assert [d["file_name"] for d in listed] == ["day2.txt"]


def test_ingest_says_which_entry_of_a_title_listed_twice_it_kept(
    sqlite_env: dict[str, str], tmp_path: Path
) -> None:
    twice = tmp_path / "twice.txt"
    entries = [entry(1, abstract="Abstract A."), entry(2), entry(1, abstract="Abstract B.")]
    twice.write_text(dump_text(entries))
    result = run("ingest", "--date", "2026-03-21", str(twice), env=sqlite_env)
    assert result.returncode == 0, result.stderr
    assert "twice.txt: Mar 20 → 2026-03-20, year from --date 2026-03-21 · 2 new" in result.stdout
    warning = (
        f"{twice}:19: {entry(1).title!r} is listed again (first at line 11) with a different "
        "abstract; kept the entry at line 11, dropped this one"
    )
    assert result.stderr == f"Listed more than once in one file, kept as one paper:\n  {warning}\n"
    twice.write_text(dump_text([*entries, entry(3)]))  # a new dump, with the same repeat
    as_json = json.loads(run("ingest", "--json", str(twice), env=sqlite_env).stdout)
    assert as_json["warnings"] == as_json["per_file"][0]["warnings"] == [warning]
    assert (as_json["papers_new"], as_json["papers_unchanged"]) == (1, 2)


def test_ingest_json_summary_names_refused_files(user_env: dict[str, str], tmp_path: Path) -> None:
    empty = tmp_path / "empty.txt"
    empty.write_text("")
    result = run("ingest", "--json", str(empty), env=user_env)
    assert result.returncode == 1
    summary = json.loads(result.stdout)
    assert summary["refused"] == [{"path": str(empty), "error": f"{empty}: the file is empty"}]


def test_reingesting_prints_that_nothing_changed(
    user_env: dict[str, str], dump_folder: Path
) -> None:
    assert run("ingest", str(dump_folder), env=user_env).returncode == 0
    again = run("ingest", str(dump_folder), env=user_env)
    assert again.returncode == 0
    assert "Ingested 0 of 2 files" in again.stdout
    assert "Already ingested, skipped: day1.txt, day2.txt" in again.stdout


def test_papers_search_and_show(user_env: dict[str, str], dump_folder: Path) -> None:
    run("ingest", str(dump_folder), env=user_env)
    found = run("papers", "search", "lab/p3", env=user_env)
    assert found.returncode == 0
    assert entry(3).title in found.stdout and entry(1).title not in found.stdout
    shown = run("papers", "show", "paper 1:", env=user_env)
    assert shown.returncode == 0
    assert "3 authors" in shown.stdout and "https://github.com/lab/p1" in shown.stdout
    assert f"Read: {title_search_url(entry(1).title)}\n" in shown.stdout
    missing = run("papers", "show", "no such paper", env=user_env)
    assert missing.returncode == 1
    assert "Error: no paper has the id or a title starting with 'no such paper'" in missing.stderr
    as_json = json.loads(run("papers", "show", "paper 2:", "--json", env=user_env).stdout)
    assert [d["dump"] for d in as_json["listed_in"]] == ["day1.txt", "day2.txt"]
    assert as_json["read_url"] == title_search_url(entry(2).title)


def test_a_stored_title_with_a_bidi_override_is_printed_escaped(
    sqlite_env: dict[str, str], tmp_path: Path
) -> None:
    # A dump may hold one (only control characters are refused there): printed raw, it
    # would turn the rest of the terminal's line around.
    day = tmp_path / "day.txt"
    day.write_text(dump_text([entry(1, title="Plain start \u202eevil end")]), encoding="utf-8")
    assert run("ingest", str(day), env=sqlite_env).returncode == 0
    for command in (["papers"], ["papers", "show", "Plain start"]):
        printed = run(*command, env=sqlite_env).stdout
        assert "\u202e" not in printed and "Plain start \\u202eevil end" in printed


def test_a_search_longer_than_any_title_is_refused_saying_the_limit(
    user_env: dict[str, str], dump_folder: Path
) -> None:
    run("ingest", str(dump_folder), env=user_env)
    longest = run("papers", "search", "x" * MAX_SEARCH_CHARS, env=user_env)
    assert (longest.returncode, longest.stdout.strip()) == (0, "No papers match.")
    too_long = run("papers", "search", "x" * 60_000, env=user_env)
    assert (too_long.returncode, too_long.stderr.strip()) == (
        1,
        f"Error: a search is at most {MAX_SEARCH_CHARS} characters, not 60000",
    )


def test_serve_refuses_a_port_that_does_not_exist(user_env: dict[str, str]) -> None:
    result = run("serve", "--port", "99999", env=user_env)
    assert result.returncode == 2
    assert "Invalid value for '--port': 99999 is not in the range 1<=x<=65535" in result.stderr


def test_serve_on_a_port_in_use_or_an_address_not_this_machines_says_so_in_one_line(
    user_env: dict[str, str],
) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        busy = run("serve", "--port", str(port), env=user_env)
    elsewhere = run("serve", "--host", "192.0.2.1", env=user_env)  # TEST-NET-1: no one's
    for result, line in (
        (busy, f"Error: cannot listen on 127.0.0.1:{port}: address already in use\n"),
        (elsewhere, "Error: cannot listen on 192.0.2.1:8000: cannot assign requested address\n"),
    ):
        assert (result.returncode, result.stderr, result.stdout) == (1, line, "")


def test_ingest_says_how_each_dump_was_dated(sqlite_env: dict[str, str], dump_folder: Path) -> None:
    day1 = dump_folder / "day1.txt"
    saved = datetime(2026, 3, 20, 9, 0, tzinfo=UTC).timestamp()
    os.utime(day1, (saved, saved))
    result = run("ingest", str(day1), env=sqlite_env)
    assert result.returncode == 0, result.stderr
    assert (
        "day1.txt: Mar 19 → 2026-03-19, year from the file's modification time (2026-03-20)"
        in result.stdout
    )
    as_json = json.loads(
        run("ingest", "--json", "--date", "2026-03-21", str(dump_folder), env=sqlite_env).stdout
    )
    first, second = as_json["per_file"]
    assert (first["status"], first["listing"], first["listing_date"]) == (
        "already ingested",
        "Mar 19",
        "2026-03-19",
    )
    assert first["year_rule"] == "year from the file's modification time (2026-03-20)"
    assert (second["status"], second["listing"], second["listing_date"], second["year_rule"]) == (
        "ingested",
        "Mar 20",
        "2026-03-20",
        "year from --date 2026-03-21",
    )
    assert (second["papers_new"], second["papers_unchanged"], second["error"]) == (1, 1, None)
    assert isinstance(second["dump_id"], int)


def test_dumps_lists_each_dump_with_its_id_for_papers_dump(
    sqlite_env: dict[str, str], dump_folder: Path
) -> None:
    assert "No dumps yet" in run("dumps", env=sqlite_env).stdout
    assert run("ingest", "--date", "2026-03-21", str(dump_folder), env=sqlite_env).returncode == 0
    listed = run("dumps", env=sqlite_env)
    assert listed.returncode == 0, listed.stderr
    header, *rows = listed.stdout.splitlines()
    assert header.split() == ["ID", "LISTED", "PAPERS", "INGESTED", "FILE", "RULE"]
    assert len(rows) == 2 and "day1.txt" in rows[0] and "day2.txt" in rows[1]
    assert "2026-03-19" in rows[0] and "year from --date 2026-03-21" in rows[0]
    as_json = json.loads(run("dumps", "--json", env=sqlite_env).stdout)
    assert [(d["file_name"], d["listing_date"], d["papers"]) for d in as_json] == [
        ("day1.txt", "2026-03-19", 2),
        ("day2.txt", "2026-03-20", 2),
    ]
    second = str(as_json[1]["id"])
    assert rows[1].split()[0] == second
    papers = json.loads(run("papers", "--dump", second, "--json", env=sqlite_env).stdout)
    assert sorted(p["title"] for p in papers) == [entry(2).title, entry(3).title]


def test_papers_of_a_dump_that_is_not_there_is_an_error_not_an_empty_list(
    sqlite_env: dict[str, str], dump_folder: Path
) -> None:
    invoke("ingest", "--date", "2026-03-21", str(dump_folder), env=sqlite_env)
    for command in (["papers"], ["papers", "--json"], ["papers", "search", "paper"]):
        result = CliRunner().invoke(cli, [*command, "--dump", "999"], env=sqlite_env)
        assert result.exit_code == 1
        assert result.output == "Error: no dump has the id 999; `recommender dumps` lists them\n"


def test_papers_has_a_header_and_dates_a_paper_without_its_own_date_by_its_listing(
    sqlite_env: dict[str, str], dump_folder: Path
) -> None:
    run("ingest", "--date", "2026-03-21", str(dump_folder), env=sqlite_env)
    result = run("papers", env=sqlite_env)
    header, *rows = result.stdout.splitlines()
    assert header.split() == ["ID", "DATE", "UPVOTES", "TITLE"]
    by_title = {row.split("  ")[-1].strip(): row for row in rows}
    assert "2026-03-18 " in by_title[entry(1).title]  # its own date
    assert "2026-03-20*" in by_title[entry(3).title]  # no date of its own: the listing's
    assert "2026-03-19*" in by_title[entry(2).title]
    assert "* the listing's date" in result.stderr
    papers = json.loads(run("papers", "--json", env=sqlite_env).stdout)
    third = next(p for p in papers if p["title"] == entry(3).title)
    assert (third["published"], third["first_listed"]) == (None, "2026-03-20")


def test_the_paper_limit_is_a_setting(sqlite_env: dict[str, str], dump_folder: Path) -> None:
    result = run(
        "ingest",
        str(dump_folder / "day1.txt"),
        env={**sqlite_env, "RECOMMENDER_MAX_DUMP_PAPERS": "1"},
    )
    assert result.returncode == 1
    assert "day1.txt:" in result.stderr and "more than 1 papers" in result.stderr


def test_ingest_dash_reads_a_dump_from_standard_input(
    sqlite_env: dict[str, str], dump_folder: Path
) -> None:
    piped = subprocess.run(
        [sys.executable, "-m", "recommender", "ingest", "--date", "2026-03-21", "-"],
        input=(dump_folder / "day1.txt").read_bytes(),
        capture_output=True,
        env={**os.environ, **sqlite_env},
        timeout=120,
    )
    assert piped.returncode == 0, piped.stderr
    out = piped.stdout.decode()
    assert "<stdin>: Mar 19 → 2026-03-19, year from --date 2026-03-21 · 2 new" in out
    settings = Settings.load(environ=sqlite_env)
    with Recommender(settings) as app:
        assert [(d.file_name, d.papers) for d in app.dumps()] == [("<stdin>", 2)]


def test_standard_input_over_the_limit_is_refused_before_it_ends(
    sqlite_env: dict[str, str], dump_folder: Path
) -> None:
    # The pipe stays open: had ingest waited for the end of its input, it would never exit.
    process = subprocess.Popen(
        [sys.executable, "-m", "recommender", "ingest", "-"],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env={**os.environ, **sqlite_env, "RECOMMENDER_MAX_DUMP_BYTES": "1000"},
    )
    assert process.stdin is not None
    try:
        # It may have stopped reading, and exited, before all of this is written.
        with contextlib.suppress(BrokenPipeError):
            process.stdin.write((dump_folder / "day1.txt").read_bytes() * 20)
            process.stdin.flush()
        returncode = process.wait(timeout=60)
    finally:
        if process.poll() is None:
            process.kill()
        stderr = process.communicate()[1].decode()
    assert returncode == 1
    assert "<stdin>: the file holds more than" in stderr and "max_dump_bytes" in stderr
    settings = Settings.load(environ=sqlite_env)
    with Recommender(settings) as app:
        assert app.dumps() == []


def test_ingest_takes_standard_input_once_only() -> None:
    result = CliRunner().invoke(cli, ["ingest", "-", "some.txt", "-"], input="")
    assert result.exit_code == 2
    assert "'-' (standard input) may be given once only" in result.output


def test_init_creates_the_database_and_says_where(tmp_path: Path) -> None:
    db = tmp_path / "x" / "r.db"
    result = run("--db", f"sqlite:///{db}", "init")
    assert result.returncode == 0, result.stderr
    assert db.exists() and str(db) in result.stdout
    assert "Up to date" in run("--db", f"sqlite:///{db}", "init").stdout


def test_an_unreachable_database_gets_a_clear_error(tmp_path: Path) -> None:
    result = run("--db", "postgresql://nobody@127.0.0.1:1/none", "stats")
    assert result.returncode == 1
    assert result.stderr.startswith("Error: database error:")
    assert "Traceback" not in result.stderr


def test_demo_runs_on_the_defaults_and_can_run_again(tmp_path: Path) -> None:
    env = {"XDG_DATA_HOME": str(tmp_path / "data"), "XDG_CONFIG_HOME": str(tmp_path / "config")}
    first = run("demo", env=env, cwd=tmp_path)
    assert first.returncode == 0, first.stderr
    assert "The database now holds 10 papers from 2 dumps" in first.stdout
    assert (tmp_path / "data" / "recommender" / "recommender.db").exists()
    assert run("demo", env=env, cwd=tmp_path).returncode == 0


def test_settings_come_from_file_then_environment_then_flags(tmp_path: Path) -> None:
    config = tmp_path / "config.toml"
    config.write_text(f'database_url = "sqlite:///{tmp_path / "from-file.db"}"\n')
    env = {"RECOMMENDER_CONFIG": str(config)}
    assert "from-file.db" in run("stats", "--json", env=env).stdout
    env["RECOMMENDER_DATABASE_URL"] = f"sqlite:///{tmp_path / 'from-env.db'}"
    assert "from-env.db" in run("stats", "--json", env=env).stdout
    flag = run("--db", f"sqlite:///{tmp_path / 'from-flag.db'}", "stats", "--json", env=env)
    assert "from-flag.db" in flag.stdout


def test_a_bad_config_file_is_named(tmp_path: Path) -> None:
    config = tmp_path / "config.toml"
    config.write_text('database_ur = "sqlite://"\n')
    result = run("stats", env={"RECOMMENDER_CONFIG": str(config)})
    assert result.returncode == 1
    assert f"{config}: unknown setting 'database_ur'" in result.stderr


def _commands(group: click.Group, prefix: str = "") -> list[tuple[str, click.Command]]:
    found = []
    for name, command in group.commands.items():
        found.append((f"{prefix}{name}", command))
        if isinstance(command, click.Group):
            found.extend(_commands(command, f"{prefix}{name} "))
    return found


@pytest.mark.parametrize(
    ("name", "command"), _commands(cli), ids=lambda v: v if isinstance(v, str) else ""
)
def test_every_command_has_help_with_an_example(name: str, command: click.Command) -> None:
    assert command.help and len(command.help) > 40, name
    assert "Example" in command.help, f"`recommender {name} --help` shows no example"
    result = run(*name.split(), "--help")
    assert result.returncode == 0 and "Example" in result.stdout


def test_the_wheel_carries_templates_and_the_example_profile(tmp_path: Path) -> None:
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "wheel",
            "--no-deps",
            "--no-build-isolation",
            "-w",
            str(tmp_path),
            str(REPO),
        ],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stderr
    (wheel,) = tmp_path.glob("recommender-*.whl")
    names = set(zipfile.ZipFile(wheel).namelist())
    assert "recommender/_bundled/profiles/example.toml" in names
    assert any(n.startswith("recommender/_bundled/templates/") for n in names)
    assert "recommender/examples/dumps/example-1.txt" in names
    assert "recommender/store/migrations/versions/0001_papers_and_dumps.py" in names


def test_a_setting_out_of_range_in_the_environment_is_named_and_nothing_runs(
    user_env: dict[str, str],
) -> None:
    result = run("send", env={**user_env, "RECOMMENDER_SMTP_CONNECTIONS": "0"})
    assert result.returncode != 0
    assert "smtp_connections" in result.stderr and "RECOMMENDER_SMTP_CONNECTIONS" in result.stderr
    assert "1 to 16" in result.stderr
    assert "Traceback" not in result.stderr


def test_users_aligns_its_columns_to_the_data_and_escapes_control_characters(
    user_env: dict[str, str], tmp_path: Path
) -> None:
    profiles = tmp_path / "profiles"
    profiles.mkdir()
    (profiles / "a.toml").write_text('email = "a@example.org"\nname = "Ada"\n')
    (profiles / "b.toml").write_text(
        'email = "bo@example.org"\nname = "Bo"\ntimezone = "America/Argentina/ComodRivadavia"\n'
        'schedule = "30 7 * * 1-5"\n'
    )
    settings = Settings.load(environ=user_env)
    with Recommender(settings) as app:
        app.subscribe(profiles)
        with app.engine.begin() as connection:  # as stored by a version that let it through
            connection.execute(
                update(Subscriber)
                .where(Subscriber.email == "bo@example.org")
                .values(name="Bo\r\nzz@example.org active daily 07:30 UTC 9 ratings")
            )
    result = run("subscribers", env=user_env)
    assert result.returncode == 0, result.stderr
    header, *rows = result.stdout.splitlines()
    assert len(rows) == 2, result.stdout  # the stored line break did not make a third line
    ada, bo = rows
    assert ada.index("UTC") == bo.index("America/") == header.index("time zone")
    assert ada.index("Ada") == bo.index("Bo") == header.index("name")
    assert bo.endswith("Bo\\r\\nzz@example.org active daily 07:30 UTC 9 ratings")


def test_the_first_names_of_renamed_options_and_commands_still_work(tmp_path: Path) -> None:
    env = {"RECOMMENDER_HOME": str(tmp_path / "home"), "RECOMMENDER_MAIL_DIR": str(tmp_path)}
    runner = CliRunner()
    listed = runner.invoke(cli, ["--help"], env=env)
    assert "subscribers" in listed.output and " users " not in listed.output
    for name in ("subscribers", "users"):
        result = runner.invoke(cli, [name, "--json"], env=env)
        assert result.exit_code == 0, result.output
        assert json.loads(result.output) == []
    for option in ("--subscriber", "--user"):
        result = runner.invoke(cli, ["send", option, "nobody@example.org"], env=env)
        assert "No such option" not in result.output
        assert "nobody@example.org" in result.output


def test_subscribe_keeps_what_a_subscriber_changed_and_overwrite_sets_the_file(
    sqlite_env: dict[str, str], tmp_path: Path
) -> None:
    path = tmp_path / "ada.toml"
    path.write_text('email = "ada@example.org"\nschedule = "daily 07:30"\n')
    assert "created: ada@example.org" in invoke("subscribe", str(path), env=sqlite_env).output
    invoke("pause", "ada@example.org", env=sqlite_env)  # as from her manage page
    kept = invoke("subscribe", str(path), env=sqlite_env).output
    assert kept.strip() == (
        "kept own changes: ada@example.org (their own paused stands; --overwrite sets the file's)"
    )
    forced = invoke("subscribe", "--overwrite", str(path), env=sqlite_env).output
    assert forced.strip() == "updated: ada@example.org"
    with Recommender(Settings.load(environ=sqlite_env)) as app:
        assert app.subscriber("ada@example.org").paused is False


DATE_OPTIONS = [
    ("ingest", "--date"),
    ("fetch", "--date"),
    ("fetch", "--since"),
    ("papers", "--since"),
    ("papers", "--published-since"),
    ("papers search", "--since"),
    ("papers search", "--published-since"),
    ("recommend", "--since"),
]


def test_every_date_option_is_in_the_list_of_date_options() -> None:
    dated = {
        (name, option.opts[0])
        for name, command in _commands(cli)
        for option in command.params
        if option.type.name in ("date", "datetime")
    }
    assert dated == set(DATE_OPTIONS)


@pytest.mark.parametrize(("name", "option"), DATE_OPTIONS)
def test_a_date_option_says_its_form_and_a_malformed_date_is_refused_naming_both(
    sqlite_env: dict[str, str], name: str, option: str
) -> None:
    runner = CliRunner()
    shown = runner.invoke(cli, [*name.split(), "--help"], env=sqlite_env)
    assert f"{option} YYYY-MM-DD" in shown.output
    args = {"ingest": ["-"], "recommend": ["ada@example.org"], "papers search": ["x"]}
    for bad, why in (("1.3.2026", "in the form"), ("2026-02-30", "not a day of the calendar")):
        refused = runner.invoke(cli, [*name.split(), *args.get(name, []), option, bad])
        assert refused.exit_code == 2
        assert f"Invalid value for '{option}': '{bad}' is not a" in refused.output
        assert why in refused.output and "YYYY-MM-DD" in refused.output


def test_counts_of_one_are_said_in_the_singular(sqlite_env: dict[str, str], tmp_path: Path) -> None:
    day = tmp_path / "day.txt"
    day.write_text(dump_text([entry(1, authors=1, date="Mar 18", upvotes=1)], "Mar 19"))
    ingested = invoke("ingest", "--date", "2026-03-21", str(day), env=sqlite_env).output
    assert "Ingested 1 of 1 file into " in ingested and ": 1 paper new, 0 updated" in ingested
    shown = invoke("papers", "show", "paper 1:", env=sqlite_env).output
    assert " · 1 author · " in shown and shown.splitlines()[2].endswith(" · 1 upvote")
    for email in ("a@example.org", "b@example.org"):
        (tmp_path / f"{email}.toml").write_text(f'email = "{email}"\n')
        invoke("subscribe", str(tmp_path / f"{email}.toml"), env=sqlite_env)
    invoke("rate", "a@example.org", "paper 1:", "up", env=sqlite_env)
    exported = tmp_path / "a.csv"
    invoke("export-ratings", "a@example.org", "-o", str(exported), env=sqlite_env)
    first = invoke("import-ratings", "b@example.org", str(exported), env=sqlite_env).output
    assert first.startswith("Imported 1 rating; 0 were already there; 0 are of papers not in")
    again = invoke("import-ratings", "b@example.org", str(exported), env=sqlite_env).output
    assert again.startswith("Imported 0 ratings; 1 was already there; 0 are of papers not in")
    assert invoke("retrain", "a@example.org", env=sqlite_env).output == "Retrained 1 model.\n"


def _run_with_stderr_on_a_terminal(*args: str, env: dict[str, str]) -> tuple[int, str]:
    """Run a command with standard error on a pseudo-terminal (80 columns); return its exit
    status and what it wrote there."""
    main, terminal = pty.openpty()
    fcntl.ioctl(terminal, termios.TIOCSWINSZ, struct.pack("HHHH", 24, 80, 0, 0))
    written = bytearray()

    def read() -> None:
        with contextlib.suppress(OSError):  # EIO once the command has closed it
            while chunk := os.read(main, 65536):
                written.extend(chunk)

    reader = threading.Thread(target=read)
    reader.start()
    process = subprocess.Popen(
        [sys.executable, "-m", "recommender", *args],
        stdout=subprocess.DEVNULL,
        stderr=terminal,
        env={**os.environ, **env},
    )
    os.close(terminal)
    try:
        status = process.wait(timeout=120)
    finally:
        if process.poll() is None:
            process.kill()
        reader.join(timeout=10)
        os.close(main)
    return status, written.decode(errors="replace")


@pytest.mark.parametrize("stderr", ["a pipe", "a terminal"])
def test_the_embedding_progress_bar_is_drawn_on_a_terminal_only(
    sqlite_env: dict[str, str], tmp_path: Path, stderr: str
) -> None:
    pytest.importorskip("wordllama")  # static embeddings: no network, no torch
    env = {**sqlite_env, "RECOMMENDER_EMBEDDING_MODEL": "wordllama"}
    day = tmp_path / "day.txt"
    day.write_text(dump_text([entry(n) for n in range(1, 71)], "Mar 19"))  # enough for a bar
    (tmp_path / "a.toml").write_text('email = "a@example.org"\ninterests = ["learning"]\n')
    assert invoke("ingest", "--date", "2026-03-21", str(day), env=env).exit_code == 0
    invoke("subscribe", str(tmp_path / "a.toml"), env=env)
    command = ("recommend", "a@example.org", "--top", "1")
    if stderr == "a pipe":
        result = run(*command, env=env)
        status, written = result.returncode, result.stderr
    else:
        status, written = _run_with_stderr_on_a_terminal(*command, env=env)
    assert status == 0, written
    if stderr == "a pipe":
        assert written == ""
    else:
        assert "Embedding papers" in written and "70/70" in written


def test_subscribe_with_a_mistyped_time_zone_suggests_the_one_meant(
    sqlite_env: dict[str, str], tmp_path: Path
) -> None:
    path = tmp_path / "ada.toml"
    path.write_text('email = "ada@example.org"\ntimezone = "Europe/Berln"\n')
    result = CliRunner().invoke(cli, ["subscribe", str(path)], env=sqlite_env)
    assert result.exit_code == 1
    assert result.output == (
        f"Error: {path}: field 'timezone': unknown time zone 'Europe/Berln'; "
        "did you mean 'Europe/Berlin'?\n"
    )


def test_subscribe_of_a_folder_names_each_bad_profile_and_exits_1(
    sqlite_env: dict[str, str], tmp_path: Path
) -> None:
    folder = tmp_path / "profiles"
    folder.mkdir()
    (folder / "a.toml").write_text('email = "a@example.org"\n')
    (folder / "b.toml").write_text('email = "b@example.org"\ntimezone = "Nowhere/Land"\n')
    (folder / "c.toml").write_text("email = \n")
    result = invoke("subscribe", str(folder), env=sqlite_env)
    assert result.exit_code == 1
    assert "2 profiles cannot be used" in result.output
    assert "b.toml: field 'timezone'" in result.output and "c.toml: not valid TOML" in result.output
    assert "Traceback" not in result.output
    assert "a@example.org" not in invoke("subscribers", env=sqlite_env).output


def test_with_no_papers_yet_listing_and_ranking_say_so_and_how_to_add_some(
    sqlite_env: dict[str, str], tmp_path: Path
) -> None:
    (tmp_path / "ada.toml").write_text('email = "ada@example.org"\n')
    invoke("subscribe", str(tmp_path / "ada.toml"), env=sqlite_env)
    for command in (
        ["papers"],
        ["papers", "search", "graph"],
        ["recommend", "ada@example.org"],
        ["digest", "ada@example.org"],
        ["send"],
        ["send", "--subscriber", "ada@example.org"],
    ):
        result = invoke(*command, env=sqlite_env)
        assert result.exit_code == 0
        assert result.output.splitlines()[-1] == (
            "No papers yet: `recommender ingest PATH` adds dump files, `recommender fetch` "
            "today's listing (`recommender demo` the bundled examples)."
        ), command
    assert invoke("papers", "--json", env=sqlite_env).output == "[]\n"
    assert invoke("recommend", "ada@example.org", "--json", env=sqlite_env).output == "[]\n"


def test_recommend_that_finds_nothing_says_why(
    sqlite_env: dict[str, str], tmp_path: Path, dump_folder: Path
) -> None:
    invoke("ingest", "--date", "2026-03-21", str(dump_folder / "day1.txt"), env=sqlite_env)
    profile = tmp_path / "ada.toml"
    profile.write_text('email = "ada@example.org"\nmust_not = ["learning"]\n')  # every title
    invoke("subscribe", str(profile), env=sqlite_env)

    def says(*options: str) -> str:
        result = invoke("recommend", "ada@example.org", *options, env=sqlite_env)
        assert result.exit_code == 0
        return result.output

    assert says("--since", "2026-03-20") == (
        "No paper was first listed on or after 2026-03-20; an earlier --since finds older ones.\n"
    )
    assert says() == (
        "Nothing to recommend to ada@example.org: every paper they have not rated has one of "
        "their must-not words.\n"
    )
    for paper in ("paper 1:", "paper 2:"):
        invoke("rate", "ada@example.org", paper, "down", env=sqlite_env)
    assert says("--since", "2026-03-19") == (
        "Nothing to recommend to ada@example.org: they have rated every paper first listed on "
        "or after 2026-03-19, or like it in their profile.\n"
    )
