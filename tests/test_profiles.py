"""Subscriber profiles: validation, schedules, and subscribing from files."""

from __future__ import annotations

import re
from dataclasses import replace
from pathlib import Path

import pytest
from sqlalchemy import String

from recommender import resources
from recommender.core import Recommender
from recommender.profiles import (
    FIELDS,
    INTEREST_FIELDS,
    MAX_LENGTHS,
    Interest,
    ProfileError,
    load_profile,
    load_profiles,
)
from recommender.schedules import parse_schedule
from recommender.store.models import Subscriber
from tests.clock import Clock


def write_profile(folder: Path, name: str, body: str) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / name
    path.write_text(body, encoding="utf-8")
    return path


def test_the_bundled_example_profile_is_valid_and_documents_every_field() -> None:
    path = resources.profiles_dir() / "example.toml"
    profile = load_profile(path)
    assert profile.email == "ada@example.org"
    # the issue 16 example: two interests with their shares, an author, a must-not word
    assert [(t.name, t.share) for t in profile.topics] == [
        ("Efficient long-context models", 0.5),
        ("Retrieval", 0.5),
    ]
    assert profile.followed and profile.must_not == ("survey",)
    text = path.read_text()
    for field in sorted(FIELDS):  # every field a profile may have, whatever is added
        written = (f"\n{field} =", f"\n# {field} =", f"\n[[{field}]]", f"\n# [[{field}]]")
        assert any(form in text for form in written), field


def test_the_bundled_multi_interest_example_is_valid_and_documents_every_interest_field() -> None:
    path = resources.profiles_dir() / "example-interests.toml"
    profile = load_profile(path)
    assert [t.name for t in profile.topics] == [
        "Mixture of experts",
        "Medical imaging",
        "Reinforcement learning",
    ]
    assert [t.share for t in profile.topics] == [0.4, 0.3, 0.3]
    assert profile.followed and profile.must_not
    text = path.read_text()
    for field in sorted(INTEREST_FIELDS):
        assert f"\n{field} =" in text, field


def test_a_minimal_profile_gets_sensible_defaults(tmp_path: Path) -> None:
    profile = load_profile(write_profile(tmp_path, "a.toml", 'email = "Bob@Example.ORG"\n'))
    assert profile.email == "bob@example.org"
    assert (profile.schedule.text, profile.timezone, profile.digest_size) == (
        "daily 07:30",
        "UTC",
        10,
    )
    assert (profile.min_score, profile.paused, profile.interests) == (None, False, ())


