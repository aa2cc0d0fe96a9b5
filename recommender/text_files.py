"""Read the text files people hand the tool (dumps, profiles, the settings file, rating exports)
and write the files it hands them (exports, previews, messages) whole or not at all.

They come from many editors: UTF-8 with or without a byte-order mark (Windows Notepad writes
one), or UTF-16 with its byte-order mark (what Windows PowerShell's ``>`` and Notepad's
"Unicode" save). :func:`decode` reads each of these as its text; anything else is refused with
:class:`UndecodableText`, which gives the line of the first bad byte. The callers name the
file, in their own error.

:func:`replace_file` writes a file whole or not at all: a crash or a full disk leaves the old
file (or none), never half of the new one.
"""

from __future__ import annotations

import codecs
import os
import tempfile
from pathlib import Path

UTF16_BOMS = (codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)


class UndecodableText(ValueError):
    """Bytes that are not text in an encoding :func:`decode` reads: why, and on which line."""

    def __init__(self, reason: str, line: int) -> None:
        self.reason, self.line = reason, line
        super().__init__(f"line {line}: {reason}")


def is_utf16(data: bytes) -> bool:
    """Whether ``data`` starts with a UTF-16 byte-order mark (so its NUL bytes are text)."""
    return data.startswith(UTF16_BOMS)


def decode(data: bytes) -> str:
    """The text of ``data``: UTF-16 after its byte-order mark, else UTF-8 (a byte-order mark
    skipped). Either decoder refuses lone surrogates, which no database could store."""
    if is_utf16(data):
        try:
            return data.decode("utf-16")
        except UnicodeDecodeError as exc:
            line = data[: exc.start].decode("utf-16", errors="replace").count("\n") + 1
            raise UndecodableText("not UTF-16 text (a broken or cut character)", line) from exc
    # The mark is cut off here, not by the "utf-8-sig" codec: that codec's error positions
    # count from after the mark, and named a byte (and a line) three bytes off.
    body = data.removeprefix(codecs.BOM_UTF8)
    try:
        return body.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = body[: exc.start].count(b"\n") + 1
        reason = f"not UTF-8 text (invalid byte 0x{body[exc.start]:02x})"
        raise UndecodableText(reason, line) from exc


def read(path: Path) -> str:
    """The text of the file at ``path`` (:func:`decode`); ``OSError`` if it cannot be read."""
    return decode(path.read_bytes())


def replace_file(path: Path, data: bytes) -> None:
    """Write ``data`` to ``path`` whole or not at all (a temporary file beside it, renamed over
    it); ``OSError`` if the folder cannot be written to."""
    fd, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    try:
        with os.fdopen(fd, "wb") as file:
            file.write(data)
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise
