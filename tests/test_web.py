"""The web endpoints over real HTTP: only a POST changes anything, and the pages are hardened."""

from __future__ import annotations

import html
import re
import socket
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import httpx
from sqlalchemy import text

from recommender import guards, links, render
from recommender.profiles import MAX_ENTRY_CHARS
from tests.catalogue import EMAIL, Entry, dump_text
from tests.clock import Clock
from tests.mail import hrefs
from tests.web_site import Site, snapshot

# What each state-changing link is sent by the one who means it.
FORMS = {
    "rate": {},
    "unsubscribe": {"List-Unsubscribe": "One-Click"},
    "manage": {"interests": "speaker diarization"},
}
READS = ("HEAD", "GET", "OPTIONS", "PUT", "DELETE", "PATCH")


def test_only_a_post_changes_state_on_any_link(site: Site) -> None:
    changed = []
    with httpx.Client(timeout=10) as client:
        for action, form in FORMS.items():
            for method in READS:
                before = snapshot(site.app)
                response = client.request(method, site.urls[action], data=form)
                assert response.status_code in (200, 405), (action, method)
                if snapshot(site.app) != before:
                    changed.append((action, method))
        assert changed == []
        for action, form in FORMS.items():
            before = snapshot(site.app)
            assert client.post(site.urls[action], data=form).status_code == 200
            assert snapshot(site.app) != before, action
    assert [r.vote for r in site.app.ratings(EMAIL)] == ["up"]
    assert site.app.subscriber(EMAIL).interests == ["speaker diarization"]
    assert not site.app.subscriber(EMAIL).active


def test_a_head_answers_like_a_get_without_a_body(site: Site) -> None:
    with httpx.Client(timeout=10) as client:
        for action in ("rate", "unsubscribe", "manage", "view-digest"):
            head = client.head(site.urls[action])
            assert head.status_code == 200 and head.content == b"", action
            assert (
                head.headers["content-type"]
                == client.get(site.urls[action]).headers["content-type"]
            )


def test_a_cross_site_post_is_refused_and_changes_nothing(site: Site) -> None:
    elsewhere = [
        {"Origin": "https://evil.example"},
        {"Origin": "null"},  # a sandboxed frame, or a page that hides where it is
        {"Origin": site.base.replace("http:", "https:")},
        {"Referer": "https://evil.example/page"},
        {"Origin": "https://evil.example", "Referer": f"{site.base}/manage/x"},
    ]
    before = snapshot(site.app)
    with httpx.Client(timeout=10) as client:
        for action, form in FORMS.items():
            for headers in elsewhere:
                refused = client.post(site.urls[action], data=form, headers=headers)
                assert refused.status_code == 403, (action, headers)
                assert "Nothing was changed" in refused.text
        assert snapshot(site.app) == before

        # Our own origin (base_url's, or the host the request was sent to) may POST.
        assert client.post(site.urls["rate"], headers={"Origin": site.base}).status_code == 200
        own_host = site.base.replace("127.0.0.1", "localhost")
        same = client.post(
            site.urls["manage"],
            data=FORMS["manage"],
            headers={"Host": own_host.removeprefix("http://"), "Referer": f"{own_host}/manage/x"},
        )
        assert same.status_code == 200
        # Neither header: a mail client's RFC 8058 one-click unsubscribe.
        one_click = client.post(site.urls["unsubscribe"], data=FORMS["unsubscribe"])
        assert one_click.status_code == 200
    assert [r.vote for r in site.app.ratings(EMAIL)] == ["up"]
    assert site.app.subscriber(EMAIL).interests == ["speaker diarization"]
    assert not site.app.subscriber(EMAIL).active


def test_a_post_carrying_a_file_changes_nothing_and_one_click_in_multipart_still_works(
    site: Site,
) -> None:
    before = snapshot(site.app)
    with httpx.Client(timeout=10) as client:
        for name, form in FORMS.items():
            sent = client.post(site.urls[name], data=form, files={"must_not": ("a.txt", b"x")})
            assert sent.status_code == 400, name
            assert "A file was sent" in sent.text and "Nothing was changed." in sent.text
        assert snapshot(site.app) == before
        # RFC 8058 lets a mail client send its one-click unsubscribe as multipart/form-data.
        one_click = client.post(
            site.urls["unsubscribe"], files={"List-Unsubscribe": (None, "One-Click")}
        )
        assert one_click.status_code == 200
    assert not site.app.subscriber(EMAIL).active


