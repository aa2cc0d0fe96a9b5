"""What applying a profile file to its subscriber changes: pure, no database, no clock.

A subscriber changes their own settings on the manage page, and the operator edits their
profile file; neither may silently undo the other. So the subscriber keeps, beside their
settings, the file's values as last applied, and applying a file sets only the fields the
file changed since then (:func:`fields_to_set`): a file reloaded unchanged touches nothing,
and an edit wins for the fields it edits, while what the subscriber changed elsewhere stands.
Whether they are subscribed is never a file's to say (see ``store/subscribers.py``).
"""

from __future__ import annotations

import json
from dataclasses import asdict
from typing import Any

from recommender.profiles import Interest, Profile

# The subscriber's fields a profile file sets, as the subscribers table names them.
FIELDS = (
    "name",
    "interests",
    "about",
    "liked",
    "schedule",
    "timezone",
    "digest_size",
    "min_score",
    "paused",
    "explore",
    "topics",
    "authors",
    "must_not",
)


def stored_values(profile: Profile) -> dict[str, Any]:
    """The profile's fields as the subscribers table keeps them (lists, not tuples)."""
    values: dict[str, Any] = {
        "name": profile.name,
        "interests": list(profile.interests),
        "about": profile.about,
        "liked": list(profile.liked),
        "schedule": profile.schedule.text,
        "timezone": profile.timezone,
        "digest_size": profile.digest_size,
        "min_score": profile.min_score,
        "paused": profile.paused,
        "explore": profile.explore,
        "topics": [_topic_row(topic) for topic in profile.topics],
        "authors": list(profile.authors),
        "must_not": list(profile.must_not),
    }
    # As a JSON column gives them back, so that a record read from the database compares
    # equal to the file it was made from.
    return json.loads(json.dumps(values))


def _topic_row(topic: Interest) -> dict[str, Any]:
    row = asdict(topic)
    return {key: list(value) if isinstance(value, tuple) else value for key, value in row.items()}


def fields_to_set(
    file: dict[str, Any],
    applied: dict[str, Any] | None,
    current: dict[str, Any],
    *,
    overwrite: bool = False,
) -> dict[str, Any]:
    """The fields to set on a subscriber from ``file`` (:func:`stored_values` of their profile
    file), given ``applied``, the file's values as last applied, and ``current``, their values
    now; those equal already are left out.

    A field the file changed since ``applied`` counts, one it did not is the subscriber's
    (they may have changed it since). ``applied`` None means no file was ever applied: every
    field counts. ``overwrite`` (the operator's explicit ask) counts every field.
    """
    last = {} if overwrite or applied is None else applied
    return {
        name: value
        for name, value in file.items()
        if (overwrite or name not in last or last[name] != value) and current.get(name) != value
    }


def fields_kept(file: dict[str, Any], current: dict[str, Any]) -> list[str]:
    """The fields where the subscriber's value is not the file's (after applying it): the
    changes of their own that stand."""
    return [name for name, value in file.items() if current.get(name) != value]