@pytest.mark.parametrize(
    ("body", "field", "message"),
    [
        ('email = "a@example.org"\ncolour = "blue"\n', "colour", "unknown field"),
        ('email = "not an address"\n', "email", "not a valid email address"),
        ('email = " "\n', "email", "write an email address, such as 'ada@example.org'"),
        ('name = "No Mail"\n', "email", "missing"),
        ('email = "a@example.org"\ntimezone = "Mars/Olympus"\n', "timezone", "unknown time zone"),
        (
            'email = "a@example.org"\ntimezone = "Mars/Olympus"\n',
            "timezone",
            "use an IANA name such as 'Europe/Berlin'",  # nothing close to suggest
        ),
        ('email = "a@example.org"\nschedule = "hourly"\n', "schedule", "cannot read schedule"),
        ('email = "a@example.org"\nschedule = "daily 25:00"\n', "schedule", "invalid time"),
        ('email = "a@example.org"\nschedule = "weekly funday 09:00"\n', "schedule", "unknown day"),
        ('email = "a@example.org"\nschedule = "61 7 * * *"\n', "schedule", "invalid cron line"),
        ('email = "a@example.org"\nschedule = "0 0 * * 1-7/0"\n', "schedule", "invalid step"),
        ('email = "a@example.org"\nschedule = "0 0 * * 5-1"\n', "schedule", "runs backwards"),
        ('email = "a@example.org"\nschedule = "0 0 * * 8"\n', "schedule", "use 0-7 or names"),
        ('email = "a@example.org"\ndigest_size = 0\n', "digest_size", "between 1 and 100"),
        ('email = "a@example.org"\ndigest_size = "ten"\n', "digest_size", "expected int"),
        ('email = "a@example.org"\npaused = "no"\n', "paused", "expected bool"),
        ('email = "a@example.org"\ninterests = ["ok", 3]\n', "interests", "item 2"),
        ('email = "a@example.org"\nintrests = ["x"]\n', "intrests", "did you mean 'interests'?"),
        ('email = "a@example.org"\nschedule = "0 0 30 2 *"\n', "schedule", "never fires"),
        ('email = "a@example.org"\nmin_score = nan\n', "min_score", "not a finite number"),
        ('email = "a@example.org"\nmin_score = -inf\n', "min_score", "not a finite number"),
        (f'email = "a@example.org"\nmin_score = {"9" * 400}\n', "min_score", "not a finite number"),
        (f'email = "a@example.org"\nname = "{"n" * 201}"\n', "name", "at most 200 characters"),
        ('email = "a@example.org"\nname = "Eve\\r\\nBcc: x"\n', "name", "control character"),
        ('email = "a@example.org"\nname = "Eve\\u2028Smith"\n', "name", "control character"),
        (
            f'email = "a@example.org"\nschedule = "{",".join(map(str, range(60)))} 7 * * *"\n',
            "schedule",
            "at most 100 characters",
        ),
    ],
)
def test_a_bad_profile_is_refused_naming_the_file_and_field(
    tmp_path: Path, body: str, field: str, message: str
) -> None:
    path = write_profile(tmp_path, "bad.toml", body)
    with pytest.raises(ProfileError) as caught:
        load_profile(path)
    assert str(caught.value).startswith(f"{path}: field {field!r}: ")
    assert message in str(caught.value)


@pytest.mark.parametrize(
    "encoding",
    # Windows Notepad's UTF-8 writes a byte-order mark; PowerShell's `>` writes UTF-16.
    ["utf-8-sig", "utf-16", "utf-16-le-with-bom", "utf-16-be-with-bom"],
)
def test_a_profile_saved_with_a_byte_order_mark_or_in_utf16_reads_as_in_utf8(
    tmp_path: Path, encoding: str
) -> None:
    body = 'email = "zoë@example.org"\nname = "Zoë Müller"\ninterests = ["graph neural networks"]\n'
    saved = tmp_path / "zoe.toml"
    if encoding.endswith("-with-bom"):
        codec = encoding.removesuffix("-with-bom")
        saved.write_bytes("\ufeff".encode(codec) + body.replace("\n", "\r\n").encode(codec))
    else:
        saved.write_text(body, encoding=encoding)
    plain = load_profile(write_profile(tmp_path / "plain", "zoe.toml", body))
    assert load_profile(saved) == replace(plain, source=str(saved))


def test_a_profile_that_is_not_text_is_refused_naming_its_line(tmp_path: Path) -> None:
    path = tmp_path / "bad.toml"
    path.write_bytes(b'email = "a@example.org"\nname = "Caf\xe9"\n')  # Latin-1, not UTF-8
    with pytest.raises(
        ProfileError, match=r"bad\.toml: line 2: not UTF-8 text \(invalid byte 0xe9\)"
    ):
        load_profile(path)


def test_broken_toml_is_refused_with_its_line(tmp_path: Path) -> None:
    path = write_profile(tmp_path, "bad.toml", 'email = "a@example.org"\nname = \n')
    with pytest.raises(ProfileError, match=r"bad\.toml: not valid TOML: .*line 2"):
        load_profile(path)


