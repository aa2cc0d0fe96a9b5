"""Which fields applying a profile file sets: what the file changed since it was last applied."""

from __future__ import annotations

import json

from recommender.profile_sync import FIELDS, fields_kept, fields_to_set, stored_values
from recommender.profiles import Interest, Profile
from recommender.schedules import parse_schedule

FILE = stored_values(
    Profile(
        email="ada@example.org",
        name="Ada",
        interests=("graph neural networks",),
        schedule=parse_schedule("daily 07:30"),
        digest_size=10,
        topics=(Interest(name="MoE", phrases=("mixture of experts",), share=0.5),),
    )
)


def edited(values: dict[str, object], **changes: object) -> dict[str, object]:
    return {**values, **changes}


def test_a_file_unchanged_since_it_was_applied_sets_nothing() -> None:
    theirs = edited(FILE, schedule="weekdays 08:00", timezone="Europe/Berlin", paused=True)
    assert fields_to_set(FILE, FILE, theirs) == {}
    assert fields_kept(FILE, theirs) == ["schedule", "timezone", "paused"]


def test_an_edited_file_sets_what_it_edited_and_leaves_the_subscribers_other_changes() -> None:
    theirs = edited(FILE, schedule="weekdays 08:00", digest_size=5)
    file = edited(FILE, digest_size=20, interests=["graphs", "molecules"])
    assert fields_to_set(file, FILE, theirs) == {
        "digest_size": 20,
        "interests": ["graphs", "molecules"],
    }
    after = {**theirs, **fields_to_set(file, FILE, theirs)}
    assert after["schedule"] == "weekdays 08:00"
    assert fields_kept(file, after) == ["schedule"]


def test_an_edit_to_what_the_subscriber_already_has_sets_nothing() -> None:
    theirs = edited(FILE, schedule="weekdays 08:00")
    assert fields_to_set(edited(FILE, schedule="weekdays 08:00"), FILE, theirs) == {}


def test_a_file_never_applied_sets_every_field_that_differs() -> None:
    theirs = edited(FILE, schedule="weekdays 08:00", name="Someone")
    assert fields_to_set(FILE, None, theirs) == {"name": "Ada", "schedule": "daily 07:30"}


def test_overwrite_sets_every_field_that_differs_even_from_an_unchanged_file() -> None:
    theirs = edited(FILE, schedule="weekdays 08:00", paused=True)
    assert fields_to_set(FILE, FILE, theirs, overwrite=True) == {
        "schedule": "daily 07:30",
        "paused": False,
    }


def test_a_field_the_record_lacks_counts_as_changed() -> None:
    older = {name: value for name, value in FILE.items() if name != "must_not"}
    theirs = edited(FILE, must_not=["survey"])
    assert fields_to_set(FILE, older, theirs) == {"must_not": []}


def test_stored_values_name_every_field_and_survive_a_json_column() -> None:
    assert tuple(FILE) == FIELDS
    assert json.loads(json.dumps(FILE)) == FILE
    assert FILE["topics"][0]["phrases"] == ["mixture of experts"]  # lists, as the column keeps
