"""What the browser tests share: Chromium found, the web app served, a digest caught, pages checked.

The fixtures in ``conftest.py`` beside this module put these together; a test of a new page
needs only::

    def test_the_new_page_works_on_a_phone_and_by_keyboard(site, page):
        page.goto(site.digest.link("manage"))   # or a click from site.open_email(page)
        ...                                      # drive it: page.get_by_role(...).click()
        check_page(page)                         # fits 390 and 1200 px; labelled; keyboard

The checks, each an assertion that names the offending control or the overflow:

- :func:`assert_fits`: no horizontal scroll at each width (390 px, a phone; 1200 px, a desktop);
- :func:`assert_controls_labelled`: every link, button and field has a visible label with a
  word in it (its own text, or a ``<label>`` for a field) -- an emoji alone is not a label;
- :func:`assert_keyboard_reaches_every_control`: pressing Tab from the top of the page focuses
  every visible control, and an outline or shadow shows which has the focus.

A page that needs other papers or another profile: :func:`serve_site` with what fills the
app. One with no digest yet (sign-up): make the app as it does -- ``smtp_settings(settings,
mail_server)`` with ``base_url`` set to a :func:`tests.loopback.reserved_port` --
serve it with :func:`tests.loopback.serving_app`, and read the mail it sends with
:func:`read_mail` (links by action).
"""

from __future__ import annotations

import os
import re
import shutil
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, replace
from email.message import EmailMessage
from typing import Any

from recommender import links
from recommender.config import Settings
from recommender.core import Recommender
from tests.catalogue import EMAIL
from tests.clock import Clock
from tests.loopback import reserved_port, serving_app
from tests.mail import hrefs, parts, smtp_settings
from tests.mailserver import MailServer

PHONE, DESKTOP = 390, 1200
WIDTHS = (PHONE, DESKTOP)
HEIGHT = 844
# A path to a Chromium binary, where it is not on PATH as one of CHROMIUM_NAMES.
CHROMIUM_VARIABLE = "RECOMMENDER_CHROMIUM"
CHROMIUM_NAMES = ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable")
# Set (to 1) by .ci/run: a missing Chromium fails the browser tests instead of skipping them.
REQUIRE_VARIABLE = "RECOMMENDER_REQUIRE_BROWSER"
LAUNCH_ARGS = ["--no-sandbox"]  # containers and CI run as root, where the sandbox will not start


def find_chromium() -> str | None:
    """The Chromium binary to drive: $RECOMMENDER_CHROMIUM, else the first on PATH."""
    named = os.environ.get(CHROMIUM_VARIABLE)
    if named:
        return named if os.access(named, os.X_OK) else None
    return next(filter(None, map(shutil.which, CHROMIUM_NAMES)), None)


def missing_chromium_reason() -> str:
    named = os.environ.get(CHROMIUM_VARIABLE)
    where = (
        f"${CHROMIUM_VARIABLE}={named} is no executable"
        if named
        else f"none of {', '.join(CHROMIUM_NAMES)} is on PATH"
    )
    return (
        f"no Chromium binary: {where} (Debian: apt-get install chromium "
        "fonts-noto-color-emoji; .ci/run installs them)"
    )


@dataclass(frozen=True)
class Digest:
    """A digest email (or any mail of ours) as the test SMTP server received it."""

    message: EmailMessage
    text: str
    html: str

    def links(self, action: str) -> list[str]:
        """The email's links for ``action`` (see ``recommender.links.PATHS``), in order."""
        path = f"/{links.PATHS[action]}/"
        return [url for url in hrefs(self.html) if path in url]

    def link(self, action: str) -> str:
        """The first link for ``action``: the manage link, the first paper's thumbs-up, ..."""
        return self.links(action)[0]


@dataclass
class Site:
    """The web app on loopback (at ``base``) over ``app``, and the digest ``email`` was mailed."""

    app: Recommender
    base: str
    digest: Digest
    email: str

    def open_email(self, page: Any) -> None:
        """Show the digest email in ``page``, as a mail client would: links go to the site."""
        page.set_content(self.digest.html)


@contextmanager
def serve_site(
    settings: Settings, mail_server: MailServer, clock: Clock, fill: Callable[[Recommender], None]
) -> Iterator[Site]:
    """The web app on loopback over a facade ``fill`` gave its papers and its subscriber
    :data:`tests.catalogue.EMAIL`, and the digest mailed to them, its links pointing there."""
    port = reserved_port()
    base = f"http://127.0.0.1:{port}"
    configured = replace(smtp_settings(settings, mail_server), base_url=base)
    with Recommender(configured, clock=clock) as app:
        fill(app)
        digest = catch_digest(app, mail_server, EMAIL)
        with serving_app(app, port):
            yield Site(app, base, digest, EMAIL)


def read_mail(message: EmailMessage) -> Digest:
    """A message the test SMTP server got (``mail_server.received[-1].message``), to read."""
    text, html = parts(message)
    return Digest(message, text, html)


def catch_digest(app: Recommender, mail_server: MailServer, email: str) -> Digest:
    """Send ``email``'s digest through the facade and return it as the SMTP server got it."""
    before = len(mail_server.received)
    report = app.send(email)
    assert [d.state for d in report.delivered] == ["sent"], report
    (received,) = mail_server.received[before:]
    return read_mail(received.message)


def assert_fits(page, widths: tuple[int, ...] = WIDTHS) -> None:  # type: ignore[no-untyped-def]
    """The page scrolls only down at each width: nothing sticks out sideways."""
    size = page.viewport_size
    try:
        for width in widths:
            page.set_viewport_size({"width": width, "height": HEIGHT})
            scroll, client = page.evaluate(
                "[document.scrollingElement.scrollWidth, document.scrollingElement.clientWidth]"
            )
            wide = page.evaluate(_WIDEST) if scroll > client else ""
            assert scroll <= client, f"{page.url}: {scroll} px wide at {width} px; widest: {wide}"
    finally:
        page.set_viewport_size(size)


_WIDEST = """() => {
  const right = e => e.getBoundingClientRect().right;
  const worst = [...document.body.querySelectorAll('*')].sort((a, b) => right(b) - right(a))[0];
  return worst ? worst.outerHTML.slice(0, 160) : '';
}"""

# The controls a person can use: what Tab should reach and what needs a label.
_CONTROLS = """() => [...document.querySelectorAll(
    'a[href], button, input:not([type=hidden]), select, textarea, summary, [tabindex]'
  )].filter(e => e.checkVisibility() && !e.disabled && e.tabIndex >= 0)"""

_LABELS = f"""() => ({_CONTROLS})().map(e => {{
  const tag = e.tagName.toLowerCase();
  let label;
  if (tag === 'input' && ['submit', 'button', 'reset'].includes(e.type)) label = e.value;
  else if (['input', 'select', 'textarea'].includes(tag))
    label = [...(e.labels || [])].filter(l => l.checkVisibility()).map(l => l.innerText).join(' ');
  else label = e.innerText;
  return [e.outerHTML.slice(0, 160), (label || '').trim()];
}})"""


def assert_controls_labelled(page) -> None:  # type: ignore[no-untyped-def]
    """Every control has a visible label that says something in words (not an emoji alone)."""
    unlabelled = [
        control
        for control, label in page.evaluate(_LABELS)
        if not any(ch.isalnum() for ch in label)
    ]
    assert unlabelled == [], f"{page.url}: controls without a visible label in words"


def assert_keyboard_reaches_every_control(page) -> None:  # type: ignore[no-untyped-def]
    """Tab from the top of the page focuses every visible control."""
    count = page.evaluate(
        f"() => {{ const all = ({_CONTROLS})(); all.forEach((e, i) => e.dataset.tabCheck = i);"
        " document.activeElement && document.activeElement.blur(); return all.length; }"
    )
    reached: set[str] = set()
    unmarked: set[str] = set()  # focused, but nothing shows it
    for _ in range(count + 3):  # a round, and past the end (the browser's own UI) and back
        page.keyboard.press("Tab")
        index, shown = page.evaluate(_FOCUSED)
        if index is not None:
            reached.add(index)
            if not shown:
                unmarked.add(index)
    missed = set(map(str, range(count))) - reached
    describe = "m => m.map(i => document.querySelector(`[data-tab-check='${i}']`).outerHTML)"
    names = page.evaluate(describe, sorted(missed, key=int))
    assert names == [], f"{page.url}: Tab never reaches these controls"
    names = page.evaluate(describe, sorted(unmarked, key=int))
    assert names == [], f"{page.url}: no focus ring (outline or box-shadow) shows these focused"


# The focused control's mark, and whether an outline or a shadow shows it has the focus.
_FOCUSED = """() => {
  const e = document.activeElement, s = e && getComputedStyle(e);
  const ring = s && ((s.outlineStyle !== 'none' && parseFloat(s.outlineWidth) > 0)
                     || s.boxShadow !== 'none');
  return [e?.dataset?.tabCheck ?? null, !!ring];
}"""


def check_page(page) -> None:  # type: ignore[no-untyped-def]
    """The checks every page passes: it fits a phone and a desktop, labelled, by keyboard."""
    assert_fits(page)
    assert_controls_labelled(page)
    assert_keyboard_reaches_every_control(page)


# Each piece of text's colour, and the first opaque background behind it (the page's canvas if
# none is set): computed by the browser, so inlined styles and dark-mode rules both count.
_TEXT_COLOURS = """() => {
  const rgb = c => (c.match(/[\\d.]+/g) || []).map(Number);
  const opaque = c => { const v = rgb(c); return v.length === 3 || (v.length > 3 && v[3] > 0); };
  const dark = matchMedia('(prefers-color-scheme: dark)').matches;
  const canvas = dark ? 'rgb(18, 18, 18)' : 'rgb(255, 255, 255)';
  const ground = e => {
    for (; e; e = e.parentElement) {
      const b = getComputedStyle(e).backgroundColor;
      if (opaque(b)) return b;
    }
    return canvas;
  };
  const own = e => [...e.childNodes].some(n => n.nodeType === 3 && n.textContent.trim());
  return [...document.body.querySelectorAll('*')]
    .filter(e => own(e) && e.checkVisibility())
    .map(e => [e.outerHTML.slice(0, 100), getComputedStyle(e).color, ground(e)]);
}"""


def _luminance(css_colour: str) -> float:
    channels = [float(n) / 255 for n in re.findall(r"[\d.]+", css_colour)[:3]]
    linear = [c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4 for c in channels]
    return 0.2126 * linear[0] + 0.7152 * linear[1] + 0.0722 * linear[2]


def contrast(one: str, other: str) -> float:
    """The WCAG 2 contrast ratio of two computed ``rgb(...)`` colours: 1 to 21."""
    dark, light = sorted((_luminance(one), _luminance(other)))
    return (light + 0.05) / (dark + 0.05)


def assert_text_contrast(page, minimum: float = 4.5) -> None:  # type: ignore[no-untyped-def]
    """Every piece of text on the page stands out from its background by ``minimum`` to 1
    (WCAG AA for body text), in the colour scheme the page is shown in."""
    weak = [
        (element, colour, ground, round(contrast(colour, ground), 2))
        for element, colour, ground in page.evaluate(_TEXT_COLOURS)
        if contrast(colour, ground) < minimum
    ]
    assert weak == [], f"{page.url}: text below {minimum}:1"
