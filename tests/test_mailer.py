"""Delivering a message: over SMTP to a real server on loopback, or as files."""

from __future__ import annotations

import time
from datetime import date, timedelta
from email.message import EmailMessage
from pathlib import Path

import pytest

from recommender.config import Settings
from recommender.core import Recommender
from recommender.mailer import (
    FileTransport,
    Outgoing,
    PermanentDeliveryError,
    SmtpSettings,
    SmtpTransport,
    TransientDeliveryError,
    UnconfirmedDeliveryError,
    after_attempt,
    file_stem,
    retry_at,
)
from recommender.message import POLICY
from tests.catalogue import EMAIL, profile, topical_dump
from tests.clock import NOW, Clock
from tests.mail import smtp_settings
from tests.mailserver import LOGIN, MailServer, free_port, misbehaving_smtp


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
    transport = SmtpTransport(SmtpSettings("127.0.0.1", free_port(), "none", "u", "pw-123456"))
    message = EmailMessage()
    message["To"] = EMAIL
    message.set_content("x")
    with pytest.raises(TransientDeliveryError) as error:
        transport.send(Outgoing.from_message(message))
    assert "pw-123456" not in str(error.value)


def test_file_transport_writes_an_eml_and_an_html_preview(tmp_path: Path) -> None:
    message = EmailMessage()
    message["To"] = "Ada <ada@example.org>"
    message["Message-ID"] = "<abc.def@example.org>"
    message.set_content("hello")
    message.add_alternative("<p>hello</p>", subtype="html")
    where = FileTransport(tmp_path / "out").send(Outgoing.from_message(message))
    assert Path(where).suffix == ".eml" and Path(where).exists()
    assert Path(where).with_suffix(".html").read_text() == "<p>hello</p>\n"


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


def test_a_multipart_message_to_a_non_ascii_address_is_read_from_its_headers_alone() -> None:
    # Debian's Python 3.11.2 calls a multipart message's header section without its parts a
    # defect, and the message policy raises on defects: a sign-up by "zoë@exämple.org" failed
    message = EmailMessage(policy=POLICY)
    message["From"] = "Paper digest <digest@example.org>"
    message["To"] = "Zoë <zoë@exämple.org>"
    message["Message-ID"] = "<abc@example.org>"
    message.set_content("hello")
    message.add_alternative("<p>hello</p>", subtype="html")
    outgoing = Outgoing.from_message(message)
    assert outgoing.recipients == ("zoë@exämple.org",)
    assert outgoing.sender == "digest@example.org"


def message_to(*recipients: str, message_id: str = "<abc@example.org>") -> Outgoing:
    message = EmailMessage(policy=POLICY)
    message["From"] = "Paper digest <digest@example.org>"
    message["To"] = ", ".join(recipients)
    message["Message-ID"] = message_id
    message.set_content("hello")
    return Outgoing.from_message(message)


def plain_smtp(server: MailServer) -> SmtpSettings:
    return SmtpSettings(server.host, server.port, "none")


def test_a_failed_message_is_retried_less_and_less_often_then_given_up() -> None:
    now = NOW
    waits = [retry_at(attempts, now) for attempts in range(1, 6)]
    assert [w - now for w in waits if w is not None] == [
        timedelta(minutes=1),
        timedelta(minutes=5),
        timedelta(minutes=30),
        timedelta(hours=2),
        timedelta(hours=8),
    ]
    assert retry_at(6, now) is None


def test_a_transient_failure_is_retried_until_the_delays_run_out_a_permanent_one_never() -> None:
    busy, refused = TransientDeliveryError("451 try later"), PermanentDeliveryError("550 no")
    assert after_attempt(1, NOW, None) == ("sent", None)
    assert after_attempt(1, NOW, busy) == ("failed", NOW + timedelta(minutes=1))
    assert after_attempt(5, NOW, busy) == ("failed", NOW + timedelta(hours=8))
    assert after_attempt(6, NOW, busy) == ("undeliverable", None)
    assert after_attempt(1, NOW, refused) == ("undeliverable", None)


def test_a_4xx_reply_is_transient_a_5xx_permanent_and_each_error_quotes_the_reply(
    mail_server: MailServer,
) -> None:
    transport = SmtpTransport(plain_smtp(mail_server))
    mail_server.inbox.refuse_next("451 4.3.0 Try again later", "554 5.7.1 Message rejected")
    with pytest.raises(TransientDeliveryError, match="replied 451 4.3.0 Try again later"):
        transport.send(message_to("ada@example.org"))
    with pytest.raises(PermanentDeliveryError, match="replied 554 5.7.1 Message rejected"):
        transport.send(message_to("ada@example.org"))
    assert mail_server.received == []
    assert transport.send(message_to("ada@example.org")) == (
        f"smtp://{mail_server.host}:{mail_server.port}"
    )
    assert len(mail_server.received) == 1


