"""Where a paper can be read: the URL its title links to, and the other labelled links."""

from __future__ import annotations

from urllib.parse import parse_qs, urlsplit

from recommender.reading import read_links, title_search_url

ABS = "https://arxiv.org/abs/2603.01234"


def test_a_paper_known_only_by_its_title_links_to_an_arxiv_title_search() -> None:
    found = read_links("Graph  Neural\nNetworks", links=[("code", "https://github.com/lab/x")])
    assert found.read_url == (
        "https://arxiv.org/search/?query=Graph+Neural+Networks&searchtype=title"
    )
    assert found.read_label == "arXiv title search"
    assert found.extra == (("Code", "https://github.com/lab/x"),)


def test_a_title_with_characters_that_need_encoding_gives_a_search_for_that_title() -> None:
    title = 'Q&A #1: "Ünïcode" <b>Graphs</b> 100% + more?'
    url = title_search_url(title)
    assert read_links(title).read_url == url
    parts = urlsplit(url)
    assert (parts.scheme, parts.netloc, parts.path, parts.fragment) == (
        "https",
        "arxiv.org",
        "/search/",
        "",
    )
    assert parse_qs(parts.query) == {"query": [title], "searchtype": ["title"]}
    assert not set('"<> #') & set(url) and url.isascii()


def test_an_arxiv_id_links_the_title_to_the_abstract_page_with_the_pdf_beside_it() -> None:
    found = read_links(
        "T", arxiv_id="2603.01234", hf_page="https://huggingface.co/papers/2603.01234"
    )
    assert (found.read_url, found.read_label) == (ABS, "arXiv")
    assert found.extra == (
        ("PDF", "https://arxiv.org/pdf/2603.01234"),
        ("Hugging Face", "https://huggingface.co/papers/2603.01234"),
    )


def test_an_arxiv_link_among_the_links_gives_the_id_and_is_not_shown_twice() -> None:
    links = [
        ("project", "https://arxiv.org/pdf/2603.01234v2"),
        ("code", "https://github.com/lab/x"),
        ("project", "https://arxiv.org/abs/2603.01234"),
        ("video", "https://youtu.be/abc"),
    ]
    found = read_links("T", links=links)
    assert found.read_url == ABS
    assert found.extra == (
        ("PDF", "https://arxiv.org/pdf/2603.01234"),
        ("Code", "https://github.com/lab/x"),
        ("Video", "https://youtu.be/abc"),
    )


def test_a_paper_from_hugging_face_without_an_arxiv_id_links_to_its_page() -> None:
    page = "https://huggingface.co/papers/2603.01234"
    found = read_links("T", hf_page=page, links=[("project", "https://lab.example.org/p")])
    assert (found.read_url, found.read_label) == (page, "Hugging Face")
    assert found.extra == (("Project page", "https://lab.example.org/p"),)
    from_links = read_links("T", links=[("project", page)])
    assert (from_links.read_url, from_links.extra) == (page, ())


def test_links_that_are_no_web_link_are_dropped_and_odd_characters_encoded() -> None:
    found = read_links(
        "T",
        hf_page="javascript:alert(1)",
        links=[("odd", "javascript:alert(1)"), ("code", 'https://github.com/a/b"><x')],
    )
    assert found.read_url == title_search_url("T")
    assert found.extra == (("Code", "https://github.com/a/b%22%3E%3Cx"),)
