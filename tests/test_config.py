"""Settings and the database they name: what is refused, and how the command line says so."""

from __future__ import annotations

import email.utils
import json
import os
import re
import stat
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from sqlalchemy import text

from recommender.cli import cli
from recommender.config import ConfigError, Settings
from recommender.core import Recommender
from recommender.store import database
from recommender.store.models import Digest

# Makes `import psycopg` (and psycopg2) fail as it does on a plain `pip install .`: the path
# finder does not find them, whatever the venv holds. Then runs the command line.
WITHOUT_PSYCOPG = """
import importlib.machinery, sys

class PathFinderWithoutPsycopg(importlib.machinery.PathFinder):
    @classmethod
    def find_spec(cls, name, path=None, target=None):
        if name.partition(".")[0] in ("psycopg", "psycopg2", "psycopg_binary", "psycopg_c"):
            return None
        return super().find_spec(name, path, target)

sys.meta_path[sys.meta_path.index(importlib.machinery.PathFinder)] = PathFinderWithoutPsycopg
sys.argv[0] = "recommender"
from recommender.cli import main
main()
"""


def one_line_error(result: subprocess.CompletedProcess[str]) -> str:
    """The one line a refused command printed; fail if it printed more, or a traceback."""
    assert "Traceback" not in result.stderr, result.stderr
    assert result.returncode == 1, result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("Error: ")
    return lines[0]


def write_config(tmp_path: Path, body: str) -> dict[str, str]:
    path = tmp_path / "config.toml"
    path.write_text(body, encoding="utf-8")
    return {"RECOMMENDER_CONFIG": str(path), "RECOMMENDER_HOME": str(tmp_path / "home")}


def load(tmp_path: Path, body: str = "", **environ: str) -> Settings:
    return Settings.load(environ={**write_config(tmp_path, body), **environ})


# -- the command line: one line, exit status 1 -----------------------------------------------


@dataclass
class Refusals:
    folder: Path
    runs: dict[str, subprocess.CompletedProcess[str]]


@pytest.fixture(scope="module")
def refused(tmp_path_factory: pytest.TempPathFactory) -> Refusals:
    """Run the command line once for each unusable setting, all at once (each run spends a
    second or more importing the package), and keep what each printed."""
    tmp = tmp_path_factory.mktemp("refused")
    (tmp / "config.toml").write_text("database_url = 42\n", encoding="utf-8")
    (tmp / "papers.db").write_bytes(b"this is not a database, it is a shopping list\n" * 100)
    cli = [sys.executable, "-m", "recommender"]
    runs = {
        "missing driver": [sys.executable, "-c", WITHOUT_PSYCOPG, "--db", HELP_EXAMPLE, "stats"],
        "unknown scheme": [*cli, "--db", "mysql://u@localhost/papers", "stats"],
        "not a database": [*cli, "--db", f"sqlite:///{tmp / 'papers.db'}", "stats"],
        "url not text": [*cli, "stats"],
        "short secret": [*cli, "init"],
        "port in the file": [*cli, "stats"],
    }
    (tmp / "port.toml").write_text("smtp_port = 25.5\n", encoding="utf-8")
    extra = {
        "url not text": {"RECOMMENDER_CONFIG": str(tmp / "config.toml")},
        "short secret": {"RECOMMENDER_SECRET": "hunter2"},
        "port in the file": {"RECOMMENDER_CONFIG": str(tmp / "port.toml")},
    }
    # the tests' own environment fixture is not in force yet at module scope
    environ = {k: v for k, v in os.environ.items() if not k.startswith("RECOMMENDER_")}
    environ.update(XDG_CONFIG_HOME=str(tmp / "xdg-config"), XDG_DATA_HOME=str(tmp / "xdg-data"))
    started = {
        name: subprocess.Popen(
            args,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env={**environ, "RECOMMENDER_HOME": str(tmp / name), **extra.get(name, {})},
        )
        for name, args in runs.items()
    }
    done = {}
    for name, process in started.items():
        out, err = process.communicate(timeout=120)
        done[name] = subprocess.CompletedProcess(process.args, process.returncode, out, err)
    return Refusals(tmp, done)


