"""Subscribing a folder of profiles again, as ``serve`` does when a file changes: what a
subscriber changed on their manage page stands, an edited file sets what it edited, and no
file undoes an unsubscribe."""

from __future__ import annotations

import re
from pathlib import Path

from sqlalchemy import select, update

from recommender.config import Settings
from recommender.core import PaperQuery, Recommender
from recommender.store.models import Subscriber
from tests.catalogue import topical_dump
from tests.clock import Clock
from tests.mail import parts, smtp_settings
from tests.mailserver import MailServer

ADA, BOB = "ada@example.org", "bob@example.org"


def write(folder: Path, name: str, body: str) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / name
    path.write_text(body, encoding="utf-8")
    return path


def ada_file(folder: Path, **fields: str | int) -> Path:
    """Ada's profile, ``fields`` changed or added."""
    values = {"name": "Ada", "schedule": "daily 07:30", "digest_size": 10, **fields}
    lines = [f"{k} = {v}" if isinstance(v, int) else f'{k} = "{v}"' for k, v in values.items()]
    return write(
        folder, "ada.toml", f'email = "{ADA}"\ninterests = ["graphs"]\n' + "\n".join(lines)
    )


def bob_file(folder: Path, extra: str = "") -> Path:
    return write(folder, "bob.toml", f'email = "{BOB}"\ninterests = ["speech"]\n{extra}')


def manage_token(app: Recommender, email: str) -> str:
    """The token of the manage link a digest to ``email`` carries."""
    with app.engine.connect() as connection:
        subscriber_id = connection.scalar(select(Subscriber.id).where(Subscriber.email == email))
    assert subscriber_id is not None
    return app.signer().manage(subscriber_id)


def change_on_the_web(app: Recommender, email: str) -> None:
    """What Ada does on her manage page: new settings, and a pause."""
    token = manage_token(app, email)
    app.pages.change_settings(
        token,
        {
            "schedule": "weekdays 08:00",
            "timezone": "Europe/Berlin",
            "digest_size": "5",
            "min_score": "0.2",
        },
    )
    app.pages.pause_from_manage_link(token)


def settings_of(app: Recommender, email: str) -> tuple[object, ...]:
    info = app.subscriber(email)
    return (info.schedule, info.timezone, info.digest_size, info.min_score, info.paused)


WEB = ("weekdays 08:00", "Europe/Berlin", 5, 0.2, True)


def test_a_web_change_survives_a_reload_after_another_subscribers_file_is_edited(
    app: Recommender, tmp_path: Path
) -> None:
    folder = tmp_path / "profiles"
    ada_file(folder)
    bob_file(folder)
    assert [o.action for o in app.subscribe(folder)] == ["created", "created"]
    change_on_the_web(app, ADA)

    bob_file(folder, 'schedule = "daily 18:00"\n')
    ada, bob = app.subscribe(folder)
    assert (ada.action, ada.changed, ada.fields) == ("kept own changes", False, ())
    assert ada.kept == ("schedule", "timezone", "digest_size", "min_score", "paused")
    assert (bob.action, bob.fields) == ("updated", ("schedule",))
    assert settings_of(app, ADA) == WEB
    assert app.subscriber(BOB).schedule == "daily 18:00"
    # And again, with nothing edited: nothing is touched at all.
    assert [o.changed for o in app.subscribe(folder)] == [False, False]
    assert settings_of(app, ADA) == WEB


def test_editing_a_subscribers_own_file_sets_what_was_edited_and_keeps_the_rest(
    app: Recommender, tmp_path: Path
) -> None:
    folder = tmp_path / "profiles"
    ada_file(folder)
    app.subscribe(folder)
    change_on_the_web(app, ADA)

    ada_file(folder, timezone="America/New_York", digest_size=20)
    (ada,) = app.subscribe(folder)
    assert (ada.action, ada.fields) == ("updated", ("timezone", "digest_size"))
    assert settings_of(app, ADA) == ("weekdays 08:00", "America/New_York", 20, 0.2, True)
    # The operator's explicit ask sets the whole file, and says so.
    (ada,) = app.subscribe(folder / "ada.toml", overwrite=True)
    assert (ada.action, ada.fields) == ("updated", ("schedule", "min_score", "paused"))
    assert settings_of(app, ADA) == ("daily 07:30", "America/New_York", 20, None, False)


