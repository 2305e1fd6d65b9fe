"""Writing the demo with PostgreSQL COPY, and the report of what was written: CSV text of
generated rows in bounded chunks, ids that continue after each table's largest, and per-table
row counts and timings (SeedReport, with the planted cheaters' names)."""

from __future__ import annotations

import io
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

import numpy as np

# Rows per COPY statement: bounds the size of the CSV text held in memory at once.
COPY_CHUNK_ROWS = 200_000


@dataclass(frozen=True)
class TableLoad:
    table: str
    rows: int
    seconds: float  # building the CSV text and running COPY

    @property
    def rows_per_second(self) -> float:
        return self.rows / self.seconds if self.seconds else float("inf")


@dataclass
class PlantedCheating:
    """Who the planted cheaters are, by username (see the module docstring)."""

    self_likers: list[str] = field(default_factory=list)
    ring: list[str] = field(default_factory=list)
    burst_accounts: list[str] = field(default_factory=list)
    burst_beneficiary: str | None = None
    burst_joined_from: datetime | None = None
    burst_fingerprints: list[str] = field(default_factory=list)
    self_engagement_rows: int = 0
    ring_engagement_rows: int = 0
    burst_engagement_rows: int = 0


@dataclass
class SeedReport:
    seed: int
    anchor: datetime
    loads: list[TableLoad] = field(default_factory=list)
    stages: list[tuple[str, float]] = field(default_factory=list)  # (what was generated, seconds)
    fixed_accounts_created: bool = False
    planted: PlantedCheating = field(default_factory=PlantedCheating)
    # What the exchange-data services made of the seeded fills and candles.
    verified_cards: int = 0
    calls_by_status: dict[str, int] = field(default_factory=dict)
    profiles_from_fills: int = 0
    total_seconds: float = 0.0

    @property
    def total_rows(self) -> int:
        return sum(load.rows for load in self.loads)

    def rows_in(self, table: str) -> int:
        return sum(load.rows for load in self.loads if load.table == table)


class CopyWriter:
    def __init__(self, cursor, report: SeedReport, say: Callable[[str], None]):
        self.cursor = cursor
        self.report = report
        self.say = say
        self.started = time.perf_counter()

    def copy(self, table: str, columns: list[str], chunks: Iterable[tuple[int, str]]) -> int:
        """COPY CSV text into table; chunks yields (row count, CSV text with a trailing newline)."""
        began = time.perf_counter()
        rows = 0
        sql = f"COPY {table} ({', '.join(columns)}) FROM STDIN WITH (FORMAT csv)"
        for count, text in chunks:
            if count:
                self.cursor.copy_expert(sql, io.BytesIO(text.encode()), 1 << 20)  # size of each read
                rows += count
        seconds = time.perf_counter() - began
        load = TableLoad(table, rows, seconds)
        self.report.loads.append(load)
        self.say(
            f"  {table:<24} {rows:>10,} rows  {seconds:6.2f} s  {load.rows_per_second:>10,.0f} rows/s"
            f"   (elapsed {time.perf_counter() - self.started:.1f} s)"
        )
        return rows


def csv_quoted(text: str) -> str:
    return '"' + text.replace('"', '""') + '"'


def timestamp_texts(ms: np.ndarray) -> list[str]:
    return np.datetime_as_string(
        np.asarray(ms, dtype=np.int64).astype("datetime64[ms]"), unit="ms", timezone="UTC"
    ).tolist()


def timestamp_text(ms: int) -> str:
    return timestamp_texts(np.array([ms]))[0]


def int_texts(values: np.ndarray) -> list[str]:
    return list(map(str, np.asarray(values).tolist()))


def chunked_csv(columns: Callable[[slice], list[list[str]]], rows: int) -> Iterator[tuple[int, str]]:
    """CSV text for rows in chunks; columns(slice) returns the formatted columns of that slice."""
    for start in range(0, rows, COPY_CHUNK_ROWS):
        part = slice(start, min(start + COPY_CHUNK_ROWS, rows))
        cols = columns(part)
        yield part.stop - part.start, "\n".join(map(",".join, zip(*cols, strict=True))) + "\n"


def csv_lines(rows: list[str]) -> Iterator[tuple[int, str]]:
    for start in range(0, len(rows), COPY_CHUNK_ROWS):
        part = rows[start : start + COPY_CHUNK_ROWS]
        yield len(part), "\n".join(part) + "\n"


def epoch_ms(moment: datetime) -> int:
    return (moment - datetime(1970, 1, 1, tzinfo=UTC)) // timedelta(milliseconds=1)


def next_id(cursor, table: str) -> int:
    cursor.execute(f"SELECT COALESCE(MAX(id), 0) + 1 FROM {table}")  # noqa: S608 - table names from models
    return cursor.fetchone()[0]