HELP_EXAMPLE = "postgresql://postgres@localhost/papers"  # as `recommender --help` shows it


def test_the_help_example_without_the_postgres_driver_says_which_extra_to_install(
    refused: Refusals,
) -> None:
    assert HELP_EXAMPLE in str(cli.epilog)
    line = one_line_error(refused.runs["missing driver"])
    assert "pip install 'recommender[postgres]'" in line


def test_the_driver_blocker_of_these_tests_does_block_psycopg() -> None:
    blocker = WITHOUT_PSYCOPG.partition('sys.argv[0] = "recommender"')[0]
    result = subprocess.run(
        [sys.executable, "-c", blocker + "import psycopg"], capture_output=True, text=True
    )
    assert "ModuleNotFoundError: No module named 'psycopg'" in result.stderr


def test_an_unknown_database_scheme_names_the_known_ones(
    refused: Refusals,
) -> None:
    line = one_line_error(refused.runs["unknown scheme"])
    assert "'mysql'" in line and "sqlite:///" in line and "postgresql://" in line
    assert not (refused.folder / "unknown scheme").exists()


@pytest.mark.parametrize("url", ["papers.db", "postgresql+nope://h/d", "mssql://h/d", "://"])
def test_a_database_url_of_no_known_scheme_is_refused_before_anything_is_made(
    tmp_path: Path, url: str
) -> None:
    with pytest.raises(database.DatabaseUnusable, match="use sqlite:///PATH or postgresql://"):
        database.make_engine(url)


def test_a_file_that_is_not_a_database_is_named(
    refused: Refusals,
) -> None:
    garbage = refused.folder / "papers.db"
    line = one_line_error(refused.runs["not a database"])
    assert f"{garbage}: not a SQLite database" in line
    assert garbage.read_bytes().startswith(b"this is not a database")


def test_a_database_url_that_is_not_text_in_the_config_names_the_setting(
    refused: Refusals,
) -> None:
    line = one_line_error(refused.runs["url not text"])
    assert "config.toml: setting 'database_url' must be text" in line


def test_a_short_secret_names_the_setting_and_the_minimum(
    refused: Refusals,
) -> None:
    line = one_line_error(refused.runs["short secret"])
    assert "RECOMMENDER_SECRET" in line and "16 characters" in line
    assert "hunter2" not in line


def test_a_bad_value_in_the_config_file_is_named_by_the_file_and_its_key(
    refused: Refusals,
) -> None:
    line = one_line_error(refused.runs["port in the file"])
    assert line == (
        f"Error: {refused.folder / 'port.toml'}: setting 'smtp_port': 25.5 is not a port number"
    )


def test_a_short_secret_file_is_named(tmp_path: Path) -> None:
    home = tmp_path / "home"
    home.mkdir()
    (home / "secret").write_text("short\n")
    settings = Settings(home=home, database_url=f"sqlite:///{home / 'r.db'}")
    with Recommender(settings) as app, pytest.raises(ConfigError, match=r"secret.*16 characters"):
        app.signer()


# -- settings: types, forms and lengths ------------------------------------------------------


TEXT_SETTINGS = [
    "home",
    "database_url",
    "embedding_model",
    "base_url",
    "mail_from",
    "smtp_host",
    "smtp_security",
    "smtp_user",
    "smtp_password",
    "secret",
    "outbox_dir",
    "inbox_dir",
    "profiles_dir",
]


@pytest.mark.parametrize("encoding", ["utf-8-sig", "utf-16"])
def test_a_config_file_saved_with_a_byte_order_mark_or_in_utf16_is_read(
    tmp_path: Path, encoding: str
) -> None:
    environ = write_config(tmp_path, "")
    Path(environ["RECOMMENDER_CONFIG"]).write_text(
        'base_url = "https://papers.example.org"\n', encoding=encoding
    )
    assert Settings.load(environ=environ).base_url == "https://papers.example.org"


