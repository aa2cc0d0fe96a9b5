"""Which papers a digest holds and whether one is made: no paper twice, nothing new, previews
that record nothing, paused subscribers (and resumed ones), and a digest recorded once."""

from __future__ import annotations

import re
from datetime import date, timedelta
from email.message import EmailMessage
from pathlib import Path

import pytest
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from recommender.config import Settings
from recommender.core import Recommender
from recommender.scheduler import scheduled_slot
from recommender.sources.base import SourceDay, SourcePaper
from recommender.store import digests as digest_store
from recommender.store.models import DigestPaper
from recommender.store.papers import add_source_day
from tests.catalogue import EMAIL, TOPICS, profile, topical_dump
from tests.clock import Clock
from tests.mail import parts, smtp_settings
from tests.mailserver import MailServer


def test_sending_again_right_after_sends_nothing_new(
    mailing: Recommender, mail_server: MailServer
) -> None:
    mailing.send(EMAIL)
    report = mailing.send(EMAIL)
    assert [c.status for c in report.composed] == ["nothing new"]
    assert report.delivered == []
    assert len(mail_server.received) == 1


def test_a_paper_liked_in_the_profile_is_left_out_of_the_digest(
    mailing: Recommender, mail_server: MailServer, tmp_path: Path
) -> None:
    liked = TOPICS["graphs"][1]
    path = profile(tmp_path)
    path.write_text(path.read_text() + f'liked = ["{liked}"]\n')
    mailing.subscribe(path)
    mailing.send(EMAIL)
    (received,) = mail_server.received
    listed = re.findall(r"^\d+\. (.+?)\r?$", parts(received.message)[0], re.M)
    assert liked not in listed
    assert set(listed) & {TOPICS["graphs"][0], TOPICS["graphs"][2]}  # its topic still counts


def test_a_paper_liked_by_its_arxiv_id_is_left_out_of_the_digest(
    mailing: Recommender, mail_server: MailServer, clock: Clock, tmp_path: Path
) -> None:
    title = "Zorblat: A Quixotic Treatise"
    day = SourceDay(
        "hf",
        clock.now.date(),
        papers=(SourcePaper("hf", title, "We route.", (), "2603.18101", None, clock.now.date()),),
    )
    with mailing._sessions() as session, session.begin():
        add_source_day(session, day, clock.now)
    path = profile(tmp_path)
    path.write_text(path.read_text() + 'liked = ["https://arxiv.org/abs/2603.18101v2"]\n')
    mailing.subscribe(path)
    mailing.send(EMAIL)
    (received,) = mail_server.received
    listed = re.findall(r"^\d+\. (.+?)\r?$", parts(received.message)[0], re.M)
    assert listed and title not in listed


def test_papers_of_a_later_day_make_the_next_digest_without_repeats(
    mailing: Recommender, mail_server: MailServer, clock: Clock, tmp_path: Path
) -> None:
    mailing.send(EMAIL)
    clock.now += timedelta(days=1)
    later = tmp_path / "later.txt"
    text = topical_dump(tmp_path / "tmp.txt", "Mar 21").read_text()
    for titles in TOPICS.values():
        for title in titles:
            text = text.replace(title, f"{title}, Revisited")
    later.write_text(text)
    mailing.ingest([later], reference_date=date(2026, 3, 22))
    mailing.send(EMAIL)
    first, second = (set(_titles(r.message)) for r in mail_server.received)
    assert first and second and not first & second
    assert all(title.endswith("Revisited") for title in second), second


def _titles(message: EmailMessage) -> list[str]:
    text = parts(message)[0]
    return [t.strip() for t in re.findall(r"^\d+\. (?:\[Something different\] )?(.+)$", text, re.M)]


def test_a_preview_is_written_and_nothing_is_recorded(
    mailing: Recommender, mail_server: MailServer
) -> None:
    best = mailing.recommend(EMAIL, top=1)[0].title
    outcome, path = mailing.preview(EMAIL)
    assert path is not None and path.read_text().startswith("<!DOCTYPE html>")
    assert best in path.read_text()
    assert mailing.outbox() == []
    mailing.send(EMAIL)
    assert len(mail_server.received) == 1  # the preview did not use up the papers