@pytest.mark.parametrize(
    ("text", "fields"),
    [
        ("daily 07:30", {"minute": "30", "hour": "7", "day_of_week": "*"}),
        ("weekdays 8:00", {"minute": "0", "hour": "8", "day_of_week": "mon-fri"}),
        ("weekly Monday 09:05", {"minute": "5", "hour": "9", "day_of_week": "mon"}),
        # Cron numbers Sunday as 0 or 7; APScheduler 3 would read 1-5 as tue-sat.
        ("30 7 * * 1-5", {"minute": "30", "hour": "7", "day_of_week": "mon-fri"}),
        ("0 9 1 * 0,7", {"minute": "0", "hour": "9", "day": "1", "day_of_week": "sun"}),
        # Steps and ranges count in cron's week (Sunday 0), so they are spelled out as days.
        ("0 7 * * 1-5/2", {"day_of_week": "mon,wed,fri"}),
        ("0 7 * * */2", {"day_of_week": "tue,thu,sat-sun"}),
        ("0 7 * * 0-6", {"day_of_week": "*"}),
        ("0 7 * * 0-3", {"day_of_week": "mon-wed,sun"}),
        ("0 7 * * 5-7", {"day_of_week": "fri-sun"}),
        ("0 7 * * fri-sun,2", {"day_of_week": "tue,fri-sun"}),
    ],
)
def test_schedules_become_cron_fields(text: str, fields: dict[str, str]) -> None:
    cron = parse_schedule(text).cron_fields()
    assert {key: cron[key] for key in fields} == fields


def test_two_profiles_with_one_address_are_refused(tmp_path: Path) -> None:
    write_profile(tmp_path, "a.toml", 'email = "a@example.org"\n')
    write_profile(tmp_path, "b.toml", 'email = "A@example.org"\n')
    with pytest.raises(ProfileError, match="also subscribed by"):
        load_profiles(tmp_path)


def test_subscribing_a_folder_with_one_bad_profile_changes_nothing(
    app: Recommender, tmp_path: Path
) -> None:
    write_profile(tmp_path, "a.toml", 'email = "a@example.org"\n')
    write_profile(tmp_path, "b.toml", 'email = "b@example.org"\ntimezone = "Nowhere/Land"\n')
    with pytest.raises(ProfileError, match="b.toml"):
        app.subscribe(tmp_path)
    assert app.subscribers() == []


def test_subscribing_a_folder_names_every_bad_profile_and_changes_nothing(
    app: Recommender, tmp_path: Path
) -> None:
    write_profile(tmp_path, "a.toml", 'email = "a@example.org"\n')
    write_profile(tmp_path, "b.toml", 'email = "b@example.org"\ntimezone = "Nowhere/Land"\n')
    write_profile(tmp_path, "c.toml", 'email = "c@example.org"\ndigest_sise = 5\n')
    write_profile(tmp_path, "d.toml", 'email = "a@example.org"\n')
    with pytest.raises(ProfileError) as error:
        app.subscribe(tmp_path)
    lines = str(error.value).splitlines()
    assert lines[0] == "3 profiles cannot be used:"
    assert [line.split(":")[0].strip() for line in lines[1:]] == [
        str(tmp_path / name) for name in ("b.toml", "c.toml", "d.toml")
    ]
    assert "'timezone'" in lines[1] and "digest_size" in lines[2] and "a.toml" in lines[3]
    assert app.subscribers() == []


P, Q = "p@example.org", "q@example.org"


def subscribed_p_and_q(folder: Path) -> tuple[Path, Path]:
    """p's file a.toml and q's b.toml, both applied."""
    a = write_profile(folder, "a.toml", f'email = "{P}"\ninterests = ["alpha"]\n')
    b = write_profile(folder, "b.toml", f'email = "{Q}"\ninterests = ["beta"]\ndigest_size = 3\n')
    return a, b