def test_a_config_file_that_is_not_text_is_refused_naming_its_line(tmp_path: Path) -> None:
    environ = write_config(tmp_path, "")
    Path(environ["RECOMMENDER_CONFIG"]).write_bytes(b'# Caf\xe9\nbase_url = "x"\n')
    with pytest.raises(ConfigError, match=r"config\.toml: line 1: not UTF-8 text"):
        Settings.load(environ=environ)


def test_the_inbox_settle_time_is_whole_seconds_from_zero(tmp_path: Path) -> None:
    assert load(tmp_path, RECOMMENDER_INBOX_SETTLE_SECONDS="0").inbox_settle_seconds == 0
    with pytest.raises(ConfigError, match="inbox_settle_seconds"):
        load(tmp_path, RECOMMENDER_INBOX_SETTLE_SECONDS="-1")


@pytest.mark.parametrize("source", ["ARXIV", "HF"])
def test_the_time_between_requests_to_a_source_is_seconds_from_0_to_3600(
    tmp_path: Path, source: str
) -> None:
    name = f"RECOMMENDER_{source}_REQUEST_INTERVAL"
    assert getattr(load(tmp_path, **{name: "0.5"}), f"{source.lower()}_request_interval") == 0.5
    with pytest.raises(ConfigError, match="out of range; use 0 to 3600 seconds"):
        load(tmp_path, **{name: "-1"})
    assert load(tmp_path).hf_request_interval == 1.0  # Hugging Face's pace when nothing is set


@pytest.mark.parametrize("name", TEXT_SETTINGS)
@pytest.mark.parametrize("value", ['["a"]', "42", "true", "{ a = 1 }"])
def test_a_text_setting_must_be_a_string_in_the_config_file(
    tmp_path: Path, name: str, value: str
) -> None:
    with pytest.raises(ConfigError) as caught:
        load(tmp_path, f"{name} = {value}\n")
    assert f"setting {name!r}" in str(caught.value) and "config.toml" in str(caught.value)
    assert "quotes" in str(caught.value)


@pytest.mark.parametrize(
    "url", ["localhost:8000", "ftp://papers.example.org", "https://", "papers.example.org"]
)
def test_base_url_must_be_an_http_address(tmp_path: Path, url: str) -> None:
    with pytest.raises(ConfigError, match="'base_url'.*http"):
        load(tmp_path, f'base_url = "{url}"\n')


def test_base_url_may_be_http_or_https_with_a_path(tmp_path: Path) -> None:
    assert load(tmp_path, RECOMMENDER_BASE_URL="HTTPS://papers.example.org/p").base_url == (
        "HTTPS://papers.example.org/p"
    )
    assert load(tmp_path, RECOMMENDER_BASE_URL="http://[::1]:8000").base_url == "http://[::1]:8000"


def test_the_longest_host_allowed_in_base_url_fits_in_a_message_id(tmp_path: Path) -> None:
    host = ".".join(["a" * 63] * 4)[:200].rstrip(".")
    load(tmp_path, RECOMMENDER_BASE_URL=f"https://{host}")
    # email.utils.make_msgid: <time in 1/100 s>.<pid>.<64 random bits>.digest@<host>
    ours = email.utils.make_msgid("digest", domain=host)
    longest = f"<{10**12}.{2**22}.{2**64 - 1}.digest@{host}>"
    assert len(ours) <= len(longest) <= Digest.__table__.c.message_id.type.length
    with pytest.raises(ConfigError, match="'base_url'.*200 characters"):
        load(tmp_path, RECOMMENDER_BASE_URL=f"https://{host}x.example.org")


def test_an_embedding_model_name_too_long_to_store_is_refused(tmp_path: Path) -> None:
    assert load(tmp_path, RECOMMENDER_EMBEDDING_MODEL="m" * 100).embedding_model == "m" * 100
    with pytest.raises(ConfigError, match="'embedding_model'.*100 characters"):
        load(tmp_path, RECOMMENDER_EMBEDDING_MODEL="m" * 101)


