"""Settings, resolved in this order: defaults < config file < ``RECOMMENDER_*`` environment
variables < command-line flags.

The config file is TOML with the same names as the settings (``database_url = "..."``); it is
``$RECOMMENDER_CONFIG`` if set, else ``config.toml`` in the user's config directory.
"""

from __future__ import annotations

import difflib
import email.utils
import os
import re
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, fields
from email.errors import InvalidHeaderDefect
from email.headerregistry import HeaderRegistry
from pathlib import Path
from urllib.parse import urlsplit

import platformdirs
from email_validator import EmailNotValidError, validate_email

from recommender import text_files
from recommender.dumps import MAX_BYTES, MAX_PAPERS
from recommender.errors import RecommenderError
from recommender.links import MIN_SECRET_LENGTH, load_or_create_secret
from recommender.sources.arxiv_parse import ANNOUNCE_TYPES


class ConfigError(RecommenderError, ValueError):
    """A config file or setting that cannot be used."""


@dataclass(frozen=True)
class Settings:
    home: Path
    """Where the SQLite database and other state live."""
    database_url: str
    """SQLAlchemy URL of the database; defaults to a SQLite file in ``home``."""
    embedding_model: str = "all-MiniLM-L6-v2"
    """Sentence-embedding model (a local folder, an installed model package or a hub name), or
    ``wordllama`` (static embeddings, in the default install); ``none`` ranks on word features
    alone. Without sentence-transformers installed (the ``embeddings`` extra), WordLlama's
    static embeddings stand in (:func:`recommender.embeddings.usable_model`)."""
    base_url: str = "http://localhost:8000"
    """The public address of ``recommender serve``: rating and unsubscribe links point here."""
    mail_from: str = "Paper digest <recommender@localhost>"
    """The From address of digests."""
    smtp_host: str = ""
    """SMTP server; without one, digests are written as files to ``outbox_dir``."""
    smtp_port: int = 0
    """SMTP port; 0 means the usual one for ``smtp_security`` (25, 587 or 465)."""
    smtp_security: str = "starttls"
    """``none``, ``starttls`` or ``tls`` (implicit TLS)."""
    smtp_user: str = ""
    smtp_password: str = ""
    smtp_connections: int = 2
    """How many connections to the SMTP server a run delivers over at once (1 to 16)."""
    secret: str = ""
    """Key that signs links in emails; by default generated at ``init`` into ``home/secret``."""
    outbox_dir: Path | None = None
    """Where digests go as ``.eml`` and ``.html`` files when no SMTP server is set
    (default ``home/outbox``)."""
    nothing_new_note: bool = False
    """Send a short "nothing new today" note when no paper qualifies (default: send nothing)."""
    inbox_dir: Path | None = None
    """``serve`` ingests dumps dropped here (default ``home/inbox``); done files move to
    ``processed/`` beside them, refused ones to ``quarantine/`` with the reason."""
    inbox_poll_seconds: int = 300
    """How often ``serve`` looks into the inbox."""
    inbox_settle_seconds: int = 5
    """A file in the inbox modified this recently may still be being written, and waits for
    the next look (a copy that pauses longer is read in parts: copy a big dump in under a
    hidden name, ``.day.txt``, and rename it when done)."""
    max_dump_bytes: int = MAX_BYTES
    """A dump file larger than this is refused unread (a listing page is about 0.2 MB)."""
    max_dump_papers: int = MAX_PAPERS
    """A dump listing more papers than this is refused (a listing page holds about 100)."""
    profiles_dir: Path | None = None
    """A folder of profiles that ``serve`` reloads when a file changes (default: none)."""
    hf_api_url: str = "https://huggingface.co"
    """Where ``fetch --source hf`` reads Hugging Face Daily Papers (``/api/daily_papers``)."""
    arxiv_rss_url: str = "https://rss.arxiv.org"
    """Where arXiv's daily announcement feeds are read (``/rss/<categories>``)."""
    arxiv_api_url: str = "https://export.arxiv.org"
    """Where arXiv's query API is read (``/api/query``)."""
    arxiv_categories: str = "cs.LG,cs.CL"
    """The arXiv categories fetched, comma-separated (https://arxiv.org/category_taxonomy)."""
    arxiv_announce_types: str = "new,cross"
    """Which entries of arXiv's feed count, comma-separated: ``new``, ``cross`` (cross-lists),
    ``replace``, ``replace-cross`` (new versions of papers announced before)."""
    arxiv_request_interval: float = 3.0
    """Seconds between two requests to arXiv. arXiv's terms ask for at least 3; lower it only
    for a mirror of your own."""
    hf_request_interval: float = 1.0
    """Seconds between two requests to Hugging Face (a backfill asks once a day or more);
    lower it only for a mirror of your own."""
    sources: str = "hf,arxiv"
    """The sources ``serve`` fetches on their schedules, comma-separated (``hf``, ``arxiv``);
    ``none``: none (dumps in the inbox only)."""
    hf_schedule: str = "0 */4 * * *"
    """When ``serve`` fetches Hugging Face Daily Papers (yesterday's and today's listing), in
    UTC: a cron line, or ``daily HH:MM`` / ``weekdays HH:MM`` / ``weekly DAY HH:MM``."""
    arxiv_schedule: str = "30 0,6 * * 1-5"
    """When ``serve`` fetches arXiv's feed, in arXiv's time zone (America/New_York): by default
    half an hour after the midnight the feed is rebuilt, and again at 06:30 in case the first
    try failed (an unchanged feed then costs one conditional request)."""
    signup: bool = False
    """Let people subscribe themselves at ``/signup`` (default: only the operator's profiles
    subscribe anyone). A sign-up is a subscriber only once its address confirms it."""
    signup_address_limit: int = 3
    """How many sign-ups one address may ask for in a day (each sends it a mail)."""
    signup_client_limit: int = 10
    """How many sign-ups one client (an IP address) may ask for in an hour."""
    contact: str = ""
    """The operator's address, sent in the User-Agent of every request to a source, as arXiv
    and Hugging Face ask (default: the address of ``mail_from``)."""

    @classmethod
    def load(
        cls,
        overrides: Mapping[str, object | None] | None = None,
        environ: Mapping[str, str] | None = None,
    ) -> Settings:
        """Resolve settings from the config file, the environment and ``overrides``."""
        environ = os.environ if environ is None else environ
        values: dict[str, object] = {}
        # where each value came from, as an error about it names it: the file, the variable or
        # the flag the person has to change
        origins: dict[str, str] = {}
        path, from_file = _read_config_file(environ)
        for name, value in from_file.items():
            values[name], origins[name] = value, f"{path}: setting {name!r}"
        for field in fields(cls):
            variable = f"RECOMMENDER_{field.name.upper()}"
            env_value = environ.get(variable)
            if env_value:
                values[field.name] = env_value
                origins[field.name] = f"setting {field.name!r} ({variable})"
        for name, value in (overrides or {}).items():
            if value is not None:
                flag = f" ({_FLAGS[name]})" if name in _FLAGS else ""
                values[name], origins[name] = value, f"setting {name!r}{flag}"

        home = Path(str(values.pop("home", None) or platformdirs.user_data_path("recommender")))
        home = home.expanduser()
        database_url = str(
            values.pop("database_url", None) or f"sqlite:///{home / 'recommender.db'}"
        )
        typed = {name: _convert(name, value, origins[name]) for name, value in values.items()}
        return cls(home=home, database_url=database_url, **typed)  # type: ignore[arg-type]

    @property
    def outbox(self) -> Path:
        return self.outbox_dir if self.outbox_dir is not None else self.home / "outbox"

    @property
    def contact_address(self) -> str:
        """Whom a source may write to about our requests: ``contact``, else mail_from's
        address."""
        return self.contact.strip() or email.utils.parseaddr(self.mail_from)[1] or self.mail_from

    @property
    def source_names(self) -> tuple[str, ...]:
        return () if self.sources.strip().lower() == "none" else _items(self.sources)

    @property
    def categories(self) -> tuple[str, ...]:
        return _items(self.arxiv_categories)

    @property
    def announce_types(self) -> tuple[str, ...]:
        return _items(self.arxiv_announce_types)

    @property
    def inbox(self) -> Path:
        return self.inbox_dir if self.inbox_dir is not None else self.home / "inbox"

    def __repr__(self) -> str:  # never show secrets
        shown = {
            f.name: ("***" if f.name in SECRET_SETTINGS and getattr(self, f.name) else v)
            for f in fields(self)
            for v in [getattr(self, f.name)]
        }
        return f"Settings({', '.join(f'{k}={v!r}' for k, v in shown.items())})"

    def describe_database(self) -> str:
        """Return the database URL with any password masked, for printing."""
        from sqlalchemy.engine import make_url

        return make_url(self.database_url).render_as_string(hide_password=True)


