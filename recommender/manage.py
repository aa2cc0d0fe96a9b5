"""What a subscriber changes from their manage page besides votes (those are
:mod:`recommender.clicks`'): their interests (the plain list and liked papers, each named
interest, followed authors, must-not words), their settings, pausing, their subscription,
undoing a rating.

Interests and settings are checked by :func:`recommender.profiles.parse_profile`, so the page
takes what a profile file takes and refuses what it refuses, in the same words (a
:class:`~recommender.profiles.ProfileError` naming the field, such as ``interest 2.share``),
before anything is written. Each change is one transaction; a change of interests, and an
undone vote, is committed before the model retrains.
Checking tokens is :mod:`recommender.links`'s; the HTTP side is :mod:`recommender.web`'s.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import asdict
from typing import Any

from sqlalchemy.orm import Session

from recommender import profiles, ratings
from recommender.clicks import LinkHandlers
from recommender.lookups import linked_subscriber, subscriber_info
from recommender.results import RatingChange, RatingInfo, SubscriberInfo
from recommender.store import papers as paper_store
from recommender.store import subscribers as subscriber_store
from recommender.store.models import Subscriber

# The profile fields the page sets, as the subscribers table names them.
SETTINGS = ("schedule", "timezone", "digest_size", "min_score")
# What a refused setting says it came from (a profile names its file).
SOURCE = "your settings"
# The rating history the page shows: the newest changes.
HISTORY_SHOWN = 100
_TYPES: dict[str, type] = {"digest_size": int, "min_score": float, "share": float}
# The fields of a named interest the page edits, each a line of text or lines of it; its
# liked papers are kept as they are.
INTEREST_FORM = ("name", "phrases", "authors", "share", "must")
_LISTS = ("phrases", "authors", "must")
# A stored named interest whose share its profile (or the page) left out: it splits what the
# others leave, and the page shows its share empty. Interests stored without this key (from a
# profile file, before the page could edit them) keep the share they were stored with.
SHARE_GIVEN = "share_given"
# What the page's "add an interest" form sends as the interest's number.
NEW_INTEREST = "new"


def checked_settings(email: str, values: Mapping[str, str]) -> dict[str, object]:
    """The settings among ``values`` (a form's text) as the subscribers table keeps them,
    checked as a profile of ``email`` is; raise ``ProfileError`` naming the first bad field.

    An empty minimum score means none, as in a profile without the field.
    """
    given = {name: values[name].strip() for name in SETTINGS if name in values}
    data: dict[str, object] = {"email": email}
    for name, text in given.items():
        if name != "min_score" or text:
            data[name] = _typed(name, text)
    profile = profiles.parse_profile(data, source=SOURCE)
    return {
        name: profile.schedule.text if name == "schedule" else getattr(profile, name)
        for name in given
    }


def _typed(name: str, text: str) -> object:
    """Form text as the type of the profile field, or as text when it is not one (which the
    profile check then refuses, saying what it expected)."""
    kind = _TYPES.get(name)
    if kind is None:
        return text
    if kind is float:
        try:
            return int(text)  # "0" is 0 as TOML reads it, so a refusal reads as subscribe's
        except ValueError:
            pass
    try:
        return kind(text)
    except ValueError:
        return text


def set_lists(data: dict[str, Any], values: Mapping[str, str]) -> None:
    """Set the plain ``interests``, ``liked``, ``authors`` or ``must_not`` of ``data`` (those
    ``values`` has) to the form's text, one entry per line."""
    for name in ("interests", "liked", "authors", "must_not"):
        if name in values:
            data[name] = values[name].splitlines()


def interest_data(subscriber: Subscriber) -> dict[str, Any]:
    """The subscriber's interests as a profile writes them: the plain ``interests`` and
    ``liked``, the ``[[interest]]`` tables (a share only where one was given), ``authors``
    and ``must_not``."""
    tables = []
    for row in subscriber.topics or []:
        table = {"name": row["name"]}
        table |= {key: row.get(key, []) for key in ("phrases", "liked", "authors", "must")}
        if row.get(SHARE_GIVEN, True) and row.get("share", 0) > 0:
            table["share"] = row["share"]
        tables.append(table)
    return {
        "interests": list(subscriber.interests),
        "liked": list(subscriber.liked),
        "interest": tables,
        "authors": list(subscriber.authors or []),
        "must_not": list(subscriber.must_not or []),
    }


def checked_interests(email: str, data: Mapping[str, Any]) -> dict[str, Any]:
    """The interests of ``data`` (as :func:`interest_data` gives them) as the subscribers
    table keeps them, checked as a profile of ``email`` is; raise ``ProfileError`` naming the
    first bad field."""
    profile = profiles.parse_profile({"email": email, **data}, source=SOURCE)
    given = ["share" in table for table in data["interest"]]
    topics = [
        {**_row(asdict(topic)), SHARE_GIVEN: was_given}
        for topic, was_given in zip(profile.topics, given, strict=True)
    ]
    return {
        "interests": list(profile.interests),
        "liked": list(profile.liked),
        "topics": topics,
        "authors": list(profile.authors),
        "must_not": list(profile.must_not),
    }


def _row(values: dict[str, Any]) -> dict[str, Any]:
    return {k: list(v) if isinstance(v, tuple) else v for k, v in values.items()}


def edit_interest(
    data: dict[str, Any], number: str, values: Mapping[str, str], was: str | None = None
) -> None:
    """Set interest ``number`` (from 1; :data:`NEW_INTEREST`: a new one, last) of ``data``
    to the form ``values`` (lists one entry per line; an empty share: none given); given
    ``was``, only if it is still the one of that name.

    A page shown before an interest was removed numbers the later ones one too high: saved
    from it (Back, then Save), the form would overwrite the interest that took its number.
    """
    tables = data["interest"]
    index = _index(tables, number, allow_new=True)
    if was is not None and index < len(tables) and tables[index]["name"] != was:
        raise profiles.ProfileError(
            SOURCE,
            f"is {tables[index]['name']!r} now, not {was!r}; nothing was saved",
            f"interest {index + 1}",
        )
    table: dict[str, Any] = {"liked": tables[index]["liked"]} if index < len(tables) else {}
    for name in INTEREST_FORM:
        text = values.get(name, "")
        if name in _LISTS:
            table[name] = text.splitlines()
        elif name == "share":
            if text.strip():
                table[name] = _typed("share", text.strip())
        else:
            table[name] = text
    if index < len(tables):
        tables[index] = table
    else:
        tables.append(table)


def remove_interest(data: dict[str, Any], number: str, name: str) -> str:
    """Remove interest ``number`` of ``data``, if it is still the one named ``name``; return
    its name."""
    tables = data["interest"]
    index = _index(tables, number, allow_new=False)
    if tables[index]["name"] != name:
        raise profiles.ProfileError(
            SOURCE,
            f"is {tables[index]['name']!r} now, not {name!r}; nothing was removed",
            f"interest {index + 1}",
        )
    return str(tables.pop(index)["name"])


def _index(tables: list[dict[str, Any]], number: str, *, allow_new: bool) -> int:
    if allow_new and number == NEW_INTEREST:
        return len(tables)
    if not number.isdigit() or not 1 <= int(number) <= len(tables):
        raise profiles.ProfileError(
            SOURCE, f"there is no interest {number!r}; you have {len(tables)}", "interest"
        )
    return int(number) - 1


def history(changes: list[RatingInfo], shown: int = HISTORY_SHOWN) -> list[RatingChange]:
    """A rating history (oldest first) as its newest ``shown`` changes, newest first, each
    with the vote it replaced."""
    before: dict[str, str] = {}
    replaced = []
    for rating in changes:
        replaced.append(before.get(rating.paper_id, "clear"))
        before[rating.paper_id] = rating.vote
    newest: list[RatingChange] = []
    seen: set[str] = set()
    for rating, was in zip(reversed(changes), reversed(replaced), strict=True):
        newest.append(RatingChange(rating, was, rating.paper_id not in seen))
        seen.add(rating.paper_id)
        if len(newest) == shown:
            break
    return newest


class ManagePage(LinkHandlers):
    """The changes a manage link allows."""

    @contextmanager
    def _linked(self, token: str) -> Iterator[tuple[Session, Subscriber]]:
        """The link's subscriber, in a transaction committed when the block ends."""
        subscriber_id = self._signer.check_subscriber("manage", token)
        with self._sessions() as session, session.begin():
            yield session, linked_subscriber(session, subscriber_id)

    def _apply(self, subscriber: Subscriber, values: Mapping[str, Any]) -> bool:
        """Set the fields of ``values`` that differ from the subscriber's, stamping the change;
        whether any did."""
        changed = {k: v for k, v in values.items() if getattr(subscriber, k) != v}
        for name, value in changed.items():
            setattr(subscriber, name, value)
        if changed:
            subscriber.updated_at = self._clock()
        return bool(changed)

    def change_settings(self, token: str, values: Mapping[str, str]) -> SubscriberInfo:
        with self._linked(token) as (session, subscriber):
            self._apply(subscriber, checked_settings(subscriber.email, values))
            return subscriber_info(session, subscriber)

    def change_interests(
        self, token: str, edit: Callable[[dict[str, Any]], object]
    ) -> SubscriberInfo:
        """Apply ``edit`` to the subscriber's interests (as :func:`interest_data` gives them),
        check the result as ``subscribe`` would, save it, and retrain their model if anything
        changed. A ``ProfileError`` from either leaves everything as it was."""
        subscriber_id = self._signer.check_subscriber("manage", token)
        with self._sessions() as session:
            with session.begin():
                subscriber = linked_subscriber(session, subscriber_id)
                data = interest_data(subscriber)
                edit(data)
                changed = self._apply(subscriber, checked_interests(subscriber.email, data))
            if changed:
                self._train(session, subscriber)
            return subscriber_info(session, subscriber)

    def set_paused(self, token: str, paused: bool) -> SubscriberInfo:
        with self._linked(token) as (session, subscriber):
            subscriber_store.set_paused(subscriber, paused, self._clock())
            return subscriber_info(session, subscriber)

    def set_subscribed(self, token: str, subscribed: bool) -> SubscriberInfo:
        with self._linked(token) as (session, subscriber):
            if subscribed:
                subscriber_store.resubscribe(session, subscriber, self._clock())
            else:
                subscriber_store.unsubscribe(session, subscriber.email, self._clock())
            return subscriber_info(session, subscriber)

    def undo_rating(self, token: str, paper_ref: str, undone: str) -> RatingInfo | None:
        """Give the paper back the vote it had before ``undone``, its current one; None (and
        nothing changes) if its current vote is another by now (a page shown before a change,
        or an undo sent twice)."""
        subscriber_id = self._signer.check_subscriber("manage", token)
        with self._sessions() as session:
            with session.begin():
                subscriber = linked_subscriber(session, subscriber_id)
                paper = paper_store.get_paper(session, paper_ref)
                votes = subscriber_store.vote_history(session, subscriber.id, paper.id)
                if not votes or votes[0] != undone:
                    return None
                restored = votes[1] if len(votes) > 1 else "clear"
                info, changed = ratings.vote(
                    session, subscriber, paper, restored, "web", self._clock()
                )
            if changed:
                self._train(session, subscriber)
            return info