def test_a_field_sent_twice_is_refused_naming_it_and_changes_nothing(site: Site) -> None:
    before = snapshot(site.app)
    # Each link's form with one field twice (no page sends that): the field that is.
    twice = {
        "rate": ({"undo": ["0", "1"]}, "undo"),
        "unsubscribe": ({"List-Unsubscribe": ["One-Click", "One-Click"]}, "List-Unsubscribe"),
        "manage": ({"form": "size", "digest_size": ["5", "50"], "min_score": ""}, "digest_size"),
    }
    with httpx.Client(timeout=10) as client:
        for name, (form, repeated) in twice.items():
            sent = client.post(site.urls[name], data=form)
            assert sent.status_code == 400, name
            said = html.unescape(sent.text)
            assert f"The field '{repeated}' was sent more than once" in said, name
            assert "Nothing was changed." in said, name
        both = client.post(site.urls["manage"], data={"form": ["pause", "unsubscribe"]})
        assert both.status_code == 400 and "The field 'form'" in html.unescape(both.text)
        # a file under a field's name, before its text: the file is what is refused
        parts = [
            'name="form"\r\n\r\nfollows',
            'name="must_not"; filename="a.txt"\r\nContent-Type: text/plain\r\n\r\nx',
            'name="must_not"\r\n\r\nx',
        ]
        body = "".join(f"--b\r\nContent-Disposition: form-data; {part}\r\n" for part in parts)
        file_first = client.post(
            site.urls["manage"],
            content=body + "--b--\r\n",
            headers={"content-type": "multipart/form-data; boundary=b"},
        )
        assert file_first.status_code == 400 and "A file was sent" in file_first.text
    assert snapshot(site.app) == before
    assert site.app.subscriber(EMAIL).active and not site.app.subscriber(EMAIL).paused


def test_pages_at_a_credential_url_are_not_cached_framed_or_leaked(site: Site) -> None:
    with httpx.Client(timeout=10) as client:
        responses = [client.get(url) for url in site.urls.values()]
        responses.append(client.get(site.urls["rate"][:-3] + "xyz"))  # the "does not work" page
        responses.append(client.options(site.urls["manage"]))
        responses.append(client.post(site.urls["rate"]))
    for response in responses:
        headers = response.headers
        csp = headers["content-security-policy"]
        policy = dict(part.strip().split(" ", 1) for part in csp.split(";"))
        assert policy["default-src"] == "'none'"
        assert policy["frame-ancestors"] == "'none'" and policy["form-action"] == "'self'"
        assert policy["script-src"] == "'self'"  # the app's own files only: nothing inline
        assert headers["x-frame-options"] == "DENY"
        assert headers["referrer-policy"] in ("no-referrer", "same-origin")
        assert headers["cache-control"] == "no-store"
        assert headers["x-content-type-options"] == "nosniff"


def is_friendly_page(response: httpx.Response, heading: str) -> bool:
    """Whether ``response`` is one of the site's HTML pages, headed ``heading``, hardened as
    every page is, and without a traceback."""
    return (
        response.headers["content-type"].startswith("text/html")
        and '<html lang="en">' in response.text
        and f"<h1>{heading}</h1>" in response.text
        and "Traceback" not in response.text
        and "content-security-policy" in response.headers
    )


