"""Digests on the command line: ``send`` to files without SMTP, ``digest`` previews, ``outbox``
listing and resending, and what each says when there is nothing to do or it cannot."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

import pytest
from click.testing import CliRunner

from recommender.cli import cli
from recommender.config import Settings
from recommender.core import DigestNotFound, Recommender
from tests.catalogue import EMAIL, profile, readers, topical_day, topical_dump
from tests.commands import cli_env, invoke, run
from tests.mailserver import MailServer, misbehaving_smtp


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


def test_a_digest_taken_whole_whose_answer_is_lost_is_unconfirmed_and_never_sent_twice(
    settings: Settings, tmp_path: Path
) -> None:
    with Recommender(settings) as app:
        topical_day(app, tmp_path)
    with misbehaving_smtp("drop") as (port, taken):
        env = {
            **cli_env(settings),
            "RECOMMENDER_SMTP_HOST": "127.0.0.1",
            "RECOMMENDER_SMTP_PORT": str(port),
            "RECOMMENDER_SMTP_SECURITY": "none",
        }
        result = invoke("send", "--user", EMAIL, env=env)
        assert result.exit_code == 1
        (line,) = result.stderr.splitlines()  # one line, no traceback
        assert line.startswith(f"Unconfirmed for {EMAIL}, not sent again by itself"), line
        assert "the whole message was sent" in line
        again = invoke("send", "--user", EMAIL, env=env)
        assert again.exit_code == 0, again.output
    assert len(taken) == 1  # once, however often send runs
    with Recommender(settings) as app:
        (entry,) = app.outbox()
    assert entry.state == "unconfirmed" and entry.next_attempt_at is None


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


def test_pause_and_resume_hold_and_restart_a_subscribers_digests(
    settings: Settings, mail_server: MailServer, tmp_path: Path
) -> None:
    with Recommender(settings) as app:  # on the real clock, as the commands are
        topical_day(app, tmp_path)
    smtp = {"HOST": mail_server.host, "PORT": str(mail_server.port), "SECURITY": "none"}
    env = {**cli_env(settings), **{f"RECOMMENDER_SMTP_{k}": v for k, v in smtp.items()}}
    assert invoke("pause", EMAIL, env=env).stdout == f"Paused the digests of {EMAIL}.\n"
    assert invoke("pause", EMAIL, env=env).stdout.startswith(f"The digests of {EMAIL} were already")
    assert "paused" in invoke("users", env=env).stdout
    assert invoke("send", "--user", EMAIL, env=env).stdout.startswith(f"{EMAIL}: paused\n")
    assert mail_server.received == []
    assert invoke("resume", EMAIL, env=env).stdout == f"Resumed the digests of {EMAIL}.\n"
    assert invoke("resume", EMAIL, env=env).stdout == f"The digests of {EMAIL} were not paused.\n"
    sent = invoke("send", "--user", EMAIL, env=env)
    assert sent.exit_code == 0 and sent.stdout.startswith(f"{EMAIL}: recorded")
    assert len(mail_server.received) == 1


@pytest.mark.parametrize("command", ["pause", "resume"])
def test_pause_or_resume_of_someone_unsubscribed_or_unknown_is_refused_saying_why(
    settings: Settings, tmp_path: Path, command: str
) -> None:
    with Recommender(settings) as app:
        topical_day(app, tmp_path)
    env = cli_env(settings)
    assert invoke("unsubscribe", EMAIL, env=env).exit_code == 0
    refused = CliRunner().invoke(cli, [command, EMAIL], env=env)
    assert refused.exit_code == 1
    assert refused.output == (
        f"Error: {EMAIL} has unsubscribed, so there are no digests to {command}; "
        "`recommender subscribe --resubscribe FILE` subscribes them again\n"
    )
    with Recommender(settings) as app:
        assert app.subscriber(EMAIL).paused is False  # nothing changed
    unknown = CliRunner().invoke(cli, [command, "nobody@example.org"], env=env)
    assert unknown.exit_code == 1
    assert unknown.output == "Error: no subscriber with the email address 'nobody@example.org'\n"


def test_recommend_and_digest_of_someone_paused_or_unsubscribed_say_so_and_how_to_undo_it(
    settings: Settings, tmp_path: Path
) -> None:
    with Recommender(settings) as app:
        topical_day(app, tmp_path)
    env = cli_env(settings)
    assert invoke("recommend", EMAIL, env=env).stderr == ""  # their digests go out
    undo = {
        "pause": f"`recommender resume {EMAIL}` sends their digests again",
        "unsubscribe": "`recommender subscribe --resubscribe FILE` subscribes them again",
    }
    for command, held, state in (
        ("pause", "is paused", "paused"),
        ("unsubscribe", "has unsubscribed", "unsubscribed"),
    ):
        assert invoke(command, EMAIL, env=env).exit_code == 0
        said = f"{EMAIL} {held}, so no digest goes to them; {undo[command]}.\n"
        ranked = invoke("recommend", EMAIL, "--top", "2", env=env)
        assert ranked.exit_code == 0
        assert ranked.stderr == said, command
        assert ranked.stdout.startswith("  1. ") and "  2. " in ranked.stdout  # a preview still
        as_json = invoke("recommend", EMAIL, "--top", "2", "--json", env=env)
        assert as_json.stderr == said and len(json.loads(as_json.stdout)) == 2, command
        preview = invoke("digest", EMAIL, env=env)
        assert preview.exit_code == 0
        assert preview.stdout == (
            f"{EMAIL}: {state}; there is no digest to preview.\n{undo[command]}.\n"
        ), command


def test_recommend_ranks_the_papers_a_digest_carried_too_as_the_readme_says(
    settings: Settings, tmp_path: Path
) -> None:
    with Recommender(settings) as app:
        topical_day(app, tmp_path)
    env = cli_env(settings)
    before = json.loads(invoke("recommend", EMAIL, "--top", "20", "--json", env=env).output)
    assert invoke("send", "--subscriber", EMAIL, env=env).exit_code == 0
    with Recommender(settings) as app:
        (sent,) = app.outbox(include_sent=True)
    assert sent.state == "sent"
    after = json.loads(invoke("recommend", EMAIL, "--top", "20", "--json", env=env).output)
    assert [r["id"] for r in after] == [r["id"] for r in before] and len(after) == 9
