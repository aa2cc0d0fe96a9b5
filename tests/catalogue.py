"""The topical day the tests share: nine papers on three topics, and subscribers to read them.

:func:`topical_dump` writes the day's dump, :func:`profile` the test subscriber's profile
(:data:`EMAIL`, who reads graph papers), :func:`topical_day` puts both into an app, and
:func:`readers` adds more subscribers of graph papers.
"""

from __future__ import annotations

from datetime import date
from pathlib import Path

from recommender.core import Recommender
from tests.builders import Entry, dump_text
from tests.clock import saved_at_the_test_clock

EMAIL = "ada@example.org"

TOPICS = {
    "graphs": [
        "Graph Neural Networks for Molecule Property Prediction",
        "Message Passing on Graphs with Attention over Neighbours",
        "Scalable Graph Neural Networks for Citation Networks",
    ],
    "speech": [
        "Speech Recognition with Streaming Transducers",
        "Robust Speech Recognition in Noisy Call Centres",
        "Speaker Diarization for Multi-Speaker Speech",
    ],
    "vision": [
        "Object Detection in Aerial Images with Transformers",
        "Semantic Segmentation of Street Scenes at Night",
        "Image Classification under Heavy Label Noise",
    ],
}
ABSTRACTS = {
    "graphs": "We train graph neural networks that pass messages between nodes of molecular "
    "graphs and citation graphs, improving node classification and graph regression.",
    "speech": "We build speech recognition models for audio with acoustic noise, decoding "
    "spoken words from waveforms with streaming transducers and speaker embeddings.",
    "vision": "We study convolutional and transformer models for images, detecting objects "
    "and segmenting pixels in photographs, trained on labelled image datasets.",
}


def topical_dump(path: Path, listing: str = "Mar 20") -> Path:
    entries = [
        Entry(title, f"{ABSTRACTS[topic]} Variant {n}.")
        for topic, titles in TOPICS.items()
        for n, title in enumerate(titles)
    ]
    path.write_text(dump_text(entries, listing))
    return saved_at_the_test_clock(path)


def profile(tmp_path: Path, interests: str = '"graph neural networks"') -> Path:
    path = tmp_path / "ada.toml"
    path.write_text(f'email = "{EMAIL}"\ninterests = [{interests}]\n')
    return path


def topical_day(app: Recommender, tmp_path: Path) -> Recommender:
    """``app`` with the day of topical papers ingested and the test subscriber subscribed."""
    app.ingest([topical_dump(tmp_path / "d.txt")], reference_date=date(2026, 3, 21))
    app.subscribe(profile(tmp_path))
    return app


def readers(app: Recommender, tmp_path: Path, count: int) -> list[str]:
    """Subscribe ``count`` readers of graph papers; return their addresses."""
    folder = tmp_path / "readers"
    folder.mkdir()
    addresses = [f"reader{n}@example.org" for n in range(count)]
    for address in addresses:
        (folder / f"{address}.toml").write_text(
            f'email = "{address}"\ninterests = ["graph neural networks"]\n'
        )
    app.subscribe(folder)
    return addresses