def link_secret(settings: Settings) -> str:
    """The link-signing secret: the ``secret`` setting, else ``home/secret`` (made once)."""
    if settings.secret:
        return settings.secret
    path = settings.home / "secret"
    secret = load_or_create_secret(path)
    if len(secret) < MIN_SECRET_LENGTH:
        raise ConfigError(
            f"{path}: the link-signing secret must be at least {MIN_SECRET_LENGTH} "
            f"characters, not {len(secret)}; delete the file to have a new one made"
        )
    return secret


SECRET_SETTINGS = frozenset({"smtp_password", "secret"})
# The settings the command line takes as flags (its global options, in recommender.cli).
_FLAGS = {"database_url": "--db", "home": "--home"}
SOURCE_NAMES = ("hf", "arxiv")
# An arXiv category: an archive, and a subject class after a dot where the archive has them
# (cs.LG, math.AG, hep-th, q-bio.NC).
_CATEGORY = re.compile(r"[a-z][a-z-]*(?:\.[A-Za-z][A-Za-z-]*)?")
_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off", ""}


# Settings that are whole numbers: the least and greatest allowed (None: no limit), and what
# the number is, for errors.
_WHOLE_NUMBERS: dict[str, tuple[int, int | None, str]] = {
    "smtp_port": (0, 65535, "a port number"),
    "smtp_connections": (1, 16, "a number of connections"),
    "inbox_poll_seconds": (1, None, "a number of seconds"),
    "inbox_settle_seconds": (0, None, "a number of seconds"),
    "max_dump_bytes": (1, None, "a number of bytes"),
    "max_dump_papers": (1, None, "a number of papers"),
    "signup_address_limit": (1, 1000, "a number of sign-ups"),
    "signup_client_limit": (1, 100000, "a number of sign-ups"),
}

