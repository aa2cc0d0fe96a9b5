"""The digest end to end: chosen, rendered, recorded and delivered to a real SMTP server."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from collections.abc import Callable, Iterator
from dataclasses import replace
from datetime import date, timedelta
from email.message import EmailMessage
from html import unescape
from pathlib import Path

import pytest
from click.testing import CliRunner, Result
from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError

from recommender import core, dumps, links
from recommender.cli import cli
from recommender.config import Settings
from recommender.core import DigestNotFound, Recommender
from recommender.mailer import (
    FileTransport,
    Outgoing,
    PermanentDeliveryError,
    SmtpSettings,
    SmtpTransport,
    TransientDeliveryError,
)
from recommender.message import POLICY
from recommender.store import digests as digest_store
from recommender.store import papers as paper_store
from recommender.store.models import Digest, DigestPaper, Subscriber
from tests.conftest import Clock, at_once
from tests.mailserver import LOGIN, MailServer
from tests.test_cli import run
from tests.test_ranking import EMAIL, TOPICS, profile, topical_dump

BASE_URL = "https://papers.example.org"


def smtp_settings(settings: Settings, server: MailServer, **more: object) -> Settings:
    return replace(
        settings,
        smtp_host=server.host,
        smtp_port=server.port,
        smtp_security="none",
        base_url=BASE_URL,
        mail_from="Paper digest <digest@example.org>",
        **more,  # type: ignore[arg-type]
    )


@pytest.fixture
def mailing(
    settings: Settings, mail_server: MailServer, clock: Clock, tmp_path: Path
) -> Iterator[Recommender]:
    with Recommender(smtp_settings(settings, mail_server), clock=clock) as app:
        yield topical_day(app, tmp_path)


def topical_day(app: Recommender, tmp_path: Path) -> Recommender:
    """``app`` with the day of topical papers ingested and the test subscriber subscribed."""
    app.ingest([topical_dump(tmp_path / "d.txt")], reference_date=date(2026, 3, 21))
    app.subscribe(profile(tmp_path))
    return app


def hrefs(html: str) -> list[str]:
    return re.findall(r'href="([^"]+)"', html)


def parts(message: EmailMessage) -> tuple[str, str]:
    text = message.get_body(preferencelist=("plain",))
    html = message.get_body(preferencelist=("html",))
    assert text is not None and html is not None
    return text.get_content(), html.get_content()


def test_a_digest_arrives_with_both_parts_the_headers_and_working_links(
    mailing: Recommender, mail_server: MailServer
) -> None:
    report = mailing.send(EMAIL)
    assert [d.state for d in report.delivered] == ["sent"]
    (received,) = mail_server.received
    assert received.rcpt_tos == [EMAIL]
    message = received.message
    assert message.get_content_type() == "multipart/alternative"
    assert [p.get_content_type() for p in message.iter_parts()] == ["text/plain", "text/html"]
    assert message["From"] == "Paper digest <digest@example.org>"
    assert message["To"].addresses[0].addr_spec == EMAIL
    assert re.fullmatch(r"Paper digest for Sat 21 Mar 2026: \d+ new papers?", message["Subject"])
    assert message["Date"].datetime == mailing.clock()
    assert message["Message-ID"].endswith("@papers.example.org>")
    unsubscribe = re.findall(r"<([^>]+)>", message["List-Unsubscribe"])
    assert unsubscribe[0].startswith(f"{BASE_URL}/unsubscribe/")
    assert unsubscribe[1].startswith("mailto:digest@example.org")
    assert message["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"

    text, html = parts(message)
    signer = mailing.signer()
    votes = {}
    for url in hrefs(html):
        if url.startswith(f"{BASE_URL}/r/"):
            token = signer.check_rating(url.rsplit("/", 1)[1])
            votes.setdefault(token.paper_id, set()).add(token.vote)
            assert url in text  # the text part carries the same links
    assert votes and all(v == {"up", "down"} for v in votes.values())
    # Each title links to where the paper can be read; the text part gives it under the title.
    titles = re.findall(r'<h2[^>]*><a href="([^"]+)"[^>]*>([^<]+)</a></h2>', html)
    lines = text.replace("\r\n", "\n")
    assert len(titles) == len(votes)
    for href, title in titles:
        url, title = unescape(href), unescape(title)
        assert url == mailing.paper(title).read_url  # the same as `papers show` gives
        assert url.startswith("https://arxiv.org/") and f" {title}\n{url}\n" in lines
    assert "<script" not in html and 'src="http' not in html  # no scripts, no remote images
    assert 'style="' in html  # the CSS is inlined
    assert "prefers-color-scheme: dark" in html
    manage = [u for u in hrefs(html) if u.startswith(f"{BASE_URL}/manage/")]
    assert signer.check_subscriber("manage", manage[0].rsplit("/", 1)[1]) > 0


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


def hostile_dump() -> dumps.Dump:
    record = dumps.PaperRecord(
        title="<script>alert(1)</script> Graph Neural Networks for Molecules",
        abstract="Graph neural networks for molecular graphs.\r\nBcc: x@example.org\r\n\r\n"
        '<img src="https://tracker.example.org/p.gif"> More graph neural networks.',
        authors=3,
        published=date(2026, 3, 20),
        upvotes=5,
        links=(dumps.Link("code", 'https://github.com/lab/x"><script>alert(2)</script>'),),
        line=1,
    )
    return dumps.Dump(date(2026, 3, 20), "test", "hostile", (record,))


def test_a_hostile_paper_is_escaped_and_cannot_add_a_header_or_a_recipient(
    settings: Settings, mail_server: MailServer, clock: Clock, tmp_path: Path
) -> None:
    with Recommender(smtp_settings(settings, mail_server), clock=clock) as app:
        with app._session() as session, session.begin():
            paper_store.add_dump(session, "hostile.txt", hostile_dump(), clock())
        path = tmp_path / "mallory.toml"
        path.write_text(f'email = "{EMAIL}"\ninterests = ["graph neural networks"]\n')
        app.subscribe(path)
        # Profiles refuse such a name now; one stored before they did must not add a header.
        with app._session() as session, session.begin():
            session.execute(
                update(Subscriber)
                .where(Subscriber.email == EMAIL)
                .values(name="Ada\r\nBcc: y@example.org")
            )
        app.send(EMAIL)
    (received,) = mail_server.received
    assert received.rcpt_tos == [EMAIL]
    message = received.message
    assert message["Bcc"] is None
    assert all(not key.lower().startswith("bcc") for key in message.keys())
    text, html = parts(message)
    assert "<script>" not in html and "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert "<img" not in html and "&lt;img" in html
    assert 'x"><script>' not in html
    assert "Bcc: x@example.org" in text  # shown as the text it is, inside the body
    assert "\nBcc:" not in received.data.decode("ascii", "replace").split("\r\n\r\n")[0]


def test_a_transient_refusal_is_retried_later_and_arrives_once(
    mailing: Recommender, mail_server: MailServer, clock: Clock
) -> None:
    mail_server.inbox.refuse_next("451 4.3.0 Try again later")
    first = mailing.send(EMAIL)
    (failed,) = first.delivered
    assert failed.state == "failed" and "451" in (failed.error or "")
    assert failed.retry_at == clock() + timedelta(minutes=1)
    assert [e.state for e in mailing.outbox()] == ["failed"]
    assert mailing.deliver() == []  # not due yet
    clock.now += timedelta(minutes=2)
    (retried,) = mailing.send(EMAIL).delivered
    assert (retried.state, retried.attempts) == ("sent", 2)
    assert len(mail_server.received) == 1
    assert mailing.outbox() == []


def test_a_permanent_refusal_is_recorded_shown_and_not_retried(
    mailing: Recommender, mail_server: MailServer, clock: Clock
) -> None:
    mail_server.inbox.refuse_next("550 5.1.1 No such mailbox")
    (outcome,) = mailing.send(EMAIL).delivered
    assert outcome.state == "undeliverable"
    (entry,) = mailing.outbox()
    assert entry.state == "undeliverable" and "550" in (entry.last_error or "")
    clock.now += timedelta(days=1)
    assert mailing.deliver() == []
    assert mail_server.received == []
    assert mailing.resend(entry.digest_id)
    assert [d.state for d in mailing.deliver()] == ["sent"]


def test_a_crash_after_recording_and_before_sending_loses_nothing(
    mailing: Recommender, mail_server: MailServer, clock: Clock
) -> None:
    """Guarantee here: exactly once. The digest is recorded, so the next run sends it."""
    (composed,) = mailing.compose(EMAIL)  # the process dies before delivering
    assert composed.status == "recorded"
    with Recommender(mailing.settings, clock=clock) as restarted:
        report = restarted.send(EMAIL)
    assert [c.status for c in report.composed] == ["nothing new"]  # not composed twice
    assert [d.state for d in report.delivered] == ["sent"]
    assert len(mail_server.received) == 1


class Crash(BaseException):
    """The process dying: nothing after it runs."""


class CrashAfterSending:
    def __init__(self, transport: SmtpTransport) -> None:
        self.transport = transport

    def send(self, outgoing: Outgoing) -> str:
        self.transport.send(outgoing)
        raise Crash


def test_a_crash_after_sending_and_before_marking_sent_never_sends_twice(
    mailing: Recommender, mail_server: MailServer, clock: Clock
) -> None:
    """Guarantee here: at most once. The mail server has the digest but the database does
    not know; the digest is flagged unconfirmed, shown in the outbox, and resent only on
    request (with the same Message-ID)."""
    real = mailing.delivery_transport()
    assert isinstance(real, SmtpTransport)
    mailing.transport = CrashAfterSending(real)
    with pytest.raises(Crash):
        mailing.send(EMAIL)
    with Recommender(mailing.settings, clock=clock) as restarted:
        assert restarted.send(EMAIL).delivered == []  # still within the sender's lease
        clock.now += timedelta(minutes=11)
        assert restarted.send(EMAIL).delivered == []
        (entry,) = restarted.outbox()
        assert entry.state == "unconfirmed"
        assert len(mail_server.received) == 1
        assert restarted.resend(entry.digest_id)
        assert [d.state for d in restarted.deliver()] == ["sent"]
    first, again = mail_server.received
    assert first.message["Message-ID"] == again.message["Message-ID"]


def test_logging_in_works_and_the_password_never_shows(
    settings: Settings, login_mail_server: MailServer, clock: Clock, tmp_path: Path
) -> None:
    good = smtp_settings(settings, login_mail_server, smtp_user=LOGIN[0], smtp_password=LOGIN[1])
    with Recommender(good, clock=clock) as app:
        app.ingest([topical_dump(tmp_path / "d.txt")], reference_date=date(2026, 3, 21))
        app.subscribe(profile(tmp_path))
        (outcome,) = app.send(EMAIL).delivered
        assert outcome.state == "sent"
        assert LOGIN[1] not in repr(app.settings)
    assert len(login_mail_server.received) == 1
    wrong = SmtpSettings(login_mail_server.host, login_mail_server.port, "none", "x", "hunter2!")
    with pytest.raises(PermanentDeliveryError, match="login as 'x' refused") as refused:
        SmtpTransport(wrong).send(Outgoing.from_message(login_mail_server.received[0].message))
    assert "hunter2!" not in str(refused.value) and "hunter2!" not in repr(wrong)


def test_an_address_with_non_ascii_letters_is_delivered_as_itself(
    mail_server: MailServer,
) -> None:
    message = EmailMessage(policy=POLICY)
    message["From"] = "Paper digest <digest@example.org>"
    message["To"] = "Zoë <zoë@example.org>"
    message["Message-ID"] = "<abc@example.org>"
    message.set_content("hello")
    outgoing = Outgoing.from_message(message)
    assert outgoing.recipients == ("zoë@example.org",)
    SmtpTransport(SmtpSettings(mail_server.host, mail_server.port, "none")).send(outgoing)
    (received,) = mail_server.received
    assert received.rcpt_tos == ["zoë@example.org"]
    assert received.message["To"].addresses[0].addr_spec == "zoë@example.org"


def test_an_unreachable_server_is_a_transient_error(tmp_path: Path) -> None:
    from tests.mailserver import free_port

    transport = SmtpTransport(SmtpSettings("127.0.0.1", free_port(), "none", "u", "pw-123456"))
    message = EmailMessage()
    message["To"] = EMAIL
    message.set_content("x")
    with pytest.raises(TransientDeliveryError) as error:
        transport.send(Outgoing.from_message(message))
    assert "pw-123456" not in str(error.value)


def test_without_smtp_digests_are_files_in_a_named_folder(
    database_url: str, tmp_path: Path
) -> None:
    env = {"RECOMMENDER_DATABASE_URL": database_url, "RECOMMENDER_HOME": str(tmp_path / "h")}
    assert run("ingest", str(topical_dump(tmp_path / "d.txt")), env=env).returncode == 0
    assert run("subscribe", str(profile(tmp_path)), env=env).returncode == 0
    result = run("send", "--user", EMAIL, env=env)
    assert result.returncode == 0, result.stderr
    folder = tmp_path / "h" / "outbox"
    assert f"written to {folder}" in result.stdout
    (eml,) = folder.glob("*.eml")
    (html,) = folder.glob("*.html")
    assert f"Written to {eml} (preview: {html})" in result.stdout
    assert "Sent to" not in result.stdout  # nothing was sent: it is a file
    assert "Graph Neural Networks" in html.read_text()
    assert b"multipart/alternative" in eml.read_bytes()
    again = run("send", "--user", EMAIL, env=env)
    assert again.returncode == 0 and "Nothing to send" in again.stdout
    assert len(list(folder.glob("*.eml"))) == 1


def invoke(*args: str, env: dict[str, str]) -> Result:
    """Run a command in this process (quicker than :func:`tests.test_cli.run`)."""
    return CliRunner().invoke(cli, list(args), env=env, catch_exceptions=False)


def cli_env(settings: Settings) -> dict[str, str]:
    return {
        "RECOMMENDER_DATABASE_URL": settings.database_url,
        "RECOMMENDER_HOME": str(settings.home),
    }


def subscribed_without_smtp(settings: Settings, tmp_path: Path) -> dict[str, str]:
    """The topical day and the test subscriber, digests to files in an outbox folder that
    cannot be made (a file stands where its parent folder should be); the environment for
    commands."""
    blocked = tmp_path / "blocked"
    blocked.write_text("a file where the outbox's folder should be\n")
    with Recommender(replace(settings, outbox_dir=blocked / "outbox")) as app:
        topical_day(app, tmp_path)
    return {**cli_env(settings), "RECOMMENDER_OUTBOX_DIR": str(blocked / "outbox")}


def test_an_outbox_folder_that_cannot_be_made_fails_the_digest_for_a_retry(
    settings: Settings, tmp_path: Path
) -> None:
    env = subscribed_without_smtp(settings, tmp_path)
    result = invoke("send", "--user", EMAIL, env=env)
    assert result.exit_code == 1
    (line,) = result.stderr.splitlines()  # one line, no traceback
    assert line.startswith(f"Not sent to {EMAIL} (will retry at "), line
    assert str(tmp_path / "blocked") in line
    assert "written to" not in result.stdout  # nothing was
    with Recommender(replace(settings, outbox_dir=tmp_path / "blocked" / "outbox")) as app:
        (entry,) = app.outbox()
    assert entry.state == "failed" and entry.next_attempt_at is not None


def test_send_with_nothing_due_says_how_many_digests_wait_for_a_retry_and_until_when(
    settings: Settings, tmp_path: Path
) -> None:
    env = subscribed_without_smtp(settings, tmp_path)
    with Recommender(replace(settings, outbox_dir=tmp_path / "blocked" / "outbox")) as app:
        (failed,) = app.send(EMAIL).delivered
    assert failed.state == "failed" and failed.retry_at is not None
    result = invoke("send", "--user", EMAIL, env=env)
    assert result.exit_code == 0, result.output
    assert "Nothing to send." not in result.stdout
    assert (
        f"Nothing to send now: 1 digest waits to be retried, at "
        f"{failed.retry_at:%Y-%m-%d %H:%M} UTC." in result.stdout
    )


def test_resending_a_digest_that_does_not_exist_or_was_sent_says_so(
    mailing: Recommender, mail_server: MailServer
) -> None:
    (sent,) = mailing.send(EMAIL).delivered
    with pytest.raises(DigestNotFound):
        mailing.resend(999)
    missing = invoke("outbox", "--resend", "999", env=cli_env(mailing.settings))
    assert missing.exit_code == 1
    assert missing.stderr == "Error: there is no digest 999\n"
    again = invoke("outbox", "--resend", str(sent.digest_id), env=cli_env(mailing.settings))
    assert again.exit_code == 1
    assert f"digest {sent.digest_id} was sent at 2026-03-21 08:00 UTC" in again.stderr
    assert len(mail_server.received) == 1


def test_outbox_all_lists_sent_digests_too_with_ids_dates_and_states(
    mailing: Recommender, mail_server: MailServer, tmp_path: Path
) -> None:
    readers(mailing, tmp_path, 1)
    mail_server.inbox.refuse_next("550 5.1.1 No such mailbox")
    refused, sent = sorted(mailing.send().delivered, key=lambda d: d.state, reverse=True)
    assert (refused.state, sent.state) == ("undeliverable", "sent")
    assert [e.digest_id for e in mailing.outbox()] == [refused.digest_id]
    env = cli_env(mailing.settings)
    listed = invoke("outbox", "--all", env=env)
    assert listed.exit_code == 0, listed.output
    lines = {int(line.split()[0]): line for line in listed.stdout.splitlines() if line[:5].strip()}
    assert sorted(lines) == sorted([refused.digest_id, sent.digest_id])
    assert "2026-03-21 08:00  sent" in lines[sent.digest_id]
    assert "2026-03-21 08:00  undeliverable" in lines[refused.digest_id]
    data = json.loads(invoke("outbox", "--all", "--json", env=env).stdout)
    assert {(d["digest_id"], d["state"], d["sent_at"]) for d in data} == {
        (sent.digest_id, "sent", "2026-03-21T08:00:00+00:00"),
        (refused.digest_id, "undeliverable", None),
    }


def test_the_digest_command_previews_without_being_asked_to(
    settings: Settings, tmp_path: Path
) -> None:
    with Recommender(settings) as app:  # now, as the command's own clock says
        topical_day(app, tmp_path)
    for args in (["digest", EMAIL], ["digest", EMAIL, "--preview"]):
        result = invoke(*args, env=cli_env(settings))
        assert result.exit_code == 0, result.output
        written = Path(result.stdout.splitlines()[-1].removeprefix("Preview written to "))
        assert written.read_text().startswith("<!DOCTYPE html>")
    with Recommender(settings) as app:
        assert app.outbox(include_sent=True) == []  # previews record nothing


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


def test_the_exploration_pick_is_labelled(
    mailing: Recommender, mail_server: MailServer, tmp_path: Path
) -> None:
    path = profile(tmp_path)
    path.write_text(path.read_text() + "digest_size = 3\n")
    mailing.subscribe(path)
    mailing.send(EMAIL)
    text, html = parts(mail_server.received[0].message)
    assert html.count("Something different") == 1
    assert "[Something different]" in text


def test_a_paused_or_unsubscribed_subscriber_gets_nothing(
    mailing: Recommender, mail_server: MailServer, tmp_path: Path
) -> None:
    mailing.unsubscribe(EMAIL)
    assert [c.status for c in mailing.send().composed] == []
    assert [c.status for c in mailing.send(EMAIL).composed] == ["unsubscribed"]
    assert mail_server.received == []


def test_file_transport_writes_an_eml_and_an_html_preview(tmp_path: Path) -> None:
    message = EmailMessage()
    message["To"] = "Ada <ada@example.org>"
    message["Message-ID"] = "<abc.def@example.org>"
    message.set_content("hello")
    message.add_alternative("<p>hello</p>", subtype="html")
    where = FileTransport(tmp_path / "out").send(Outgoing.from_message(message))
    assert Path(where).suffix == ".eml" and Path(where).exists()
    assert Path(where).with_suffix(".html").read_text() == "<p>hello</p>\n"


def test_links_are_signed_expiring_and_single_purpose(clock: Clock) -> None:
    signer = links.Signer("s" * 32, clock=clock)
    token = signer.rating(7, "abc", "up")
    assert signer.check_rating(token) == links.RatingToken(7, "abc", "up")
    with pytest.raises(links.TokenInvalid):
        signer.check_rating(token[:-2] + ("A" if token[-2] != "A" else "B") + token[-1])
    with pytest.raises(links.TokenInvalid):
        signer.check_subscriber("unsubscribe", token)  # a rating link cannot unsubscribe
    with pytest.raises(links.TokenInvalid):
        links.Signer("t" * 32, clock=clock).check_rating(token)  # another installation's
    clock.now += links.LIFETIMES["rate"] + timedelta(seconds=1)
    with pytest.raises(links.TokenExpired):
        signer.check_rating(token)


def test_the_secret_is_made_once_and_readable_by_the_owner_only(tmp_path: Path) -> None:
    path = tmp_path / "home" / "secret"
    secret = links.load_or_create_secret(path)
    assert len(secret) >= 32
    assert path.stat().st_mode & 0o777 == 0o600
    assert links.load_or_create_secret(path) == secret


def received_once(mail_server: MailServer) -> list[str]:
    """The recipient of each message the server received; none may have received two."""
    recipients = [r.rcpt_tos[0] for r in mail_server.received]
    assert len(recipients) == len(set(recipients))
    return recipients


def readers(app: Recommender, tmp_path: Path, count: int) -> list[str]:
    """Subscribe ``count`` readers of graph papers; return their addresses."""
    folder = tmp_path / "readers"
    folder.mkdir()
    addresses = [f"reader{n}@example.org" for n in range(count)]
    for address in addresses:
        (folder / f"{address}.toml").write_text(
            f'email = "{address}"\ninterests = ["graph neural networks"]\n'
        )
    app.subscribe(folder)
    return addresses


def test_two_senders_delivering_many_digests_send_each_one_once(
    mailing: Recommender,
    mail_server: MailServer,
    clock: Clock,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    readers(mailing, tmp_path, 10)
    composed = mailing.compose()
    assert [c.status for c in composed] == ["recorded"] * 11

    def sender(ready: Callable[[], None]) -> list[str]:
        with Recommender(mailing.settings, clock=clock) as app:  # its own connections
            app.init()
            ready()
            return [d.state for d in app.deliver()]

    delivered = at_once(sender)
    assert sorted(delivered[0] + delivered[1]) == ["sent"] * 11
    ids = [r.message["Message-ID"] for r in mail_server.received]
    assert len(ids) == len(set(ids)) == 11
    assert mailing.outbox() == []


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


class FailsOnSecond:
    """Hands the first message over, then fails as a bug would (not a delivery error)."""

    def __init__(self, transport: SmtpTransport) -> None:
        self.transport = transport
        self.calls = 0

    def send(self, outgoing: Outgoing) -> str:
        self.calls += 1
        if self.calls == 2:
            raise RuntimeError("a bug")
        return self.transport.send(outgoing)


def test_an_error_mid_chunk_records_the_outcomes_and_gives_back_the_untried_digests(
    mailing: Recommender, mail_server: MailServer, clock: Clock, tmp_path: Path
) -> None:
    """Guarantees here: the digest sent before the error is marked sent; the one the error
    hit may have reached the mail server and is left to become unconfirmed (at most once);
    the ones after it never left and are sent by the next run (exactly once)."""
    readers(mailing, tmp_path, 2)
    first, hit, untried = (c.digest_id for c in mailing.compose())
    real = mailing.delivery_transport()
    assert isinstance(real, SmtpTransport)
    mailing.transport = FailsOnSecond(real)
    with pytest.raises(RuntimeError):
        mailing.deliver()
    mailing.transport = None
    assert len(mail_server.received) == 1
    assert [d.digest_id for d in mailing.deliver()] == [untried]
    assert {e.digest_id: e.state for e in mailing.outbox()} == {hit: "sending"}
    clock.now += timedelta(minutes=11)
    assert {e.digest_id: e.state for e in mailing.outbox()} == {hit: "unconfirmed"}
    assert len(mail_server.received) == 2
    assert first not in {e.digest_id for e in mailing.outbox()}


_DIE_AFTER_FIRST = """
import os, sys
from datetime import datetime
from pathlib import Path
from recommender.config import Settings
from recommender.core import Recommender
from recommender.mailer import SmtpSettings, SmtpTransport

