"""Screenshots of the digest email and every web page, in headless Chromium, for people to look at.

Builds a throwaway home (a SQLite database in a temporary folder) with the bundled example
dumps, as ``recommender demo`` does, and the example profile with named interests (so the
email shows the interest each paper serves), writes that subscriber's digest to the outbox,
serves the web app on loopback, and walks the pages a subscriber reaches from the email, then
sign-up (the form, its errors, the confirmation mail and its pages) and a page not found. Each
is saved at 1200 px (a desktop) and 390 px (a phone), in light and dark mode, as
``NAME-WIDTH.png`` and ``NAME-WIDTH-dark.png``. The tests in ``tests/browser`` check the same
pages; this is for eyes.

``--small`` keeps only the first screen of each page (800 px tall), adds a screen for each
later section of the manage page, and, where ``pngquant`` is installed, squeezes the files:
what ``docs/screenshots/`` holds. Sign-up is turned on in the throwaway home, for its form.

To add a page, add a step to :data:`STEPS`: a name and a function that opens the page.
"""

from __future__ import annotations

import argparse
import email
import email.policy
import os
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import uvicorn

from recommender import dumps, links, resources, web
from recommender.config import Settings
from recommender.core import Recommender

WIDTHS = (1200, 390)
SCHEMES = ("light", "dark")
EXAMPLE_PROFILE = "example-interests.toml"  # several named interests, each with its share
EXAMPLE_EMAIL = "grace@example.org"  # its subscriber
CHROMIUM_NAMES = ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable")


class Email:
    """The digest as written to the outbox: its HTML and its links by action; and the outbox,
    where the sign-up steps find the confirmation mail."""

    def __init__(self, html: str, outbox: Path) -> None:
        self.html = html
        self.hrefs = re.findall(r'href="([^"]+)"', html)
        self.outbox = outbox

    def link(self, action: str) -> str:
        path = f"/{links.PATHS[action]}/"
        return next(url for url in self.hrefs if path in url)


def _forged(url: str) -> str:
    return url[:-4] + ("AAAA" if not url.endswith("AAAA") else "BBBB")


def _click(name: str) -> Callable[[Any, Email], None]:
    def step(page: Any, mail: Email) -> None:
        page.get_by_role("button", name=name).click()
        page.wait_for_load_state()

    return step


def _goto(action: str, suffix: str = "") -> Callable[[Any, Email], None]:
    def step(page: Any, mail: Email) -> None:
        page.goto(mail.link(action) + suffix)

    return step


def _then(*steps: Callable[[Any, Email], None]) -> Callable[[Any, Email], None]:
    def step(page: Any, mail: Email) -> None:
        for each in steps:
            each(page, mail)

    return step


def _section(heading_id: str) -> Callable[[Any, Email], None]:
    """Show the manage page from the section titled by ``heading_id``, by its fragment."""

    def step(page: Any, mail: Email) -> None:
        page.goto(f"{mail.link('manage')}#{heading_id}")
        if not page.locator(f"#{heading_id}").count():
            raise SystemExit(f"the manage page has no #{heading_id}: update STEPS")

    return step


def _refused_schedule(page: Any, mail: Email) -> None:
    """The manage page answering a schedule it cannot read: the field marked, its error."""
    page.goto(mail.link("manage"))
    page.fill("#schedule", "hourly")
    _click("Save schedule")(page, mail)
    page.focus("#schedule")  # as the banner's link does: a first screen shows the field


# Steps that show a part of a page, by scrolling: only for --small (first screens).
SECTIONS = {"manage-when", "manage-ratings", "manage-subscription"}


def _base(mail: Email) -> str:
    return mail.link("manage").split(f"/{links.PATHS['manage']}/")[0]


def _signup(page: Any, mail: Email) -> None:
    response = page.goto(f"{_base(mail)}/signup")
    if response is None or response.status != 200:
        raise SystemExit("the sign-up form did not open: is the signup setting on?")


def _sign_up(page: Any, mail: Email) -> None:
    page.get_by_label("Email address").fill("lin@example.org")
    page.get_by_label("Name (optional)").fill("Lin")
    page.get_by_label("Interests").fill("speech recognition\nspeaker diarization")
    _click("Sign up")(page, mail)


def _signup_mail(page: Any, mail: Email) -> None:
    """The newest mail in the outbox (the sign-up's confirmation), as a mail client shows it."""
    newest = max(mail.outbox.glob("*.eml"), key=lambda path: path.stat().st_mtime_ns)
    message = email.message_from_bytes(newest.read_bytes(), policy=email.policy.default)
    page.set_content(message.get_body(preferencelist=("html",)).get_content())  # type: ignore[attr-defined]


def _signup_confirm(page: Any, mail: Email) -> None:
    page.goto(page.get_by_role("link", name="Confirm my subscription").get_attribute("href"))


# Each step opens one page, from the one before it where it is a button's answer.
STEPS: list[tuple[str, Callable[[Any, Email], None]]] = [
    ("digest", lambda page, mail: page.set_content(mail.html)),
    ("digest-web", _goto("view-digest")),
    ("today", _goto("today")),
    ("rate", _goto("rate")),
    ("rate-done", _click("Yes, more like this")),
    ("rate-kept", _goto("rate", "?keep=1")),
    ("manage", _goto("manage")),
    ("manage-when", _section("when-title")),
    ("manage-ratings", _section("ratings-title")),
    ("manage-subscription", _section("subscription-title")),
    ("manage-error", _refused_schedule),
    ("signup", _signup),
    ("signup-error", _then(_signup, _click("Sign up"))),  # the form sent empty
    ("signup-sent", _then(_signup, _sign_up)),
    ("signup-email", _signup_mail),
    ("signup-confirm", _signup_confirm),
    ("signup-done", _click("Confirm my subscription")),
    ("unsubscribe", _goto("unsubscribe")),
    ("unsubscribe-kept", _goto("unsubscribe", "?keep=1")),
    ("unsubscribe-done", _then(_goto("unsubscribe"), _click("Unsubscribe"))),
    ("resubscribed", _click("Subscribe again")),
    ("link-problem", lambda page, mail: page.goto(_forged(mail.link("manage")))),
    ("not-found", lambda page, mail: page.goto(f"{_base(mail)}/no-such-page")),
]