def test_an_unknown_page_or_a_method_a_page_does_not_take_gets_a_friendly_page(
    site: Site,
) -> None:
    before = snapshot(site.app)
    with httpx.Client(timeout=10) as client:
        for path in ("/nope", "/", "/manage/", "/r", "/static/nope.js", "/%ff"):
            missing = client.get(site.base + path)
            assert missing.status_code == 404, path
            assert is_friendly_page(missing, "Page not found"), path
        head = client.head(site.base + "/nope")
        assert head.status_code == 404 and head.content == b""
        assert head.headers["content-type"].startswith("text/html")
        for method, action in (("POST", "view-digest"), ("PUT", "manage"), ("DELETE", "rate")):
            refused = client.request(method, site.urls[action], data=FORMS.get(action, {}))
            assert refused.status_code == 405, (method, action)
            assert is_friendly_page(refused, "This page cannot do that"), (method, action)
            assert "GET" in refused.headers["allow"], (method, action)
    assert snapshot(site.app) == before


def test_a_malformed_form_body_is_refused_with_a_friendly_page_and_changes_nothing(
    site: Site,
) -> None:
    before = snapshot(site.app)
    bodies = {
        "multipart without a boundary": (b"x", "multipart/form-data"),
        "multipart that is not": (b"garbage", "multipart/form-data; boundary=b"),
        "more fields than any form": (
            "&".join(f"f{n}=1" for n in range(2000)).encode() + b"&form=pause",
            "application/x-www-form-urlencoded",
        ),
    }
    with httpx.Client(timeout=10) as client:
        for action in FORMS:
            for what, (body, kind) in bodies.items():
                sent = client.post(site.urls[action], content=body, headers={"content-type": kind})
                assert sent.status_code == 400, (action, what)
                assert is_friendly_page(sent, "This request could not be read"), (action, what)
    assert snapshot(site.app) == before
    assert site.app.subscriber(EMAIL).active


def test_a_failure_inside_gets_a_page_without_a_traceback(site: Site) -> None:
    with site.app.engine.begin() as connection:  # the database breaks under the running site
        connection.execute(text("DROP TABLE ratings"))
    with httpx.Client(timeout=10) as client:
        failed = client.get(site.urls["manage"])
    assert failed.status_code == 500
    assert is_friendly_page(failed, "Something went wrong on our side")
    assert "ratings" not in failed.text  # nothing of what went wrong


