"""Reading large results without holding them all as Python objects at once."""

import numpy as np


def stream(cursor, size: int = 2000):
    """The rows of the cursor's last query, fetched `size` at a time."""
    while rows := cursor.fetchmany(size):
        yield from rows


def int_columns(cursor, columns: int, size: int = 100_000) -> np.ndarray:
    """The last query's rows of integers as an array of `columns` columns, converted a chunk at a
    time: a graph of millions of pairs costs 8 bytes a number, not a Python tuple each."""
    chunks = [np.empty((0, columns), dtype=np.int64)]
    while rows := cursor.fetchmany(size):
        chunks.append(np.array(rows, dtype=np.int64).reshape(-1, columns))
    return np.concatenate(chunks)
