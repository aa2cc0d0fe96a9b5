"""The base of the package's expected errors, for the layers that report them to people.

An expected error is one a person can act on: a bad setting, profile or dump, a paper or
subscriber that is not there, a source or mail server that failed. Each is defined beside the
code that raises it and subclasses :class:`RecommenderError` (keeping the built-in base that
callers catch, such as ``ValueError``); ``str()`` is the one line to show. The CLI turns any
of them into ``Error: …`` and exit status 1; the web turns a :class:`NotFound` into a page.
"""

from __future__ import annotations


class RecommenderError(Exception):
    """An expected failure, said in one line for a person."""


class NotFound(RecommenderError, LookupError):
    """Something a command or a link names is not there."""
