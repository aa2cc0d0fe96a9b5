"""Sources: remote listings that papers arrive from by themselves.

A source is a small module that fetches the listing of one day (or every day since a date)
from one remote service and turns it into plain :class:`~recommender.sources.base.SourcePaper`
records, one :class:`~recommender.sources.base.SourceDay` per day. Every source implements the
one interface in :mod:`recommender.sources.base` and talks HTTP through
:mod:`recommender.sources.http`, which owns politeness (User-Agent, rate limit, retries,
conditional requests).

A source never touches the database: storing a day (all or nothing), joining one paper seen
by several sources and scheduling fetches are left to the store and the facade.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import TYPE_CHECKING

# The sources themselves (and HTTP) are imported on first use: the settings, and every module
# that needs only sources.base, import this package first.
if TYPE_CHECKING:
    from recommender.config import Settings
    from recommender.sources.base import Source


@contextlib.contextmanager
def open_source(settings: Settings, name: str) -> Iterator[Source]:
    """The source named ``name`` over polite clients, built from the settings."""
    from recommender.config import SOURCE_NAMES
    from recommender.sources.arxiv import ArxivSource
    from recommender.sources.hf import HuggingFaceSource
    from recommender.sources.http import Pace, PoliteClient

    contact = settings.contact_address
    if name == "hf":
        pace = Pace(settings.hf_request_interval)
        with PoliteClient(settings.hf_api_url, contact=contact, pace=pace) as client:
            yield HuggingFaceSource(client)
    elif name == "arxiv":
        pace = Pace(settings.arxiv_request_interval)
        with (
            PoliteClient(settings.arxiv_rss_url, contact=contact, pace=pace) as feeds,
            PoliteClient(settings.arxiv_api_url, contact=contact, pace=pace) as api,
        ):
            yield ArxivSource(
                feeds, api, categories=settings.categories, types=settings.announce_types
            )
    else:
        raise ValueError(f"unknown source {name!r}; choose one of: {', '.join(SOURCE_NAMES)}")
