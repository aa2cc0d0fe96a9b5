"""The service: scheduler jobs and web endpoints, run for real on loopback."""

from __future__ import annotations

import logging
import re
from collections.abc import Callable, Iterator
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from email.message import EmailMessage
from pathlib import Path

import httpx
import pytest

from recommender import scheduler as jobs
from recommender.config import Settings
from recommender.core import Recommender
from recommender.service import Service
from tests.builders import Entry, dump_text
from tests.catalogue import ABSTRACTS, EMAIL, TOPICS, profile, topical_dump
from tests.clock import Clock, saved_at_the_test_clock
from tests.concurrency import at_once, wait_for
from tests.mail import hrefs, parts
from tests.mailserver import MailServer, free_port


def drop(inbox: Path, name: str, text: str) -> None:
    inbox.mkdir(parents=True, exist_ok=True)
    path = inbox / name
    path.write_text(text)
    # settled (not a file still being copied), and saved on the test clock's day
    saved_at_the_test_clock(path)


def fire(service: Service, job_id: str) -> None:
    service.scheduler.modify_job(job_id, next_run_time=datetime.now(UTC))


@pytest.fixture
def service(
    settings: Settings, mail_server: MailServer, clock: Clock, tmp_path: Path
) -> Iterator[Service]:
    port = free_port()
    configured = replace(
        settings,
        smtp_host=mail_server.host,
        smtp_port=mail_server.port,
        smtp_security="none",
        base_url=f"http://127.0.0.1:{port}",
        inbox_dir=tmp_path / "inbox",
        profiles_dir=tmp_path / "profiles",
    )
    (tmp_path / "profiles").mkdir()
    with Recommender(configured, clock=clock) as app:
        running = Service(app, "127.0.0.1", port)
        running.start_in_background()
        try:
            yield running
        finally:
            running.stop()


@pytest.fixture
def first_digest(service: Service, mail_server: MailServer, tmp_path: Path) -> EmailMessage:
    """A subscriber's first digest, sent through the service's mail settings."""
    service.app.ingest([topical_dump(tmp_path / "d.txt")])
    service.app.subscribe(profile(tmp_path))
    service.app.send(EMAIL)
    (received,) = mail_server.received
    return received.message


def test_dumps_in_the_inbox_are_ingested_and_bad_ones_quarantined(
    service: Service, tmp_path: Path
) -> None:
    inbox = tmp_path / "inbox"
    drop(inbox, "good.txt", topical_dump(tmp_path / "d.txt").read_text())
    drop(inbox, "bad.txt", "<html><body>not a dump</body></html>\n")
    fire(service, jobs.INBOX_JOB)
    wait_for(lambda: not list(inbox.glob("*.txt")))
    assert service.app.stats()["papers"] == 9
    assert (inbox / "processed" / "good.txt").exists()
    assert (inbox / "quarantine" / "bad.txt").exists()
    assert "bad.txt" in (inbox / "quarantine" / "bad.txt.error.txt").read_text()


def test_the_inbox_logs_a_title_listed_twice_and_quarantines_a_dump_dated_ahead(
    service: Service, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="recommender.scheduler")
    inbox = tmp_path / "inbox"
    twice = [Entry("Same Title", "Abstract A."), Entry("Other", "B."), Entry("Same Title", "C.")]
    drop(inbox, "twice.txt", dump_text(twice))
    drop(inbox, "ahead.txt", dump_text([Entry("Later", "D.")], "Mar 20, 2030"))
    fire(service, jobs.INBOX_JOB)
    wait_for(lambda: not list(inbox.glob("*.txt")))
    assert service.app.stats()["papers"] == 2
    (repeat,) = [r for r in caplog.records if "is listed again" in r.getMessage()]
    assert repeat.levelno == logging.WARNING
    assert repeat.getMessage().startswith(f"{inbox / 'twice.txt'}:19: 'Same Title' is listed")
    reason = (inbox / "quarantine" / "ahead.txt.error.txt").read_text()
    assert "the listing day 'Mar 20, 2030' → 2030-03-20" in reason


