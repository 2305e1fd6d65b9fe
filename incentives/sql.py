"""Reading large results without holding them all as Python objects at once."""


def stream(cursor, size: int = 2000):
    """The rows of the cursor's last query, fetched `size` at a time."""
    while rows := cursor.fetchmany(size):
        yield from rows