def test_nothing_qualifying_sends_no_mail_unless_a_note_is_wanted(
    settings: Settings, mail_server: MailServer, clock: Clock, tmp_path: Path
) -> None:
    with Recommender(smtp_settings(settings, mail_server), clock=clock) as app:
        app.subscribe(profile(tmp_path))
        assert [c.status for c in app.send(EMAIL).composed] == ["nothing new"]
    assert mail_server.received == []
    noted = smtp_settings(settings, mail_server, nothing_new_note=True)
    with Recommender(noted, clock=clock) as app:
        app.send(EMAIL)
        app.send(EMAIL)  # one note a day at most
    (note,) = mail_server.received
    assert note.message["Subject"].endswith("nothing new")


def test_a_paused_or_unsubscribed_subscriber_gets_nothing(
    mailing: Recommender, mail_server: MailServer, tmp_path: Path
) -> None:
    mailing.unsubscribe(EMAIL)
    assert [c.status for c in mailing.send().composed] == []
    assert [c.status for c in mailing.send(EMAIL).composed] == ["unsubscribed"]
    assert mail_server.received == []


def test_a_paused_subscriber_gets_no_digest_and_gets_it_after_resuming(
    mailing: Recommender, mail_server: MailServer, clock: Clock
) -> None:
    (unpaused,) = mailing.compose(EMAIL, dry_run=True)  # what their digest would hold now
    assert unpaused.status == "recorded" and unpaused.message is not None
    assert mailing.pause(EMAIL) and not mailing.pause(EMAIL)
    assert EMAIL not in mailing.schedules()  # the service drops their digest job
    slot = scheduled_slot("daily 07:30", "UTC", clock())
    for _ in range(3):  # a job that fires before the service has heard of the pause
        assert [c.status for c in mailing.send_scheduled(EMAIL, slot).composed] == ["paused"]
        assert [c.status for c in mailing.send().composed] == []
        assert [c.status for c in mailing.send(EMAIL).composed] == ["paused"]
        clock.now += timedelta(days=1)
    assert mail_server.received == [] and mailing.outbox(include_sent=True) == []

    assert mailing.resume(EMAIL) and not mailing.resume(EMAIL)
    assert mailing.schedules()[EMAIL] == ("daily 07:30", "UTC")
    slot = scheduled_slot("daily 07:30", "UTC", clock())
    (composed,) = mailing.send_scheduled(EMAIL, slot).composed
    assert composed.status == "recorded"
    (received,) = mail_server.received  # one digest, not one for each day paused
    # nothing that arrived before or while paused was used up
    assert numbered_titles(parts(received.message)[0]) == numbered_titles(unpaused.message.decode())
    assert len(numbered_titles(unpaused.message.decode())) == unpaused.papers > 0


def numbered_titles(text: str) -> list[str]:
    """The titles of a digest's text part, in order."""
    return re.findall(r"^\d+\. (.+?)\r?$", text, re.MULTILINE)


def test_a_digest_recorded_twice_is_refused_quietly(
    mailing: Recommender, capfd: pytest.CaptureFixture[str], caplog: pytest.LogCaptureFixture
) -> None:
    """Two senders recording one digest collide on its papers; the loser's rollback is
    expected and handled. On PostgreSQL the papers go in by ``executemany``, which psycopg
    runs in pipeline mode; when the refusal came back while it was still sending (a batch
    of many digests), it logged the aborted pipeline as a warning on stderr."""
    (first,) = mailing.compose(EMAIL)
    with mailing._session() as session:
        taken = session.scalars(
            select(DigestPaper).where(DigestPaper.digest_id == first.digest_id)
        ).first()
    assert taken is not None
    line = digest_store.DigestLine(taken.paper_id, taken.score, taken.reason, False)
    again = digest_store.NewDigest(
        taken.subscriber_id, "digest", None, "<again@example.org>", [line] * 5000, "x", b"x"
    )
    with pytest.raises(IntegrityError):
        with mailing._session() as session, session.begin():
            digest_store.record_digests(session, [again], mailing.clock())
    # a command's stderr gets what is logged (no logging is set up); here pytest takes it
    assert [r.getMessage() for r in caplog.records] == []
    assert capfd.readouterr().err == ""
    assert [e.digest_id for e in mailing.outbox()] == [first.digest_id]  # still usable
