"""Write dump text for tests: a small builder instead of copies of real dumps."""

from __future__ import annotations

from dataclasses import dataclass

HEADER = [
    "new",
    "Get trending papers in your email inbox!",
    "Subscribe",
    "byAK and the research community",
]


@dataclass
class Entry:
    title: str
    abstract: str
    authors: int | None = None
    date: str | None = None  # as printed: "Jun 2", "Jun 27, 2024"
    upvotes: int | None = None

    def blocks(self) -> list[str]:
        blocks = [self.title, self.abstract]
        if self.date is not None:
            last = self.date + (f" {self.upvotes}" if self.upvotes is not None else "")
            count = (
                ""
                if self.authors is None
                else f"  • {self.authors} author" + ("s" if self.authors != 1 else "")
            )
            blocks.append("\n".join(line for line in (count, "·", last) if line))
        return blocks


def entry(n: int, **fields: object) -> Entry:
    """A plausible paper, numbered so titles differ."""
    values: dict[str, object] = {
        "title": f"Paper {n}: Learning Things Number {n}",
        "abstract": (
            f"We study problem {n} and propose a method that learns it well. "
            f"Experiments on {n + 2} benchmarks show gains. Code: https://github.com/lab/p{n}."
        ),
    }
    values.update(fields)
    return Entry(**values)  # type: ignore[arg-type]


def dump_text(entries: list[Entry], listing: str = "Mar 20", *, final_newline: bool = True) -> str:
    blocks = [*HEADER, listing]
    for item in entries:
        blocks.extend(item.blocks())
    return "\n\n".join(blocks) + ("\n" if final_newline else "")