# Settings that are true or false.
_BOOLEANS = frozenset({"nothing_new_note", "signup"})


# Settings that are not text; every other one must be a string in the config file.
_INTERVALS = frozenset({"arxiv_request_interval", "hf_request_interval"})
_NOT_TEXT = frozenset(_WHOLE_NUMBERS) | _BOOLEANS | _INTERVALS

# The longest host name base_url may have: a digest's Message-ID ends with it, and the column
# holding Message-IDs (digests.message_id) takes 255 characters, 51 of them for the rest.
MAX_HOST_LENGTH = 200
# The longest embedding model name: it is stored with every embedding and in the name of the
# feature space (both columns of 200 characters; the space's name adds about 50).
MAX_EMBEDDING_MODEL_LENGTH = 100


def _convert(name: str, value: object, where: str) -> object:
    """Turn a setting from a file, the environment or a flag into its type, or say what is
    wrong, starting with ``where`` it came from."""
    if name in _WHOLE_NUMBERS:
        low, high, what = _WHOLE_NUMBERS[name]
        try:
            number = int(str(value))
        except ValueError:
            raise ConfigError(f"{where}: {value!r} is not {what}") from None
        if number < low or (high is not None and number > high):
            allowed = f"{low} to {high}" if high is not None else f"at least {low}"
            raise ConfigError(f"{where}: {number} is out of range; use {allowed}")
        return number
    if name in _BOOLEANS:
        if isinstance(value, bool):
            return value
        text = str(value).strip().lower()
        if text not in _TRUE | _FALSE:
            raise ConfigError(f"{where}: {value!r} is not true or false")
        return text in _TRUE
    if name == "smtp_security":
        text = str(value).strip().lower()
        if text not in ("none", "starttls", "tls"):
            raise ConfigError(f"{where}: {value!r}; use none, starttls or tls")
        return text
    if name in ("outbox_dir", "inbox_dir", "profiles_dir"):
        return Path(str(value)).expanduser()
    if name in _INTERVALS:
        try:
            seconds = float(str(value))
        except ValueError:
            raise ConfigError(f"{where}: {value!r} is not a number of seconds") from None
        if not 0 <= seconds <= 3600:  # NaN fails both
            raise ConfigError(f"{where}: {value!r} is out of range; use 0 to 3600 seconds")
        return seconds
    text = str(value)
    if name in _LISTS:
        _check_items(text, where, *_LISTS[name])
    elif name in ("hf_schedule", "arxiv_schedule"):
        from recommender.schedules import parse_schedule

        try:
            parse_schedule(text)
        except ValueError as exc:
            raise ConfigError(f"{where}: {exc}") from None
    if name in ("base_url", "hf_api_url", "arxiv_rss_url", "arxiv_api_url"):
        _check_base_url(text, where)
    elif name == "mail_from":
        _check_mail_from(text, where)
    elif name == "contact" and text.strip():  # empty: mail_from's address stands in
        _check_address(text.strip(), text, where)
    elif name == "embedding_model" and len(text) > MAX_EMBEDDING_MODEL_LENGTH:
        raise ConfigError(
            f"{where}: at most {MAX_EMBEDDING_MODEL_LENGTH} characters, not {len(text)}"
        )
    elif name == "secret" and 0 < len(text) < MIN_SECRET_LENGTH:
        # the value itself is never shown
        raise ConfigError(
            f"{where}: too short ({len(text)} characters); the link-signing secret must be "
            f"at least {MIN_SECRET_LENGTH} characters"
        )
    return text


