"""Run work in threads that go on together, and wait for something to happen."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import TypeVar

T = TypeVar("T")


def at_once(work: Callable[[Callable[[], None]], T], count: int = 2) -> list[T]:
    """Run ``work`` in ``count`` threads, each calling the ``ready`` it is given once it has
    opened what it needs; they go on together from there. Their results, or the first error."""
    barrier = threading.Barrier(count, timeout=120)
    results: list[T] = []
    errors: list[BaseException] = []

    def run() -> None:
        try:
            results.append(work(barrier.wait))
        except BaseException as exc:  # noqa: BLE001 - raised below
            errors.append(exc)

    threads = [threading.Thread(target=run) for _ in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    if errors:
        raise errors[0]
    assert len(results) == count, "a thread did not finish in time"
    return results


def wait_for(condition: Callable[[], object], timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError("timed out waiting")
        time.sleep(0.05)