home, url, host, port, now = sys.argv[1:]
class DiesAfterFirst:
    def __init__(self):
        self.real = SmtpTransport(SmtpSettings(host, int(port), "none"))
    def send(self, outgoing):
        self.real.send(outgoing)
        os._exit(3)  # killed: no exception handler, no finally, nothing runs
settings = Settings(home=Path(home), database_url=url, embedding_model="none")
app = Recommender(settings, clock=lambda: datetime.fromisoformat(now))
app.transport = DiesAfterFirst()
app.deliver()
"""


def test_a_sender_killed_after_handing_over_a_digest_leaves_only_that_one_in_doubt(
    mailing: Recommender, mail_server: MailServer, clock: Clock, tmp_path: Path
) -> None:
    """Guarantees here: at most once for the digest the sender was handing over (it becomes
    unconfirmed, resent only on request); exactly once for the others, which the killed
    sender had not claimed and the next run sends."""
    readers(mailing, tmp_path, 2)
    first, *others = (c.digest_id for c in mailing.compose())
    s = mailing.settings
    killed = subprocess.run(
        [sys.executable, "-c", _DIE_AFTER_FIRST, str(s.home), s.database_url]
        + [mail_server.host, str(mail_server.port), clock().isoformat()],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert killed.returncode == 3, killed.stderr
    assert len(mail_server.received) == 1
    assert sorted(d.digest_id for d in mailing.deliver()) == sorted(others)
    clock.now += timedelta(minutes=11)
    assert mailing.deliver() == []
    assert [(e.digest_id, e.state) for e in mailing.outbox()] == [(first, "unconfirmed")]
    assert len(received_once(mail_server)) == 3
    assert mailing.resend(first)
    assert [d.state for d in mailing.deliver()] == ["sent"]
    assert len(mail_server.received) == 4


def test_senders_killed_again_and_again_send_none_twice_lose_none_and_leave_few_in_doubt(
    database_url: str, tmp_path: Path
) -> None:
    """A small run of ``benchmarks/kill_send.py``: each kill leaves in doubt at most the
    digests in flight, one a connection."""
    from benchmarks import kill_send

    result = kill_send.run(
        tmp_path, subscribers=24, kills=3, child="deliver", database_url=database_url
    )
    assert any(not k.finished_first for k in result.kills)  # it did kill senders
    assert (result.duplicates, result.lost, result.waiting) == (0, 0, 0)
    assert [k.in_doubt <= result.connections for k in result.kills] == [True] * 3
    assert result.received + result.in_doubt_not_reached == result.digests == 24


def test_a_sender_back_after_its_lease_cannot_overwrite_the_resends_outcome(
    mailing: Recommender, clock: Clock
) -> None:
    mailing.compose(EMAIL)
    with mailing._session() as session, session.begin():  # a sender that then hangs
        (due,) = digest_store.due_ids(session, clock())
        stuck = digest_store.claim(session, due, clock())
    assert stuck is not None
    clock.now += core.SENDING_LEASE + timedelta(minutes=1)
    assert mailing.deliver() == []  # flagged unconfirmed, not sent by itself
    assert mailing.resend(stuck.id)
    with mailing._session() as session, session.begin():  # the resend, in progress
        again = digest_store.claim(session, stuck.id, clock())
    assert again is not None
    with mailing._session() as session, session.begin():  # the hung sender comes back
        failed = digest_store.Outcome(stuck.id, stuck.attempts, "failed", "timed out")
        digest_store.mark(session, [failed], clock())
        digest_store.release(session, [stuck])
    with mailing._session() as session, session.begin():  # the resend ends
        digest_store.mark(
            session, [digest_store.Outcome(again.id, again.attempts, "sent")], clock()
        )
    with mailing._session() as session:
        digest = session.get(Digest, stuck.id)
        assert digest is not None
        assert (digest.state, digest.attempts, digest.last_error) == ("sent", 2, None)


@pytest.mark.parametrize("newline", [b"\r\n", b"\n"])
def test_the_envelope_is_read_from_the_headers_alone(newline: bytes) -> None:
    raw = newline.join(
        [
            b"From: Paper digest <digest@example.org>",
            b"To: Ada <ada@example.org>,",
            b" Bob <bob@example.org>",
            b"Message-ID: <abc@example.org>",
            b"",
            b"To: mallory@example.org",
            b"",
            b"From: eve@example.org",
        ]
    )
    outgoing = Outgoing.from_bytes(raw)
    assert outgoing.sender == "digest@example.org"
    assert outgoing.recipients == ("ada@example.org", "bob@example.org")
    assert outgoing.message_id == "<abc@example.org>"
    assert outgoing.raw == raw


def test_a_rating_token_carries_any_paper_id_and_refuses_an_unknown_vote(clock: Clock) -> None:
    signer = links.Signer("s" * 32, clock=clock)
    for paper_id in ("2511.01234", "a~b.c/d", "ünï"):
        token = signer.rating(3, paper_id, "up")
        assert signer.check_rating(token) == links.RatingToken(3, paper_id, "up")
    forged = signer._rate.sign("3~maybe~YWJj").decode()  # signed, but no vote we know
    with pytest.raises(links.TokenInvalid):
        signer.check_rating(forged)
