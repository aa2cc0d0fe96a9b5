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