def test_a_refused_recipient_fails_the_delivery_and_is_named(mail_server: MailServer) -> None:
    transport = SmtpTransport(plain_smtp(mail_server))
    mail_server.inbox.refuse_recipient("gone@example.org", "550 5.1.1 No such mailbox")
    mail_server.inbox.refuse_recipient("full@example.org", "452 4.2.2 Mailbox full")
    with pytest.raises(PermanentDeliveryError, match="550 5.1.1 No such mailbox") as gone:
        transport.send(message_to("gone@example.org"))
    assert str(gone.value).endswith("for gone@example.org")
    with pytest.raises(TransientDeliveryError, match="452 4.2.2 Mailbox full for full@"):
        transport.send(message_to("full@example.org"))
    # One of two refused: the other got it, but the message is not reported as delivered.
    with pytest.raises(PermanentDeliveryError, match="for gone@example.org"):
        transport.send(message_to("ada@example.org", "gone@example.org"))
    (received,) = mail_server.received
    assert received.rcpt_tos == ["ada@example.org"]


def test_messages_in_a_batch_share_one_connection_and_others_open_their_own(
    mail_server: MailServer,
) -> None:
    transport = SmtpTransport(plain_smtp(mail_server))
    with transport.batch():
        transport.send(message_to("a@example.org"))
        transport.send(message_to("b@example.org"))
    transport.send(message_to("c@example.org"))
    transport.send(message_to("d@example.org"))
    batched_a, batched_b, alone_c, alone_d = (r.peer for r in mail_server.received)
    assert batched_a is not None and batched_a == batched_b
    assert len({batched_a, alone_c, alone_d}) == 3


def test_after_a_refusal_in_a_batch_the_next_message_goes_over_a_new_connection(
    mail_server: MailServer,
) -> None:
    transport = SmtpTransport(plain_smtp(mail_server))
    with transport.batch():
        transport.send(message_to("a@example.org"))
        mail_server.inbox.refuse_next("451 4.3.0 Try again later")
        with pytest.raises(TransientDeliveryError):
            transport.send(message_to("b@example.org"))
        transport.send(message_to("c@example.org"))
    first, after = mail_server.received
    assert [first.rcpt_tos, after.rcpt_tos] == [["a@example.org"], ["c@example.org"]]
    assert first.peer != after.peer


def test_smtp_security_must_be_known_and_each_kind_has_its_usual_port() -> None:
    with pytest.raises(ValueError, match="use none, starttls or tls"):
        SmtpSettings("mail.example.org", security="ssl")
    ports = {
        kind: SmtpSettings("mail.example.org", security=kind).effective_port
        for kind in ("none", "starttls", "tls")
    }
    assert ports == {"none": 25, "starttls": 587, "tls": 465}
    assert SmtpSettings("mail.example.org", 2525, "tls").effective_port == 2525


def test_a_transport_shows_where_it_sends_but_never_the_password() -> None:
    settings = SmtpSettings("mail.example.org", 0, "starttls", "bot", "pw-123456")
    shown = repr(SmtpTransport(settings))
    assert "mail.example.org:587" in shown and "'bot'" in shown
    assert "pw-123456" not in shown


def test_a_hostile_recipient_or_message_id_cannot_write_outside_the_folder(
    tmp_path: Path,
) -> None:
    folder = tmp_path / "out"
    outgoing = Outgoing(b"To: x\r\n\r\nhello\r\n", "", ("../../etc/passwd",), "<../../a b/c@x>")
    where = Path(FileTransport(folder).send(outgoing))
    assert where.parent == folder
    assert [p.name for p in folder.iterdir()] == [where.name]
    assert "/" not in file_stem(outgoing) and " " not in file_stem(outgoing)


def test_a_message_without_an_html_part_is_written_without_a_preview(tmp_path: Path) -> None:
    outgoing = message_to("ada@example.org")
    where = FileTransport(tmp_path / "out").send(outgoing)
    assert Path(where).read_bytes() == outgoing.raw  # the bytes as handed over
    assert FileTransport.preview_of(where) is None
    assert [p.suffix for p in (tmp_path / "out").iterdir()] == [".eml"]


# -- mail servers that misbehave after they answer: a raw socket server on loopback ----------


def bad_server_transport(port: int, *, deadline: float) -> SmtpTransport:
    return SmtpTransport(SmtpSettings("127.0.0.1", port, "none", timeout=2.0, deadline=deadline))


@pytest.mark.parametrize("after_data", ["drop", "slow"])
def test_a_message_taken_whole_whose_answer_never_comes_is_unconfirmed_not_retried(
    after_data: str,
) -> None:
    # Sending it again by itself could deliver it twice: a person resends it if need be.
    with misbehaving_smtp(after_data) as (port, taken):
        with pytest.raises(UnconfirmedDeliveryError) as error:
            bad_server_transport(port, deadline=1.0).send(message_to("ada@example.org"))
    assert len(taken) == 1
    assert "the whole message was sent" in str(error.value) and "may have arrived" in str(
        error.value
    )
    assert after_attempt(1, NOW, error.value) == ("unconfirmed", None)


def test_a_server_that_keeps_talking_but_never_answers_times_out_as_a_whole() -> None:
    # Each line comes well within the read timeout (2 s); the greeting never ends.
    started = time.monotonic()
    with misbehaving_smtp("trickle") as (port, taken):
        with pytest.raises(TransientDeliveryError, match=r"no answer within 0\.5 s in all"):
            bad_server_transport(port, deadline=0.5).send(message_to("ada@example.org"))
    assert time.monotonic() - started < 5 and taken == []