def test_the_feedback_loop_from_inbox_to_digest_to_rating_link_and_back(
    service: Service, mail_server: MailServer, clock: Clock, tmp_path: Path
) -> None:
    app = service.app
    inbox = tmp_path / "inbox"
    drop(inbox, "day1.txt", topical_dump(tmp_path / "d.txt").read_text())
    fire(service, jobs.INBOX_JOB)
    wait_for(lambda: app.stats()["papers"] == 9)

    # A new profile in the watched folder: subscribed and scheduled without a restart.
    profile_file = tmp_path / "profiles" / "ada.toml"
    profile_file.write_text(profile(tmp_path).read_text() + 'schedule = "daily 07:30"\n')
    fire(service, jobs.SYNC_JOB)
    wait_for(lambda: service.scheduler.get_job(jobs.DIGEST_PREFIX + EMAIL) is not None)

    fire(service, jobs.DIGEST_PREFIX + EMAIL)
    wait_for(lambda: len(mail_server.received) == 1)
    text, html = parts(mail_server.received[0].message)

    # Follow the thumbs-up link of a speech paper, as a person would: GET, then the POST.
    base = app.settings.base_url
    speech = next(title for title in TOPICS["speech"] if title in html)
    block = html[html.index(speech) :]
    up = next(u for u in hrefs(block) if u.startswith(f"{base}/r/"))
    with httpx.Client() as client:
        page = client.get(up)
        assert page.status_code == 200
        assert speech in page.text and 'method="post"' in page.text
        assert app.ratings(EMAIL) == []  # a GET changes nothing
        done = client.post(up)
        assert done.status_code == 200 and "Thank you" in done.text
    (rating,) = app.ratings(EMAIL)
    assert (rating.title, rating.vote, rating.source) == (speech, "up", "web")

    # The next day's papers: the rated topic now ranks above the one never rated.
    clock.now += timedelta(days=1)
    entries = [
        Entry(f"{title}, Revisited", f"{ABSTRACTS[topic]} Sequel {n}.")
        for topic, titles in TOPICS.items()
        for n, title in enumerate(titles)
    ]
    drop(inbox, "day2.txt", dump_text(entries, "Mar 21"))
    fire(service, jobs.INBOX_JOB)
    wait_for(lambda: app.stats()["papers"] == 18)
    fire(service, jobs.DIGEST_PREFIX + EMAIL)
    wait_for(lambda: len(mail_server.received) == 2)
    second = parts(mail_server.received[1].message)[0]
    order = re.findall(r"^\d+\. (.+?)\r?$", second, re.M)
    topics = [next(t for t, titles in TOPICS.items() if any(x in o for x in titles)) for o in order]
    assert "speech" in topics
    assert topics.index("speech") < topics.index("vision") if "vision" in topics else True


def test_unsubscribing_takes_a_confirmation_or_a_one_click_post(
    service: Service, first_digest: EmailMessage
) -> None:
    app = service.app
    message = first_digest
    url = re.findall(r"<([^>]+)>", message["List-Unsubscribe"])[0]
    with httpx.Client() as client:
        page = client.get(url)
        assert page.status_code == 200 and "Stop the digests?" in page.text
        assert app.subscriber(EMAIL).active
        one_click = client.post(url, data={"List-Unsubscribe": "One-Click"})
        assert one_click.status_code == 200
    assert not app.subscriber(EMAIL).active


def test_a_tampered_or_expired_link_gets_a_friendly_page_and_changes_nothing(
    service: Service, first_digest: EmailMessage, clock: Clock
) -> None:
    app = service.app
    html = parts(first_digest)[1]
    base = app.settings.base_url
    up = next(u for u in hrefs(html) if u.startswith(f"{base}/r/"))
    tampered = up[:-3] + ("xyz" if not up.endswith("xyz") else "abc")
    with httpx.Client() as client:
        bad = client.post(tampered)
        assert bad.status_code == 400 and "does not work" in bad.text
        clock.now += timedelta(days=61)
        old = client.post(up)
        assert old.status_code == 410 and "expired" in old.text
        unsubscribe = next(u for u in hrefs(html) if "/unsubscribe/" in u)
        assert client.post(unsubscribe.replace("/unsubscribe/", "/r/")).status_code == 400
    assert app.ratings(EMAIL) == []
    assert app.subscriber(EMAIL).active


def test_the_digest_view_and_the_manage_page_work_in_a_browser(
    service: Service, first_digest: EmailMessage
) -> None:
    app = service.app
    html = parts(first_digest)[1]
    view = next(u for u in hrefs(html) if "/digest/" in u)
    manage = next(u for u in hrefs(html) if "/manage/" in u)
    with httpx.Client() as client:
        shown = client.get(view)
        first = re.findall(r"^1\. (.+?)\r?$", parts(first_digest)[0], re.M)[0]
        assert shown.status_code == 200 and first in shown.text
        page = client.get(manage)
        assert page.status_code == 200 and "graph neural networks" in page.text
        saved = client.post(manage, data={"interests": "speech recognition\nspeaker diarization"})
        assert saved.status_code == 200 and "saved" in saved.text
    assert app.subscriber(EMAIL).interests == ["speech recognition", "speaker diarization"]


def test_two_senders_on_one_database_send_a_scheduled_digest_once(
    settings: Settings, mail_server: MailServer, clock: Clock, tmp_path: Path
) -> None:
    configured = replace(
        settings, smtp_host=mail_server.host, smtp_port=mail_server.port, smtp_security="none"
    )
    with Recommender(configured, clock=clock) as setup:
        setup.ingest([topical_dump(tmp_path / "d.txt")])
        setup.subscribe(profile(tmp_path))
        setup.init()
    slot = jobs.scheduled_slot("daily 07:30", "UTC", clock())

    def sender(ready: Callable[[], None]) -> None:
        with Recommender(configured, clock=clock) as app:  # its own engine and connections
            app.embed_papers()
            ready()
            app.send_scheduled(EMAIL, slot)

    at_once(sender)
    assert len(mail_server.received) == 1
    with Recommender(configured, clock=clock) as app:
        assert app.outbox() == []
