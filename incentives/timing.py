"""Wall time of the settlement's passes, for the settlement bench and anyone profiling a week."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from time import perf_counter


@contextmanager
def timed(timings: dict[str, float] | None, name: str) -> Iterator[None]:
    """Records the block's wall time in seconds as timings[name]; records nothing without a dict."""
    if timings is None:
        yield
        return
    began = perf_counter()
    yield
    timings[name] = perf_counter() - began
