"""What a subscriber changes from their manage page besides interests and votes (those are
:mod:`recommender.clicks`'): their settings, pausing, their subscription, undoing a rating.

Settings are checked by :func:`recommender.profiles.parse_profile`, so the page takes what a
profile file takes and refuses what it refuses, in the same words (a
:class:`~recommender.profiles.ProfileError` naming the field), before anything is written.
Each change is one transaction; an undone vote is committed before the model retrains.
Checking tokens is :mod:`recommender.links`'s; the HTTP side is :mod:`recommender.web`'s.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from datetime import datetime

from sqlalchemy.orm import Session

from recommender import links, profiles, ratings
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
_TYPES: dict[str, type] = {"digest_size": int, "min_score": float}


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
    try:
        return kind(text)
    except ValueError:
        return text


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


class ManagePage:
    """The changes a manage link allows, over ``sessions``, checking tokens with ``signer``."""

    def __init__(
        self,
        sessions: Callable[[], Session],
        signer: links.Signer,
        clock: Callable[[], datetime],
        train: Callable[[Session, Subscriber], None],
    ) -> None:
        self._sessions = sessions
        self._signer = signer
        self._clock = clock
        self._train = train

    @contextmanager
    def _linked(self, token: str) -> Iterator[tuple[Session, Subscriber]]:
        """The link's subscriber, in a transaction committed when the block ends."""
        subscriber_id = self._signer.check_subscriber("manage", token)
        with self._sessions() as session, session.begin():
            yield session, linked_subscriber(session, subscriber_id)

    def change_settings(self, token: str, values: Mapping[str, str]) -> SubscriberInfo:
        with self._linked(token) as (session, subscriber):
            changes = checked_settings(subscriber.email, values)
            changed = {k: v for k, v in changes.items() if getattr(subscriber, k) != v}
            for name, value in changed.items():
                setattr(subscriber, name, value)
            if changed:
                subscriber.updated_at = self._clock()
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