def find_chromium() -> str | None:
    named = os.environ.get("RECOMMENDER_CHROMIUM")
    return named or next(filter(None, map(shutil.which, CHROMIUM_NAMES)), None)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextmanager
def serving(app: Recommender, port: int) -> Iterator[None]:
    config = uvicorn.Config(
        web.create_app(app), "127.0.0.1", port, log_level="warning", lifespan="off"
    )
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            raise SystemExit("the web server did not start")
        time.sleep(0.02)
    try:
        yield
    finally:
        server.should_exit = True
        thread.join(timeout=10)


def example_digest(app: Recommender) -> Email:
    """Ingest the example dumps, subscribe the example profile, and write its digest."""
    app.ingest(dumps.find_dump_files([resources.example_dumps_dir()]))
    app.subscribe(resources.profiles_dir() / EXAMPLE_PROFILE)
    app.embed_papers()
    report = app.send(EXAMPLE_EMAIL)
    written = [d.where for d in report.delivered if d.state == "sent" and d.where]
    if not written:
        raise SystemExit(f"no digest was written for {EXAMPLE_EMAIL}: {report}")
    message = email.message_from_bytes(Path(written[0]).read_bytes(), policy=email.policy.default)
    html = message.get_body(preferencelist=("html",))  # type: ignore[attr-defined]
    return Email(html.get_content(), app.settings.outbox)


# The card (or whatever holds it) of the element the URL's fragment names, at the top.
SCROLL_TO_FRAGMENT = """() => {
  const e = location.hash && document.getElementById(location.hash.slice(1));
  if (e) (e.closest('section, .card') || e).scrollIntoView({block: 'start'});
}"""


def shoot(page: Any, outdir: Path, name: str, *, small: bool = False) -> list[Path]:
    """Screenshot the open page at every width and colour scheme."""
    written = []
    for scheme in SCHEMES:
        page.emulate_media(color_scheme=scheme)
        for width in WIDTHS:
            page.set_viewport_size({"width": width, "height": 800})
            page.evaluate(SCROLL_TO_FRAGMENT)  # a resize moves the page under the section
            suffix = "-dark" if scheme == "dark" else ""
            path = outdir / f"{name}-{width}{suffix}.png"
            page.screenshot(path=str(path), full_page=not small)
            written.append(path)
    page.emulate_media(color_scheme="light")
    page.set_viewport_size({"width": WIDTHS[0], "height": 800})
    return written


def squeeze(paths: list[Path]) -> None:
    """Quantise the PNGs in place with pngquant, where it is installed (else leave them)."""
    pngquant = shutil.which("pngquant")
    if pngquant and paths:
        command = [pngquant, "--force", "--skip-if-larger", "--ext", ".png", "--quality", "60-90"]
        # exit 98/99: a file would have grown or lost too much; it is kept as it was
        subprocess.run([*command, *map(str, paths)], check=False)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__.split("\n\nTo add")[0],
        epilog="Example:\n  python scripts/screenshots.py /tmp/screenshots",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("outdir", type=Path, help="folder for the PNG files (created if absent)")
    parser.add_argument(
        "--chromium",
        help="the Chromium binary (default: $RECOMMENDER_CHROMIUM, else chromium on PATH)",
    )
    parser.add_argument(
        "--embeddings",
        action="store_true",
        help="rank with the sentence-embedding model, as `recommender demo` does (slower); "
        "by default word features rank the papers",
    )
    parser.add_argument(
        "--small",
        action="store_true",
        help="only the first screen of each page, squeezed with pngquant where installed",
    )
    parser.add_argument(
        "--only",
        action="append",
        choices=[name for name, _ in STEPS],
        metavar="PAGE",
        help="only this page (repeatable; a page after a button needs the one before it): "
        + ", ".join(name for name, _ in STEPS),
    )
    args = parser.parse_args(argv)
    chromium = args.chromium or find_chromium()
    if not chromium:
        parser.error("no Chromium found: pass --chromium or apt-get install chromium")
    from playwright.sync_api import sync_playwright

    args.outdir.mkdir(parents=True, exist_ok=True)
    port = free_port()
    with tempfile.TemporaryDirectory(prefix="recommender-screenshots-") as folder:
        home = Path(folder)
        settings = Settings(
            home=home,
            database_url=f"sqlite:///{home / 'recommender.db'}",
            embedding_model="all-MiniLM-L6-v2" if args.embeddings else "none",
            base_url=f"http://127.0.0.1:{port}",
            signup=True,  # to show the sign-up form
        )
        with Recommender(settings) as app, serving(app, port), sync_playwright() as playwright:
            mail = example_digest(app)
            browser = playwright.chromium.launch(
                executable_path=chromium, headless=True, args=["--no-sandbox"]
            )
            page = browser.new_page()
            for name, step in STEPS:
                step(page, mail)
                if args.only and name not in args.only:
                    continue
                if name in SECTIONS and not args.small:
                    continue  # the whole page is in its own screenshot already
                written = shoot(page, args.outdir, name, small=args.small)
                if args.small:
                    squeeze(written)
                print("\n".join(map(str, written)))
            browser.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
