"""Delivering a message: over SMTP to a real server on loopback, or as files."""

from __future__ import annotations

from datetime import date
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
)
from recommender.message import POLICY
from tests.catalogue import EMAIL, profile, topical_dump
from tests.clock import Clock
from tests.mail import smtp_settings
from tests.mailserver import LOGIN, MailServer, free_port


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
