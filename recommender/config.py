"""Settings, resolved in this order: defaults < config file < ``RECOMMENDER_*`` environment
variables < command-line flags.

The config file is TOML with the same names as the settings (``database_url = "..."``); it is
``$RECOMMENDER_CONFIG`` if set, else ``config.toml`` in the user's config directory.
"""

from __future__ import annotations

import os
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, fields
from pathlib import Path

import platformdirs


class ConfigError(ValueError):
    """A config file or setting that cannot be used."""


@dataclass(frozen=True)
class Settings:
    home: Path
    """Where the SQLite database and other state live."""
    database_url: str
    """SQLAlchemy URL of the database; defaults to a SQLite file in ``home``."""
    embedding_model: str = "all-MiniLM-L6-v2"
    """Sentence-embedding model (a local folder, an installed model package or a hub name);
    ``none`` ranks on word features alone. Without ``recommender[embeddings]`` installed, word
    features are used whatever this says."""

    @classmethod
    def load(
        cls,
        overrides: Mapping[str, object | None] | None = None,
        environ: Mapping[str, str] | None = None,
    ) -> Settings:
        """Resolve settings from the config file, the environment and ``overrides``."""
        environ = os.environ if environ is None else environ
        values: dict[str, object] = {}
        values.update(_read_config_file(environ))
        for field in fields(cls):
            env_value = environ.get(f"RECOMMENDER_{field.name.upper()}")
            if env_value:
                values[field.name] = env_value
        values.update({k: v for k, v in (overrides or {}).items() if v is not None})

        home = Path(str(values.get("home") or platformdirs.user_data_path("recommender")))
        home = home.expanduser()
        database_url = str(values.get("database_url") or f"sqlite:///{home / 'recommender.db'}")
        embedding_model = str(values.get("embedding_model") or cls.embedding_model)
        return cls(home=home, database_url=database_url, embedding_model=embedding_model)

    def describe_database(self) -> str:
        """Return the database URL with any password masked, for printing."""
        from sqlalchemy.engine import make_url

        return make_url(self.database_url).render_as_string(hide_password=True)


def _read_config_file(environ: Mapping[str, str]) -> dict[str, object]:
    explicit = environ.get("RECOMMENDER_CONFIG")
    path = (
        Path(explicit) if explicit else platformdirs.user_config_path("recommender") / "config.toml"
    )
    if not path.exists():
        if explicit:
            raise ConfigError(f"{path}: config file not found (named by RECOMMENDER_CONFIG)")
        return {}
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
        raise ConfigError(f"{path}: {exc}") from exc
    known = {field.name for field in fields(Settings)}
    unknown = sorted(set(data) - known)
    if unknown:
        raise ConfigError(
            f"{path}: unknown setting {unknown[0]!r}; known settings: {', '.join(sorted(known))}"
        )
    return data
