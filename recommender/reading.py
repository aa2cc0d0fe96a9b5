"""Where a paper can be read: the one URL its title links to, and the other labelled links.

Pure functions over what is known of a paper (its title, its arXiv id, its Hugging Face page,
the links found in its abstract); no I/O. The email, the browser view and the CLI all show
what :func:`read_links` gives, so a paper links to the same place everywhere. Every URL given
back is made safe with :func:`safe_url` (http(s) only, odd characters percent-encoded), so
callers may put them in HTML attributes or a terminal as they are.
"""

from __future__ import annotations

import functools
from collections.abc import Iterable
from dataclasses import dataclass
from urllib.parse import quote, urlencode, urlsplit

from recommender.sources.base import arxiv_id as find_arxiv_id

ABS_PAGE = "https://arxiv.org/abs/{id}"
PDF_PAGE = "https://arxiv.org/pdf/{id}"
# arXiv's own title search, for a paper known only by its title (from a dump): nearly every
# paper a dump lists is on arXiv, the search needs no account, no script and no tracking, and
# the address is stable. The title goes in unquoted: arXiv matches every word, so the paper is
# found even where the dump's title differs from arXiv's by a dash or an accent, which an
# exact phrase in quotes would miss.
TITLE_SEARCH = "https://arxiv.org/search/"
LINK_LABELS = {"code": "Code", "project": "Project page", "video": "Video"}
# Distinct papers (title and links) whose read links are kept: a day's papers go to many people.
CACHE_SIZE = 8192


@dataclass(frozen=True)
class ReadLinks:
    """Where to read a paper: ``read_url`` (what its title links to) and the other links."""

    read_url: str
    read_label: str  # what read_url is: "arXiv", "Hugging Face" or "arXiv title search"
    extra: tuple[tuple[str, str], ...]  # (label, url): PDF, Hugging Face, code, project, video


@functools.lru_cache(maxsize=CACHE_SIZE)
def safe_url(url: str) -> str | None:
    """A link from a dump made safe to put in an email: http(s) only, odd characters
    percent-encoded (so no quote or angle bracket survives); ``None`` if it is no web link."""
    url = url.strip()
    if urlsplit(url).scheme.lower() not in ("http", "https"):
        return None
    return quote(url, safe=":/?#[]@!$&'()*+,;=%~-._")


def title_search_url(title: str) -> str:
    """arXiv's title search for ``title`` (whitespace collapsed), URL-encoded."""
    query = urlencode({"query": " ".join(title.split()), "searchtype": "title"})
    return f"{TITLE_SEARCH}?{query}"


def read_links(
    title: str,
    *,
    arxiv_id: str | None = None,
    hf_page: str | None = None,
    links: Iterable[tuple[str, str]] = (),
) -> ReadLinks:
    """Where to read the paper titled ``title``.

    The title links to the arXiv abstract page if the arXiv id is known, else to the paper's
    Hugging Face page, else to an arXiv title search. ``links`` are (kind, url) pairs as found
    in the abstract (code, project, video): an arxiv.org/abs or /pdf link among them gives the
    arXiv id, a huggingface.co/papers/ link the Hugging Face page, where those are not given.
    The extra links are the PDF, the Hugging Face page (when the title does not already link
    to it), then the rest of ``links`` in their order; links that are no web link are dropped.
    """
    others: list[tuple[str, str]] = []
    for kind, url in links:
        safe = safe_url(url)
        if safe is None:
            continue
        found = find_arxiv_id(safe) if urlsplit(safe).hostname in _ARXIV_HOSTS else None
        if found is not None:
            arxiv_id = arxiv_id or found
        elif _is_hf_paper_page(safe):
            hf_page = hf_page or safe
        else:
            others.append((LINK_LABELS.get(kind, kind.title()), safe))
    hf_page = safe_url(hf_page) if hf_page else None
    extra: list[tuple[str, str]] = []
    if arxiv_id:
        number = quote(arxiv_id.strip(), safe="/.")
        read_url, read_label = ABS_PAGE.format(id=number), "arXiv"
        extra.append(("PDF", PDF_PAGE.format(id=number)))
        if hf_page:
            extra.append(("Hugging Face", hf_page))
    elif hf_page:
        read_url, read_label = hf_page, "Hugging Face"
    else:
        read_url, read_label = title_search_url(title), "arXiv title search"
    seen = {read_url, *(url for _, url in extra)}
    for label, url in others:
        if url not in seen:
            seen.add(url)
            extra.append((label, url))
    return ReadLinks(read_url, read_label, tuple(extra))


_ARXIV_HOSTS = ("arxiv.org", "www.arxiv.org", "export.arxiv.org")


def _is_hf_paper_page(url: str) -> bool:
    parts = urlsplit(url)
    host = (parts.hostname or "").removeprefix("www.")
    return host == "huggingface.co" and parts.path.startswith("/papers/")