def test_a_body_over_the_limit_is_refused_before_it_is_read(site: Site) -> None:
    before = snapshot(site.app)
    url = httpx.URL(site.urls["unsubscribe"])
    # Announced: answered at once, though not a byte of the 500 MB follows.
    with socket.create_connection((url.host, url.port), timeout=5) as raw:
        raw.sendall(
            f"POST {url.raw_path.decode()} HTTP/1.1\r\nHost: {url.netloc.decode()}\r\n"
            "Content-Type: application/x-www-form-urlencoded\r\n"
            "Content-Length: 500000000\r\n\r\n".encode()
        )
        assert raw.recv(1024).startswith(b"HTTP/1.1 413 ")

    # Streamed with no length: cut off once it passes the limit.
    def chunks() -> Iterator[bytes]:
        yield b"List-Unsubscribe=One-Click&pad="
        for _ in range(guards.MAX_BODY // 8192 + 1):
            yield b"x" * 8192

    with httpx.Client(timeout=10) as client:
        for action in FORMS:
            streamed = client.post(
                site.urls[action],
                content=chunks(),
                headers={"Content-Type": "application/x-www-form-urlencoded"},
            )
            assert streamed.status_code == 413, action
            assert is_friendly_page(streamed, "Too much at once"), action
        # Not a form: no handler would read it, and the server would drain it after acting.
        for action in FORMS:
            streamed = client.post(
                site.urls[action],
                content=chunks(),
                headers={"Content-Type": "application/octet-stream"},
            )
            assert streamed.status_code == 413, action
    assert snapshot(site.app) == before
    # Under the limit, a large form is read whole: 150 interests of the longest a profile
    # takes (profiles.MAX_ENTRY_CHARS), 60 KB
    interests = [f"{n:03d}" + "x" * (MAX_ENTRY_CHARS - 3) for n in range(150)]
    with httpx.Client(timeout=10) as client:
        fits = client.post(site.urls["manage"], data={"interests": "\n".join(interests)})
        assert fits.status_code == 200
    assert site.app.subscriber(EMAIL).interests == interests


def test_a_replayed_rating_post_adds_no_history_row(site: Site, clock: Clock) -> None:
    with httpx.Client(timeout=10) as client:
        for _ in range(3):
            assert client.post(site.urls["rate"]).status_code == 200
            clock.now += timedelta(minutes=1)
        assert [r.vote for r in site.app.ratings(EMAIL, history=True)] == ["up"]
        for _ in range(2):
            assert client.post(site.urls["rate"], data={"undo": "1"}).status_code == 200
            clock.now += timedelta(minutes=1)
        assert client.post(site.urls["rate"]).status_code == 200
    assert [r.vote for r in site.app.ratings(EMAIL, history=True)] == ["up", "clear", "up"]


def test_an_expired_unsubscribe_or_manage_link_says_it_has_expired(
    site: Site, clock: Clock
) -> None:
    clock.now += links.LIFETIMES["unsubscribe"] + timedelta(days=1)
    with httpx.Client(timeout=10) as client:
        for action in ("unsubscribe", "manage"):
            for method in ("GET", "POST"):
                old = client.request(method, site.urls[action], data=FORMS[action])
                assert old.status_code == 410 and "expired" in old.text, (action, method)
    assert site.app.subscriber(EMAIL).active


def test_unsubscribing_offers_to_keep_the_digest_and_then_to_subscribe_again(site: Site) -> None:
    url = site.urls["unsubscribe"]
    with httpx.Client(timeout=10) as client:
        asked = client.get(url)
        assert "Stop the digests?" in asked.text and 'class="danger"' in asked.text
        (keep,) = [u for u in hrefs(asked.text) if "keep=1" in u]
        kept = client.get(httpx.URL(url).join(keep))
        assert "Your digest continues" in kept.text and site.app.subscriber(EMAIL).active

        done = client.post(url)
        assert "You are unsubscribed" in done.text and "Subscribe again" in done.text
        assert not site.app.subscriber(EMAIL).active
        # The same link, opened again later, offers the way back too.
        assert "Subscribe again" in client.get(url).text

        back = client.post(url, data={"resubscribe": "1"})
        assert "Welcome back" in back.text and site.app.subscriber(EMAIL).active
        # A one-click unsubscribe from a mail client still works after that.
        assert client.post(url, data=FORMS["unsubscribe"]).text == "unsubscribed\n"
    assert not site.app.subscriber(EMAIL).active


def test_a_rating_link_offers_a_way_out_that_changes_nothing(site: Site) -> None:
    url = site.urls["rate"]
    with httpx.Client(timeout=10) as client:
        asked = client.get(url)
        assert "More like this?" in asked.text and "Yes, more like this" in asked.text
        (out,) = [u for u in hrefs(asked.text) if "keep=1" in u]
        assert client.head(httpx.URL(url).join(out)).status_code == 200
        left = client.get(httpx.URL(url).join(out))
        assert "Nothing changed" in left.text and "stays unrated" in left.text
        assert "Yes, more like this" not in left.text  # no button to press by mistake
    assert site.app.ratings(EMAIL, history=True) == []


def test_a_rating_page_cuts_a_long_abstract_with_an_ellipsis_and_a_more_link(
    site: Site, tmp_path: Path
) -> None:
    title = "A Long Study of Graph Neural Networks"
    abstract = "Graph neural networks pass messages along edges, layer after layer. " * 12
    dump = tmp_path / "long.txt"
    dump.write_text(dump_text([Entry(title, abstract)], "Mar 20"))
    site.app.ingest([dump])
    paper = site.app.paper(title)
    signer = site.app.signer()
    subscriber = signer.check_rating(site.urls["rate"].rsplit("/", 1)[1]).subscriber_id
    url = links.rating_url(site.base, signer.rating(subscriber, paper.id, "up"))
    page = httpx.get(url, timeout=10).text
    shown = re.search(r'<p class="muted">(.*?) <a href="([^"]+)">more</a></p>', page, re.S)
    assert shown, page
    assert shown[1] == render.trim(abstract, 400)  # cut at a word, as the email cuts it
    assert shown[1].endswith("layer after…") and "..." not in shown[1]
    assert html.unescape(shown[2]) == paper.read_url