def test_a_file_taking_an_address_another_existing_file_holds_is_refused_and_changes_nothing(
    app: Recommender, tmp_path: Path
) -> None:
    a, b = subscribed_p_and_q(tmp_path)
    app.subscribe(tmp_path)
    before = app.subscribers()
    write_profile(tmp_path, "b.toml", f'email = "{P}"\ninterests = ["beta"]\ndigest_size = 3\n')
    with pytest.raises(ProfileError) as error:
        app.subscribe(b)
    # as a folder holding both files says it
    assert str(error.value) == f"{b}: field 'email': {P} is also subscribed by {a}"
    assert app.subscribers() == before
    # a.toml applied again finds p as it left them: the two files do not undo each other
    assert [o.action for o in app.subscribe(a)] == ["unchanged"]
    assert app.subscribers() == before


def test_a_copy_of_a_subscribers_file_is_refused_and_leaves_them_their_file(
    app: Recommender, tmp_path: Path
) -> None:
    a, _ = subscribed_p_and_q(tmp_path / "profiles")
    app.subscribe(a)
    copy = write_profile(tmp_path / "elsewhere", "copy.toml", a.read_text(encoding="utf-8"))
    with pytest.raises(
        ProfileError, match=re.escape(f"{copy}: field 'email': {P} is also subscribed by {a}")
    ):
        app.subscribe(copy)
    assert app.subscriber(P).profile_path == str(a)
    # a folder beside the subscriber's file is refused alike (serve reloads folders)
    with pytest.raises(ProfileError, match=re.escape(f"also subscribed by {a}")):
        app.subscribe(copy.parent)
    assert app.subscriber(P).profile_path == str(a)


def test_a_copy_of_the_shipped_example_takes_the_demos_subscriber_as_the_users_own(
    app: Recommender, tmp_path: Path
) -> None:
    example = resources.profiles_dir() / "example.toml"
    app.subscribe(example)  # as demo does
    copy = write_profile(tmp_path / "profiles", "ada.toml", example.read_text(encoding="utf-8"))
    assert [o.action for o in app.subscribe(copy)] == ["unchanged"]
    (subscriber,) = app.subscribers()
    assert subscriber.profile_path == str(copy)


def test_a_renamed_file_takes_its_subscriber_along(app: Recommender, tmp_path: Path) -> None:
    a, _ = subscribed_p_and_q(tmp_path)
    app.subscribe(a)
    renamed = a.rename(tmp_path / "p.toml")
    assert [o.action for o in app.subscribe(renamed)] == ["unchanged"]
    assert [(s.email, s.profile_path) for s in app.subscribers()] == [(P, str(renamed))]
    # renamed again, and a new file for someone else put where it was: it still moves
    moved = renamed.rename(tmp_path / "p2.toml")
    write_profile(tmp_path, "p.toml", 'email = "r@example.org"\n')
    write_profile(tmp_path, "p2.toml", f'email = "{P}"\ninterests = ["alpha", "gamma"]\n')
    assert [o.action for o in app.subscribe(moved)] == ["updated"]
    assert [(s.email, s.profile_path) for s in app.subscribers()] == [(P, str(moved))]
    assert app.subscriber(P).interests == ["alpha", "gamma"]


def test_a_file_taking_a_subscriber_whose_file_is_gone_is_theirs_alone(
    app: Recommender, tmp_path: Path
) -> None:
    a, b = subscribed_p_and_q(tmp_path)
    app.subscribe(b)
    app.subscribe(a)
    a.unlink()
    write_profile(tmp_path, "b.toml", f'email = "{P}"\ninterests = ["beta"]\ndigest_size = 3\n')
    assert [o.action for o in app.subscribe(b)] == ["updated"]
    assert [(s.email, s.profile_path, s.interests) for s in app.subscribers()] == [
        (P, str(b), ["beta"]),
        (Q, None, ["beta"]),  # b.toml names p now: q has no file
    ]
    # so b.toml's next address edit moves p, the subscriber it names, and not q
    write_profile(tmp_path, "b.toml", 'email = "r@example.org"\ninterests = ["beta"]\n')
    app.subscribe(b)
    assert [(s.email, s.profile_path) for s in app.subscribers()] == [
        (Q, None),
        ("r@example.org", str(b)),
    ]