def _items(text: str) -> tuple[str, ...]:
    return tuple(dict.fromkeys(item.strip() for item in text.split(",") if item.strip()))


# Comma-separated settings: whether the list may be empty, and the items allowed (a tuple of
# names, or a pattern).
_LISTS: dict[str, tuple[bool, tuple[str, ...] | re.Pattern[str]]] = {
    "sources": (True, SOURCE_NAMES),
    "arxiv_categories": (False, _CATEGORY),
    "arxiv_announce_types": (False, ANNOUNCE_TYPES),
}


def _check_items(
    text: str, where: str, may_be_empty: bool, allowed: tuple[str, ...] | re.Pattern[str]
) -> None:
    items = () if may_be_empty and text.strip().lower() == "none" else _items(text)
    if not items and not may_be_empty:
        raise ConfigError(f"{where}: name at least one, comma-separated")
    for item in items:
        if isinstance(allowed, re.Pattern):
            if not allowed.fullmatch(item):
                raise ConfigError(f"{where}: {item!r} is not an arXiv category, such as 'cs.LG'")
        elif item not in allowed:
            close = difflib.get_close_matches(item, allowed, n=1)
            hint = f"did you mean {close[0]!r}? " if close else ""
            raise ConfigError(f"{where}: unknown {item!r}; {hint}use {', '.join(allowed)}")