def test_a_web_unsubscribe_stays_after_every_kind_of_reload(
    app: Recommender, tmp_path: Path
) -> None:
    folder = tmp_path / "profiles"
    ada_file(folder)
    app.subscribe(folder)
    token = manage_token(app, ADA)
    assert app.pages.subscribe_from_manage_link(token, subscribed=False).active is False

    assert [o.action for o in app.subscribe(folder)] == ["kept unsubscribed"]
    ada_file(folder, schedule="daily 18:00")
    (ada,) = app.subscribe(folder)
    assert (ada.action, ada.fields) == ("kept unsubscribed", ("schedule",))
    assert [o.action for o in app.subscribe(folder, overwrite=True)] == ["kept unsubscribed"]
    info = app.subscriber(ADA)
    assert (info.active, info.schedule) == (False, "daily 18:00")
    assert ADA not in app.schedules()
    # Only the explicit ask starts their digests again.
    assert [o.action for o in app.subscribe(folder, resubscribe=True)] == ["updated"]
    assert app.subscriber(ADA).active is True


def test_a_subscriber_who_signed_up_on_the_web_is_untouched_by_reloads(
    settings: Settings, mail_server: MailServer, clock: Clock, tmp_path: Path
) -> None:
    configured = smtp_settings(settings, mail_server, signup=True)
    with Recommender(configured, clock=clock) as app:
        app.pages.sign_up("grace@example.org", "Grace", "speech\nspeaker id", client="192.0.2.1")
        (mail,) = mail_server.received
        text, _ = parts(mail.message)
        (token,) = re.findall(r"/signup/confirm/(\S+)", text)
        assert app.pages.confirm_signup_link(token).created
        change_on_the_web(app, "grace@example.org")
        before = app.subscriber("grace@example.org")

        folder = tmp_path / "profiles"
        ada_file(folder)
        app.subscribe(folder)
        ada_file(folder, schedule="daily 18:00")
        app.subscribe(folder)
        assert app.subscriber("grace@example.org") == before
        assert before.profile_path is None and before.interests == ["speech", "speaker id"]


def test_a_subscriber_applied_before_files_were_recorded_keeps_their_settings(
    app: Recommender, tmp_path: Path
) -> None:
    folder = tmp_path / "profiles"
    ada_file(folder)
    app.subscribe(folder)
    # As migration 0010 leaves a subscriber applied from a file before it.
    with app.engine.begin() as connection:
        connection.execute(update(Subscriber).values(applied_profile=None))
    change_on_the_web(app, ADA)

    (ada,) = app.subscribe(folder)
    assert (ada.action, ada.changed) == ("kept own changes", False)
    assert settings_of(app, ADA) == WEB
    # The file now counts as applied: its next edit sets what it edits.
    ada_file(folder, timezone="Asia/Tokyo")
    (ada,) = app.subscribe(folder)
    assert (ada.action, ada.fields) == ("updated", ("timezone",))
    assert settings_of(app, ADA) == ("weekdays 08:00", "Asia/Tokyo", 5, 0.2, True)


def test_a_file_written_for_a_subscriber_who_had_none_sets_every_field(
    app: Recommender, tmp_path: Path
) -> None:
    folder = tmp_path / "profiles"
    bob_file(folder)
    app.subscribe(folder)
    with app.engine.begin() as connection:  # as a web sign-up leaves them: no file
        connection.execute(update(Subscriber).values(profile_path=None, applied_profile=None))
    change_on_the_web(app, BOB)

    (bob,) = app.subscribe(folder)
    assert bob.action == "updated"
    assert settings_of(app, BOB) == ("daily 07:30", "UTC", 10, None, False)


def test_a_file_whose_address_is_edited_moves_its_subscriber_with_their_ratings(
    app: Recommender, tmp_path: Path
) -> None:
    folder = tmp_path / "profiles"
    app.ingest([topical_dump(tmp_path / "d.txt")])
    bob_file(folder)
    app.subscribe(folder)
    (paper, *_) = app.papers(PaperQuery(limit=1))[0]
    app.rate(BOB, paper.id, "up")
    moved = "bob.new@example.org"
    write(folder, "bob.toml", f'email = "{moved}"\ninterests = ["speech"]\n')
    (bob,) = app.subscribe(folder)
    assert (bob.email, bob.action, bob.fields) == (moved, "updated", ("email",))
    # one subscriber, not a second beside the first: the person gets one digest
    assert [s.email for s in app.subscribers()] == [moved]
    assert [r.paper_id for r in app.ratings(moved)] == [paper.id]
    # another file taking the old address makes a new subscriber of it
    write(folder, "old.toml", f'email = "{BOB}"\ninterests = ["graphs"]\n')
    app.subscribe(folder)
    assert sorted(s.email for s in app.subscribers()) == sorted([BOB, moved])