def test_a_file_named_by_another_path_to_it_is_the_same_file(
    app: Recommender, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    a, _ = subscribed_p_and_q(tmp_path)
    app.subscribe(a)
    monkeypatch.chdir(tmp_path)
    assert [o.action for o in app.subscribe(Path("a.toml"))] == ["unchanged"]


def test_a_file_taking_an_address_whose_file_cannot_be_read_is_refused(
    app: Recommender, tmp_path: Path
) -> None:
    # Whether the unreadable file still names p cannot be told: nothing changes.
    a, b = subscribed_p_and_q(tmp_path)
    app.subscribe(a)
    a.write_text("email = \n", encoding="utf-8")
    write_profile(tmp_path, "b.toml", f'email = "{P}"\n')
    with pytest.raises(
        ProfileError, match=re.escape(f"{P} is subscribed by {a}, which cannot be read")
    ):
        app.subscribe(b)
    assert app.subscriber(P).profile_path == str(a)


def test_subscribing_again_updates_and_reports_what_changed(
    app: Recommender, tmp_path: Path
) -> None:
    path = write_profile(tmp_path, "a.toml", 'email = "a@example.org"\nname = "A"\n')
    assert [o.action for o in app.subscribe(path)] == ["created"]
    assert [o.action for o in app.subscribe(path)] == ["unchanged"]
    write_profile(
        tmp_path, "a.toml", 'email = "a@example.org"\nname = "A"\nschedule = "weekdays 08:00"\n'
    )
    assert [o.action for o in app.subscribe(path)] == ["updated"]
    assert app.subscriber("a@example.org").schedule == "weekdays 08:00"


def test_an_unsubscribe_survives_a_profile_reload(
    app: Recommender, clock: Clock, tmp_path: Path
) -> None:
    path = write_profile(tmp_path, "a.toml", 'email = "a@example.org"\n')
    app.subscribe(path)
    assert app.unsubscribe("A@example.org") is True
    assert app.unsubscribe("a@example.org") is False
    assert [o.action for o in app.subscribe(path)] == ["kept unsubscribed"]
    assert app.subscriber("a@example.org").active is False
    assert [o.action for o in app.subscribe(path, resubscribe=True)] == ["updated"]
    assert app.subscriber("a@example.org").active is True


def test_a_schedule_that_fires_rarely_but_surely_is_kept() -> None:
    assert parse_schedule("0 9 29 2 *").text == "0 9 29 2 *"  # once in four years


def test_a_name_too_long_for_its_column_is_refused_before_the_database(
    app: Recommender, tmp_path: Path
) -> None:
    path = write_profile(tmp_path, "a.toml", f'email = "a@example.org"\nname = "{"n" * 5000}"\n')
    with pytest.raises(ProfileError, match="'name': at most 200 characters, not 5000"):
        app.subscribe(path)
    assert app.subscribers() == []


def test_every_text_column_a_profile_fills_has_its_length_checked() -> None:
    limited = {
        column.name: column.type.length
        for column in Subscriber.__table__.columns
        if isinstance(column.type, String) and column.type.length
    }
    assert MAX_LENGTHS == limited


def test_a_profile_whose_path_is_too_long_to_store_is_refused(tmp_path: Path) -> None:
    folder = tmp_path
    while len(str(folder)) <= 1000:
        folder = folder / ("d" * 200)
    path = write_profile(folder, "a.toml", 'email = "a@example.org"\n')
    with pytest.raises(ProfileError, match="path is longer than 1000 characters"):
        load_profile(path)


# -- named interests, followed authors, must-not words -------------------------------------

INTERESTS = """email = "a@example.org"
authors = ["Yoshua Bengio"]
must_not = ["survey"]

[[interest]]
name = "MoE"
phrases = ["mixture of experts"]
liked = ["Switch Transformers"]
authors = ["N. Shazeer"]
share = 0.5
must = ["expert"]

[[interest]]
name = "Imaging"
phrases = ["medical imaging"]
"""


def test_a_profile_may_list_named_interests_each_with_a_share(tmp_path: Path) -> None:
    profile = load_profile(write_profile(tmp_path, "a.toml", INTERESTS))
    assert profile.topics == (
        Interest(
            "MoE",
            ("mixture of experts",),
            ("Switch Transformers",),
            ("N. Shazeer",),
            0.5,
            ("expert",),
        ),
        Interest("Imaging", ("medical imaging",), share=0.5),
    )
    assert profile.followed == ("Yoshua Bengio", "N. Shazeer")
    assert profile.must_not == ("survey",)
    assert (profile.interests, profile.liked) == ((), ())


def test_interests_without_a_share_split_what_the_others_leave(tmp_path: Path) -> None:
    body = 'email = "a@example.org"\n' + "".join(
        f'[[interest]]\nname = "t{i}"\nphrases = ["p{i}"]\n{share}\n'
        for i, share in enumerate(["share = 0.4", "", ""])
    )
    profile = load_profile(write_profile(tmp_path, "a.toml", body))
    assert [t.share for t in profile.topics] == [0.4, 0.3, 0.3]


def test_a_single_interest_profile_reads_as_before(tmp_path: Path) -> None:
    body = 'email = "a@example.org"\ninterests = ["graphs"]\nliked = ["A paper"]\n'
    profile = load_profile(write_profile(tmp_path, "a.toml", body))
    assert (profile.interests, profile.liked) == (("graphs",), ("A paper",))
    assert (profile.topics, profile.followed, profile.must_not) == ((), (), ())


@pytest.mark.parametrize(
    ("body", "field", "message"),
    [
        ('[[interest]]\nphrases = ["x"]\n', "interest 1.name", "every interest needs a name"),
        ('[[interest]]\nname = "  "\nphrases = ["x"]\n', "interest 1.name", "empty"),
        ('[[interest]]\nname = "a"\n', "interest 1.phrases", "needs phrases or liked"),
        (
            '[[interest]]\nname = "a"\nphrase = ["x"]\n',
            "interest 1.phrase",
            "did you mean 'phrases'",
        ),
        ('[[interest]]\nname = "a"\nphrases = "x"\n', "interest 1.phrases", "expected list"),
        ('[[interest]]\nname = "a"\nphrases = [1]\n', "interest 1.phrases", "item 1 is 1"),
        ('[[interest]]\nname = "a"\nphrases = ["x"]\nshare = 1.5\n', "interest 1.share", "0 and 1"),
        ('[[interest]]\nname = "a"\nphrases = ["x"]\nshare = 0\n', "interest 1.share", "0 and 1"),
        (
            '[[interest]]\nname = "a"\nphrases = ["x"]\nshare = true\n',
            "interest 1.share",
            "expected int or float",
        ),
        (
            '[[interest]]\nname = "a"\nphrases = ["x"]\n'
            '[[interest]]\nname = "A"\nphrases = ["y"]\n',
            "interest 2.name",
            "two interests are named 'A'",
        ),
        (
            '[[interest]]\nname = "a"\nphrases = ["x"]\nshare = 0.7\n'
            '[[interest]]\nname = "b"\nphrases = ["y"]\nshare = 0.6\n',
            "interest",
            "add up to 1.3",
        ),
        (
            f'[[interest]]\nname = "{"n" * 101}"\nphrases = ["x"]\n',
            "interest 1.name",
            "at most 100",
        ),
        ('interest = ["graphs"]\n', "interest", "write each one as an [[interest]] table"),
        ('authors = ["Smith"]\n', "authors", "a surname alone would follow everyone"),
        (
            '[[interest]]\nname = "a"\nphrases = ["x"]\nauthors = ["J."]\n',
            "interest 1.authors",
            "'J.' is not a full name",
        ),
        ('must_not = ["--"]\n', "must_not", "no letter or digit"),
        ('interests = ["graphs", "a\\u0000b"]\n', "interests", "item 2 has the control"),
        ('liked = ["x\\u202eevil"]\n', "liked", "control character '\\u202e'"),
        ('[[interest]]\nname = "a"\nphrases = ["x"]\nmust = [3]\n', "interest 1.must", "not text"),
        ('authors = "Ada Lovelace"\n', "authors", "expected list"),
        ('must_not = ["x"]\nmustnot = ["y"]\n', "mustnot", "did you mean 'must_not'"),
    ],
)
def test_a_bad_interest_author_or_word_is_refused_naming_the_field(
    tmp_path: Path, body: str, field: str, message: str
) -> None:
    path = write_profile(tmp_path, "a.toml", 'email = "a@example.org"\n' + body)
    with pytest.raises(ProfileError) as caught:
        load_profile(path)
    assert caught.value.field == field
    assert message in caught.value.message
    assert str(path) in str(caught.value)


def test_subscribing_stores_named_interests_authors_and_must_not_words(
    app: Recommender, tmp_path: Path
) -> None:
    path = write_profile(tmp_path, "a.toml", INTERESTS)
    assert [o.action for o in app.subscribe(path)] == ["created"]
    info = app.subscriber("a@example.org")
    assert [t["name"] for t in info.topics] == ["MoE", "Imaging"]
    assert info.topics[0]["must"] == ["expert"] and info.topics[0]["share"] == 0.5
    assert (info.authors, info.must_not) == (["Yoshua Bengio"], ["survey"])
    assert (info.interests, info.liked) == ([], [])
    assert [o.action for o in app.subscribe(path)] == ["unchanged"]
    write_profile(tmp_path, "a.toml", INTERESTS.replace("share = 0.5", "share = 0.6"))
    assert [o.action for o in app.subscribe(path)] == ["updated"]
    assert app.subscriber("a@example.org").topics[0]["share"] == 0.6


@pytest.mark.parametrize(
    ("written", "meant"),
    [
        ("Europe/Berln", "Europe/Berlin"),
        ("europe/berlin", "Europe/Berlin"),
        ("America/New York", "America/New_York"),
        ("Berlin", "Europe/Berlin"),
        ("Pacific/Aukland", "Pacific/Auckland"),
        ("UTC+2", "Etc/GMT-2"),  # POSIX signs: two hours ahead of UTC
    ],
)
def test_an_unknown_time_zone_is_refused_with_the_one_it_likely_meant(
    tmp_path: Path, written: str, meant: str
) -> None:
    path = write_profile(tmp_path, "a.toml", f'email = "a@example.org"\ntimezone = "{written}"\n')
    with pytest.raises(ProfileError) as refused:
        load_profiles(path)
    assert str(refused.value) == (
        f"{path}: field 'timezone': unknown time zone {written!r}; did you mean {meant!r}?"
    )


def test_toml_nested_too_deeply_is_refused_not_a_crash(tmp_path: Path) -> None:
    body = 'email = "a@example.org"\ninterests = ' + "[" * 5000 + "]" * 5000 + "\n"
    path = write_profile(tmp_path, "deep.toml", body)
    with pytest.raises(ProfileError, match=r"deep\.toml: not valid TOML: nested too deeply"):
        load_profile(path)


def test_a_schedule_that_is_not_text_is_named_once(tmp_path: Path) -> None:
    path = write_profile(tmp_path, "a.toml", 'email = "a@example.org"\nschedule = 730\n')
    with pytest.raises(ProfileError) as refused:
        load_profile(path)
    assert str(refused.value) == f"{path}: field 'schedule': expected str, got 730"


@pytest.mark.parametrize("character", ["\\u0000", "\\u001b", "\\u202e"])
def test_about_with_a_control_character_is_refused_naming_the_field_and_stores_nothing(
    app: Recommender, tmp_path: Path, character: str
) -> None:
    write_profile(tmp_path, "a.toml", 'email = "a@example.org"\n')
    body = f'email = "b@example.org"\nabout = """Line one\n\tand two{character}."""\n'
    bad = write_profile(tmp_path, "b.toml", body)
    with pytest.raises(ProfileError) as refused:
        app.subscribe(tmp_path)
    assert str(refused.value).startswith(f"{bad}: field 'about': control character")
    assert app.subscribers() == []
    fine = write_profile(tmp_path, "b.toml", body.replace(character, "\\r\\n"))
    assert load_profile(fine).about == "Line one\n\tand two\r\n."


@pytest.mark.parametrize(
    ("first", "second"),
    [("Deep RL", "deep  rl"), ("Caf\\u00e9", "Cafe\\u0301"), ("Vision", "\\uff36ision")],
)
def test_two_interests_named_alike_but_for_spacing_or_unicode_form_are_refused(
    tmp_path: Path, first: str, second: str
) -> None:
    body = (
        f'email = "a@example.org"\n[[interest]]\nname = "{first}"\nphrases = ["x"]\n'
        f'[[interest]]\nname = "{second}"\nphrases = ["y"]\n'
    )
    with pytest.raises(ProfileError) as refused:
        load_profile(write_profile(tmp_path, "a.toml", body))
    assert refused.value.field == "interest 2.name"
    assert "two interests are named" in refused.value.message


@pytest.mark.parametrize(
    ("body", "field", "message"),
    [
        (f'interests = ["ok", "{"x" * 100_000}"]\n', "interests", "item 2 is 100000 characters"),
        (
            f'[[interest]]\nname = "a"\nphrases = ["{"x " * 50_000}"]\n',
            "interest 1.phrases",
            "item 1 is 99999 characters",
        ),
        (f'must_not = ["{"x" * 401}"]\n', "must_not", "at most 400"),
        (f'about = "{"x" * 20_001}"\n', "about", "at most 20000 characters, not 20001"),
    ],
)
def test_an_entry_or_about_text_longer_than_any_title_or_note_is_refused(
    tmp_path: Path, body: str, field: str, message: str
) -> None:
    path = write_profile(tmp_path, "a.toml", 'email = "a@example.org"\n' + body)
    with pytest.raises(ProfileError) as refused:
        load_profile(path)
    assert (refused.value.field, refused.value.source) == (field, str(path))
    assert message in refused.value.message


@pytest.mark.parametrize(
    ("body", "field", "matched"),
    [
        ('must_not = ["c++"]\n', "must_not", "'c'"),
        ('must_not = ["deep.*"]\n', "must_not", "'deep'"),
        ('must_not = ["(survey|review)"]\n', "must_not", "'survey review'"),
        ('[[interest]]\nname = "a"\nphrases = ["x"]\nmust = ["C#"]\n', "interest 1.must", "'C'"),
    ],
)
def test_a_must_word_with_symbols_that_would_not_be_matched_is_refused(
    tmp_path: Path, body: str, field: str, matched: str
) -> None:
    path = write_profile(tmp_path, "a.toml", 'email = "a@example.org"\n' + body)
    with pytest.raises(ProfileError) as refused:
        load_profile(path)
    assert refused.value.field == field
    assert f"would match {matched} alone" in refused.value.message
    fine = 'must_not = ["R&D", "self-supervised", "U.S.", "O\'Brien", "3:1"]\n'
    fine_path = write_profile(tmp_path, "b.toml", 'email = "a@example.org"\n' + fine)
    assert len(load_profile(fine_path).must_not) == 5