def _check_base_url(url: str, where: str) -> None:
    try:
        parts = urlsplit(url)
        host = parts.hostname
    except ValueError:  # a bracketed host that is not an IPv6 address, say
        host = None
    else:
        if parts.scheme.lower() not in ("http", "https"):
            host = None
    if not host:
        raise ConfigError(
            f"{where}: {url!r} is not an http:// or https:// address, such as "
            "'https://papers.example.org'"
        )
    if len(host) > MAX_HOST_LENGTH:
        raise ConfigError(
            f"{where}: the host name may have at most {MAX_HOST_LENGTH} characters, not {len(host)}"
        )


def _check_mail_from(text: str, where: str) -> None:
    """One address, with or without a name: ``Paper digest <digest@example.org>``, read as the
    From header of a digest is (``email.utils.parseaddr`` reads past what it cannot parse:
    ``digest@exa mple.org`` is ``digest@example.org`` to it)."""
    try:
        header = HeaderRegistry()("From", text)
    except ValueError:  # a line break, say
        header = None
    if (
        header is None
        or len(header.addresses) != 1
        or any(isinstance(defect, InvalidHeaderDefect) for defect in header.defects)
    ):
        raise ConfigError(
            f"{where}: {text!r} is not one email address, such as "
            "'Paper digest <digest@example.org>'"
        )
    _check_address(header.addresses[0].addr_spec, text, where)


def _check_address(address: str, text: str, where: str) -> None:
    """Check ``address`` as subscribers' addresses are checked (:mod:`recommender.profiles`),
    except that its domain need not be one the world can deliver to: the operator's own
    address may be on a private network, or, as mail_from's default is, on localhost."""
    local, _, domain = address.rpartition("@")
    # email_validator refuses localhost as a special-use name, whatever it is told: check the
    # rest of the address with a domain of the same shape
    checked = f"{local}@localhost.example" if domain.lower() == "localhost" else address
    try:
        validate_email(checked, check_deliverability=False, globally_deliverable=False)
    except EmailNotValidError as exc:
        raise ConfigError(f"{where}: {text!r} is not a valid email address: {exc}") from None


def _kind(value: object) -> str:
    """What a TOML value is, in TOML's words."""
    if isinstance(value, bool):
        return "true or false"
    if isinstance(value, int | float):
        return "a number"
    if isinstance(value, list):
        return "an array"
    if isinstance(value, dict):
        return "a table"
    return "a date or time"


def _read_config_file(environ: Mapping[str, str]) -> tuple[Path, dict[str, object]]:
    """The config file's path, and the settings it holds (none if there is no file)."""
    explicit = environ.get("RECOMMENDER_CONFIG")
    path = (
        Path(explicit) if explicit else platformdirs.user_config_path("recommender") / "config.toml"
    )
    if not path.exists():
        if explicit:
            raise ConfigError(f"{path}: config file not found (named by RECOMMENDER_CONFIG)")
        return path, {}
    try:
        data = tomllib.loads(text_files.read(path))
    except (OSError, text_files.UndecodableText, tomllib.TOMLDecodeError) as exc:
        raise ConfigError(f"{path}: {exc}") from exc
    known = {field.name for field in fields(Settings)}
    unknown = sorted(set(data) - known)
    if unknown:
        close = difflib.get_close_matches(unknown[0], known, n=1)
        hint = f"did you mean {close[0]!r}? " if close else ""
        raise ConfigError(
            f"{path}: unknown setting {unknown[0]!r}; {hint}"
            f"known settings: {', '.join(sorted(known))}"
        )
    for name, value in data.items():
        if name not in _NOT_TEXT and not isinstance(value, str):
            raise ConfigError(
                f"{path}: setting {name!r} must be text, in quotes, not {_kind(value)}"
            )
    return path, data
