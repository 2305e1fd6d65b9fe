"""Reading what a page sends as a download, the way a spreadsheet would."""

import csv
import io


def csv_rows(response) -> list[list[str]]:
    """The rows of a CSV response, streamed or not, header first."""
    body = b"".join(response.streaming_content) if response.streaming else response.content
    return list(csv.reader(io.StringIO(body.decode())))
