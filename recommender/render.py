"""Render a digest from ``templates/``: an HTML and a plain-text version from one context.

Jinja2 autoescapes the HTML templates, so everything that came from a dump is escaped; the
CSS is inlined with ``css-inline`` (the dark-mode ``@media`` rule stays in a ``<style>``
block, as mail clients expect). No remote images, no scripts. Each title links to where the
paper can be read, as :mod:`recommender.reading` says. Sending is
:mod:`recommender.message` and :mod:`recommender.mailer`'s business.
"""

from __future__ import annotations

import functools
import math
import re
import textwrap
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

import css_inline
import jinja2
import markupsafe

from recommender import reading

# A trimmed abstract keeps at most this many characters, cut at a word boundary.
# About four lines on a phone, so a paper fits a screen; the title and "more" lead on.
ABSTRACT_CHARS = 200
# The fewest papers a standing is given as a share of (:func:`standing`): below, its place.
PERCENT_FROM = 100
# A day's papers are shown to many subscribers: their trimmed and wrapped abstracts and safe
# links are kept for this many distinct values of each.
CACHE_SIZE = 8192


@dataclass(frozen=True)
class DigestItem:
    paper_id: str
    title: str
    abstract: str
    reason: str
    links: list[tuple[str, str]]  # (kind, url): code, project or video
    published: date | None
    upvotes: int | None
    score: float
    exploration: bool
    up_url: str
    down_url: str
    arxiv_id: str | None = None  # as stored; an arXiv link among ``links`` may give it too
    hf_page: str | None = None
    interest: str | None = None  # the named interest it is in the digest for
    followed: str | None = None  # the followed author who wrote it (as the profile names them)
    # The share of the digest's candidates (the papers it chose from) this one scores above
    # (0 to 1), and how many candidates there were: the score as a person reads it.
    beats: float | None = None
    among: int = 0

    @property
    def standing(self) -> str | None:
        """The readable score (:func:`standing`); none for the exploration pick, which is
        unlike the rest of the digest by design, or where the share is not known."""
        if self.exploration or self.beats is None:
            return None
        return standing(self.beats, self.among)

    @property
    def short_abstract(self) -> str:
        return trim(self.abstract, ABSTRACT_CHARS)

    @property
    def abstract_cut(self) -> bool:
        """Whether :attr:`short_abstract` leaves part of the abstract out."""
        return len(" ".join(self.abstract.split())) > ABSTRACT_CHARS

    @property
    def where_to_read(self) -> reading.ReadLinks:
        return _read_links(self.title, self.arxiv_id, self.hf_page, tuple(map(tuple, self.links)))

    @property
    def read_url(self) -> str:
        """What the title links to: the arXiv page, the Hugging Face page or a title search."""
        return self.where_to_read.read_url

    @property
    def labelled_links(self) -> list[tuple[str, str]]:
        """The other links, labelled: PDF, Hugging Face, code, project page, video."""
        return list(self.where_to_read.extra)


@dataclass(frozen=True)
class DigestContext:
    subscriber_name: str
    subscriber_email: str
    digest_date: date
    items: list[DigestItem]
    manage_url: str
    unsubscribe_url: str
    browser_url: str
    product: str = "Paper digest"
    today_url: str = ""  # the page of all the newest day's papers, ranked (none: not linked)
    extra: dict[str, str] = field(default_factory=dict)

    @property
    def count(self) -> int:
        return len(self.items)

    @property
    def date_text(self) -> str:
        return self.digest_date.strftime("%a %-d %b %Y")

    @property
    def greeting_name(self) -> str:
        return self.subscriber_name or self.subscriber_email.split("@")[0]


@dataclass(frozen=True)
class RenderedDigest:
    subject: str
    html: str
    text: str


def standing(beats: float, among: int) -> str:
    """A paper's score as a person reads it, from the share ``beats`` of the ``among`` papers
    it was chosen from that it scores above: "Top 5% of 120 new papers for you" (new: arrived
    since the last digest, not yet sent or rated).

    Never the raw score, a margin of no fixed scale. The top share is rounded up, so a paper
    is never said to be better placed than it is. Its place is given instead in the lower half
    (an interest's or a followed author's pick) and among fewer than :data:`PERCENT_FROM`
    papers, where a share is coarser than the place ("Top 12% of 10" is the 2nd): "Ranks 2nd
    of 10 new papers for you".
    """
    if among <= 1:
        return "The only new paper for you"
    if beats >= 1:
        return f"Your best match of {among} new papers"
    top = max(1, math.ceil(round((1 - beats) * 100, 6)))
    if top <= 50 and among >= PERCENT_FROM:
        return f"Top {top}% of {among} new papers for you"
    place = among - round(beats * (among - 1))
    return f"Ranks {ordinal(place)} of {among} new papers for you"