def test_a_short_secret_in_the_environment_is_refused_without_showing_it(tmp_path: Path) -> None:
    with pytest.raises(ConfigError) as caught:
        load(tmp_path, RECOMMENDER_SECRET="x" * 15)
    assert "RECOMMENDER_SECRET" in str(caught.value) and "16" in str(caught.value)
    assert "x" * 15 not in str(caught.value)
    assert load(tmp_path, RECOMMENDER_SECRET="x" * 16).secret == "x" * 16


def test_a_misspelt_setting_gets_a_suggestion(tmp_path: Path) -> None:
    with pytest.raises(
        ConfigError, match="unknown setting 'databse_url'; did you mean 'database_url'"
    ):
        load(tmp_path, 'databse_url = "sqlite://"\n')


@pytest.mark.parametrize(
    ("body", "refusal"),
    [
        ("smtp_port = 25.5\n", "setting 'smtp_port': 25.5 is not a port number"),
        ('base_url = "ftp://x"\n', "setting 'base_url': 'ftp://x' is not an http:// or https://"),
        ('secret = "short"\n', "setting 'secret': too short (5 characters)"),
    ],
)
def test_a_bad_value_from_the_config_file_names_the_file_not_a_variable(
    tmp_path: Path, body: str, refusal: str
) -> None:
    with pytest.raises(ConfigError) as caught:
        load(tmp_path, body)
    assert str(caught.value).startswith(f"{tmp_path / 'config.toml'}: {refusal}")
    assert "RECOMMENDER_" not in str(caught.value)


def test_a_bad_value_from_the_environment_names_the_variable_over_a_good_file(
    tmp_path: Path,
) -> None:
    with pytest.raises(ConfigError) as caught:
        load(tmp_path, "smtp_port = 587\n", RECOMMENDER_SMTP_PORT="25.5")
    assert str(caught.value) == (
        "setting 'smtp_port' (RECOMMENDER_SMTP_PORT): '25.5' is not a port number"
    )


def test_a_bad_value_given_to_load_names_no_file_or_variable(tmp_path: Path) -> None:
    environ = {**write_config(tmp_path, "smtp_port = 587\n"), "RECOMMENDER_SMTP_PORT": "25"}
    with pytest.raises(ConfigError) as caught:
        Settings.load({"smtp_port": "x"}, environ=environ)
    assert str(caught.value) == "setting 'smtp_port': 'x' is not a port number"


@pytest.mark.parametrize(
    "mail_from",
    [
        "notanaddress",
        "Paper digest <digest>",
        "Paper digest <@example.org>",
        "digest@example.org, other@example.org",
        "digest@exa mple.org",
        "Paper digest <digest@example.org>\nBcc: someone@example.org",
        "",
    ],
)
def test_mail_from_must_be_one_email_address(tmp_path: Path, mail_from: str) -> None:
    with pytest.raises(ConfigError) as caught:
        load(tmp_path, f"mail_from = {json.dumps(mail_from)}\n")
    said = str(caught.value)
    assert said.startswith(f"{tmp_path / 'config.toml'}: setting 'mail_from': {mail_from!r}")
    assert "email address" in said


@pytest.mark.parametrize(
    "mail_from",
    [
        "Paper digest <digest@example.org>",
        "digest@example.org",
        '"Digest, papers" <digest@example.org>',
        "Digest ✉ <zoë@example.org>",
        "Paper digest <recommender@localhost>",  # the default, written out
        "digest@mailhost",  # a host on the operator's own network
    ],
)
def test_mail_from_may_have_a_name_and_be_on_a_host_of_the_operators_own(
    tmp_path: Path, mail_from: str
) -> None:
    assert load(tmp_path, RECOMMENDER_MAIL_FROM=mail_from).mail_from == mail_from


