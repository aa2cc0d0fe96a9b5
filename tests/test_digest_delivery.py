"""Delivering recorded digests to a real SMTP server: refusals retried or given up, and the
guarantees (exactly once, or at most once where a sender died mid-send) through crashes,
kills, expired leases and senders running side by side."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path

import pytest

from recommender import core
from recommender.core import Recommender
from recommender.mailer import (
    Outgoing,
    SmtpTransport,
)
from recommender.store import digests as digest_store
from recommender.store.models import Digest
from tests.catalogue import EMAIL, readers
from tests.clock import Clock
from tests.concurrency import at_once
from tests.mail import received_once
from tests.mailserver import MailServer


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