def ordinal(n: int) -> str:
    """1st, 2nd, 3rd, 4th, ..., 11th, 12th, 13th, ..., 21st."""
    suffix = "th" if 10 <= n % 100 <= 20 else {1: "st", 2: "nd", 3: "rd"}.get(n % 10, "th")
    return f"{n}{suffix}"


@functools.lru_cache(maxsize=CACHE_SIZE)
def trim(text: str, limit: int) -> str:
    """``text`` cut at the last word boundary before ``limit`` characters, with an ellipsis."""
    text = " ".join(text.split())
    if len(text) <= limit:
        return text
    cut = text[: limit + 1].rsplit(" ", 1)[0] if " " in text[:limit] else text[:limit]
    return cut.rstrip(" ,;:.-") + "…"


@functools.lru_cache(maxsize=CACHE_SIZE)
def _read_links(
    title: str, arxiv_id: str | None, hf_page: str | None, links: tuple[tuple[str, str], ...]
) -> reading.ReadLinks:
    return reading.read_links(title, arxiv_id=arxiv_id, hf_page=hf_page, links=links)


def one_line(text: str) -> str:
    """``text`` with every run of whitespace and control characters made one space."""
    if not text.isprintable():  # (a space is printable; any other whitespace is not)
        text = "".join(ch if ch.isprintable() else " " for ch in text)
    return " ".join(text.split())


@functools.lru_cache(maxsize=CACHE_SIZE)
def wrap(text: str, width: int) -> str:
    """``text`` wrapped to ``width`` columns as Jinja's ``wordwrap`` filter wraps it: each line
    a paragraph, long words broken, breaks after hyphens too; lines joined with LF."""
    return "\n".join(_wrap_paragraph(line, width) for line in text.splitlines())


def _wrap_paragraph(line: str, width: int) -> str:
    words = line.split(" ")
    if "-" in line or line.split() != words or max(map(len, words)) > width:
        return "\n".join(
            textwrap.wrap(line, width=width, expand_tabs=False, replace_whitespace=False)
        )
    # Words that fit, one space between them, no other whitespace, no hyphen: textwrap's
    # result is plain greedy filling, many times cheaper done here.
    lines, current = [], words[0]
    for word in words[1:]:
        if len(current) + 1 + len(word) <= width:
            current += " " + word
        else:
            lines.append(current)
            current = word
    lines.append(current)
    return "\n".join(lines)


# Bidi controls (embeddings, overrides, isolates). A dump keeps what it says, so a stored title
# may hold one; an unclosed override turns round every text shown after it ("(you rated up)"
# reads "(pu detar uoy)"), so no page or email shows one. Right-to-left letters are kept.
_BIDI_CONTROLS = re.compile("[\u202a-\u202e\u2066-\u2069]")


def without_bidi_controls(value: object) -> object:
    """``value`` with no bidi control if it is text (markup stays markup): the ``finalize`` of
    every template environment, so each ``{{ }}`` of the emails and the pages goes through it."""
    if isinstance(value, str) and _BIDI_CONTROLS.search(value):
        cleaned = _BIDI_CONTROLS.sub("", value)
        return markupsafe.Markup(cleaned) if isinstance(value, markupsafe.Markup) else cleaned
    return value


class Templates:
    """The Jinja2 environment over a templates folder, and the CSS inliner."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.env = jinja2.Environment(
            loader=jinja2.FileSystemLoader(str(folder)),
            autoescape=jinja2.select_autoescape(enabled_extensions=("html",), default=False),
            undefined=jinja2.StrictUndefined,
            trim_blocks=True,
            lstrip_blocks=True,
            keep_trailing_newline=True,
            finalize=without_bidi_controls,
        )
        self.env.filters["wrap"] = wrap
        # The rules are inlined; only the at-rules (dark mode) stay, in a <style> of their own.
        self.inliner = css_inline.CSSInliner(
            keep_style_tags=False, keep_at_rules=True, load_remote_stylesheets=False
        )

    def render_pair(self, name: str, context: object) -> tuple[str, str]:
        """The ``NAME.html`` (CSS inlined) and ``NAME.txt`` templates rendered with ``d``."""
        values = {"d": context}
        html = self.env.get_template(f"{name}.html").render(values)
        text = self.env.get_template(f"{name}.txt").render(values)
        return self.inliner.inline(html), text


def render_digest(templates: Templates, context: DigestContext) -> RenderedDigest:
    html, text = templates.render_pair("digest", context)
    papers = "paper" if context.count == 1 else "papers"
    subject = f"{context.product} for {context.date_text}: {context.count} new {papers}"
    return RenderedDigest(one_line(subject), html, text)


def render_nothing_new(templates: Templates, context: DigestContext) -> RenderedDigest:
    html, text = templates.render_pair("nothing_new", context)
    subject = f"{context.product} for {context.date_text}: nothing new"
    return RenderedDigest(one_line(subject), html, text)