def test_contact_must_be_an_address_alone(tmp_path: Path) -> None:
    assert load(tmp_path, RECOMMENDER_CONTACT="me@example.org").contact_address == "me@example.org"
    for contact in ("me", "Me <me@example.org>"):
        with pytest.raises(ConfigError) as caught:
            load(tmp_path, RECOMMENDER_CONTACT=contact)
        assert str(caught.value).startswith(
            f"setting 'contact' (RECOMMENDER_CONTACT): {contact!r} is not a valid email address"
        )
    # empty in the file: mail_from's address stands in, as when it is not set
    fallback = load(tmp_path, 'contact = ""\nmail_from = "Digest <digest@example.org>"\n')
    assert fallback.contact_address == "digest@example.org"


# -- files: private from the start -----------------------------------------------------------


@pytest.fixture
def umask_022() -> Iterator[None]:
    previous = os.umask(0o022)
    try:
        yield
    finally:
        os.umask(previous)


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


@pytest.mark.usefixtures("umask_022")
def test_the_home_and_the_database_are_private_under_umask_022(tmp_path: Path) -> None:
    home = tmp_path / "data" / "recommender"
    settings = Settings.load({"home": home}, environ={})
    with Recommender(settings) as app:
        app.init()
        assert mode(home) == 0o700
        db = home / "recommender.db"
        assert mode(db) == 0o600
        with app.engine.connect() as connection:  # WAL mode: the -wal and -shm files exist now
            connection.execute(text("SELECT count(*) FROM papers"))
            siblings = [db.with_name(db.name + s) for s in ("-wal", "-shm")]
            assert all(p.exists() for p in siblings)
            assert [mode(p) for p in siblings] == [0o600, 0o600]
        assert mode(home / "secret") == 0o600
    assert mode(tmp_path / "data") == 0o755  # only the home itself is made private


@pytest.mark.usefixtures("umask_022")
def test_a_database_in_a_folder_of_the_users_choosing_leaves_the_folder_as_it_is(
    tmp_path: Path,
) -> None:
    chosen = tmp_path / "chosen"
    chosen.mkdir(mode=0o755)
    engine = database.make_engine(f"sqlite:///{chosen / 'r.db'}")
    try:
        with engine.connect():
            pass
    finally:
        engine.dispose()
    assert (mode(chosen), mode(chosen / "r.db")) == (0o755, 0o600)


@pytest.mark.usefixtures("umask_022")
def test_an_existing_database_keeps_its_mode(tmp_path: Path) -> None:
    db = tmp_path / "r.db"
    engine = database.make_engine(f"sqlite:///{db}")
    with engine.connect():
        pass
    engine.dispose()
    db.chmod(0o640)
    engine = database.make_engine(f"sqlite:///{db}")
    with engine.connect():
        pass
    engine.dispose()
    assert mode(db) == 0o640


# -- sign-up settings ------------------------------------------------------------------------


def test_sign_up_is_off_until_a_setting_turns_it_on(tmp_path: Path) -> None:
    off = load(tmp_path)
    assert (off.signup, off.signup_address_limit, off.signup_client_limit) == (False, 3, 10)
    assert load(tmp_path, "signup = true\nsignup_client_limit = 50\n").signup_client_limit == 50
    assert load(tmp_path, RECOMMENDER_SIGNUP="yes").signup is True


@pytest.mark.parametrize(
    ("body", "refusal"),
    [
        (
            'signup = "maybe"\n',
            "config.toml: setting 'signup': 'maybe' is not true or false",
        ),
        ("signup_address_limit = 0\n", "0 is out of range; use 1 to 1000"),
        ('signup_client_limit = "many"\n', "'many' is not a number of sign-ups"),
        ("sign_up = true\n", "unknown setting 'sign_up'; did you mean 'signup'"),
    ],
)
def test_a_bad_sign_up_setting_is_named(tmp_path: Path, body: str, refusal: str) -> None:
    with pytest.raises(ConfigError, match=re.escape(refusal)):
        load(tmp_path, body)
