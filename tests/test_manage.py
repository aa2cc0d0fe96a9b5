"""The manage page's pure parts: settings checked as a profile's are, and the rating history
with what each change replaced."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from recommender import manage
from recommender.profiles import ProfileError
from recommender.results import RatingInfo

EMAIL = "ada@example.org"
T0 = datetime(2026, 3, 21, 8, 0, tzinfo=UTC)


def test_settings_come_back_as_a_profile_keeps_them_and_only_those_given() -> None:
    checked = manage.checked_settings(EMAIL, {"schedule": " Weekly Monday 7:05 ", "other": "x"})
    assert checked == {"schedule": "weekly mon 07:05"}
    sized = manage.checked_settings(EMAIL, {"digest_size": "7", "min_score": "-0.5"})
    assert sized == {"digest_size": 7, "min_score": -0.5}
    assert manage.checked_settings(EMAIL, {"min_score": ""}) == {"min_score": None}
    assert manage.checked_settings(EMAIL, {}) == {}


def test_a_bad_setting_raises_the_profiles_error_naming_the_field() -> None:
    with pytest.raises(ProfileError) as refused:
        manage.checked_settings(EMAIL, {"digest_size": "101"})
    assert refused.value.field == "digest_size"
    assert refused.value.message == "must be between 1 and 100"
    with pytest.raises(ProfileError) as refused:
        manage.checked_settings(EMAIL, {"digest_size": "1.5"})
    assert refused.value.message == "expected int, got '1.5'"


def rating(paper: str, vote: str, minutes: int) -> RatingInfo:
    return RatingInfo(paper, paper.upper(), vote, "web", T0 + timedelta(minutes=minutes))


def test_history_says_what_each_change_replaced_and_which_is_each_papers_latest() -> None:
    changes = [rating("a", "up", 0), rating("b", "down", 1), rating("a", "clear", 2)]
    shown = manage.history(changes)
    assert [(c.rating.paper_id, c.rating.vote, c.before, c.latest) for c in shown] == [
        ("a", "clear", "up", True),
        ("b", "down", "clear", True),
        ("a", "up", "clear", False),
    ]
    assert [c.rating.vote for c in manage.history(changes, shown=2)] == ["clear", "down"]
    assert manage.history([]) == []
