"""A fake OKX v5 market-data API: a real HTTP server on 127.0.0.1, in a thread, for tests.

    def test_something(okx_server):                     # settings already point at it
        okx_server.add_hourly("BTC-USDT", closes=["100", "101.5"])
        okx_server.respond("http_500_then_ok", failures=2)
        ...
        assert okx_server.requests[0]["params"]["instId"] == "BTC-USDT"

It serves GET /api/v5/market/candles and /api/v5/market/history-candles in OKX's format
({"code": "0", "msg": "", "data": [[ts, o, h, l, c, vol, volCcy, volCcyQuote, confirm], ...]},
newest first, `limit`, and `after`/`before` as OKX reads them: bars older/newer than a time).

Modes, for every instrument or one (`respond(mode, inst_id=...)`):
- "ok": the stored bars;
- "error_code": HTTP 200 with OKX's error 51001 "Instrument ID does not exist";
- "http_500_then_ok": HTTP 500 for the next `failures` requests, then "ok";
- "http_429_then_ok": HTTP 429 with `Retry-After: retry_after` for the next `failures` requests;
- "slow": waits `delay` seconds before answering "ok" (longer than the client's timeout);
- "malformed": HTTP 200 with an HTML page instead of JSON.
Use it from other test folders with `from tests.markets.okx_fake import okx_server  # noqa: F401`.
"""

from __future__ import annotations

import contextlib
import json
import socket
import threading
import time
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qsl, urlsplit

import pytest

PATHS = {"/api/v5/market/candles": 300, "/api/v5/market/history-candles": 100}
MODES = {"ok", "error_code", "http_500_then_ok", "http_429_then_ok", "slow", "malformed"}


def bar_start(moment: datetime) -> datetime:
    """The opening time of the one-hour bar holding `moment`."""
    return moment.astimezone(UTC).replace(minute=0, second=0, microsecond=0)


def closed_port_url() -> str:
    """The URL of a loopback port nothing listens on: connecting is refused at once."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    return f"http://127.0.0.1:{port}"


def millis(moment: datetime) -> str:
    return str(int(moment.timestamp() * 1000))


def hourly_rows(closes, *, newest_at: datetime | None = None, newest_open: bool = True) -> list[list[str]]:
    """OKX rows (newest first) for hourly `closes` given oldest first, the last bar opening at
    `newest_at` (default: the current hour). Each bar opens at the previous close; high and low
    are 1% beyond the body. The newest is still open (confirm "0") unless `newest_open` is False."""
    newest_at = bar_start(newest_at or datetime.now(UTC))
    closes = [Decimal(str(close)) for close in closes]
    rows = []
    for index, close in enumerate(closes):
        open_ = closes[index - 1] if index else close
        opened_at = newest_at - timedelta(hours=len(closes) - 1 - index)
        confirm = "0" if newest_open and index == len(closes) - 1 else "1"
        high = max(open_, close) * Decimal("1.01")
        low = min(open_, close) * Decimal("0.99")
        rows.append([millis(opened_at), str(open_), str(high), str(low), str(close), "12.5", "0", "0", confirm])
    rows.reverse()
    return rows


class FakeOkx:
    def __init__(self):
        self.candles: dict[str, list[list]] = {}
        self.requests: list[dict] = []
        self._modes: dict[str | None, dict] = {None: {"mode": "ok"}}
        self._lock = threading.Lock()
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler_class())
        self._server.daemon_threads = True
        self._server.block_on_close = False
        self._thread = threading.Thread(target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)

    @property
    def url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}"

    def start(self) -> FakeOkx:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()

    # --- Configuring -------------------------------------------------------------------------

    def set_candles(self, inst_id: str, rows: list) -> None:
        """Raw OKX rows, newest first (anything: malformed rows are the point of some tests)."""
        with self._lock:
            self.candles[inst_id] = list(rows)

    def add_hourly(self, inst_id: str, *, closes, newest_at: datetime | None = None, newest_open: bool = True):
        rows = hourly_rows(closes, newest_at=newest_at, newest_open=newest_open)
        self.set_candles(inst_id, rows)
        return rows

    def respond(
        self, mode: str, *, inst_id: str | None = None, failures: int = 0, delay: float = 2.0, retry_after: int = 1
    ):
        assert mode in MODES, mode
        with self._lock:
            self._modes[inst_id] = {"mode": mode, "failures": failures, "delay": delay, "retry_after": retry_after}

    def requests_for(self, inst_id: str) -> list[dict]:
        return [request for request in self.requests if request["params"].get("instId") == inst_id]

    # --- Serving -----------------------------------------------------------------------------

    def _behaviour(self, inst_id: str | None) -> dict:
        """The mode this request gets, counting down a failing mode's remaining failures."""
        with self._lock:
            behaviour = self._modes.get(inst_id) or self._modes[None]
            if behaviour["mode"] in {"http_500_then_ok", "http_429_then_ok"}:
                if behaviour["failures"] > 0:
                    behaviour["failures"] -= 1
                    return dict(behaviour)
                return {"mode": "ok"}
            return dict(behaviour)

    def _bars(self, inst_id: str, params: dict, max_limit: int) -> list:
        try:
            limit = min(int(params.get("limit", 100)), max_limit)
        except ValueError:
            limit = 100
        with self._lock:
            rows = list(self.candles.get(inst_id, []))

        def time_of(row):
            try:
                return int(row[0])
            except (TypeError, ValueError, IndexError, KeyError):
                return None

        if "after" in params:
            rows = [row for row in rows if time_of(row) is not None and time_of(row) < int(params["after"])]
        if "before" in params:
            rows = [row for row in rows if time_of(row) is not None and time_of(row) > int(params["before"])]
        return rows[:limit]

    def _handler_class(self):
        fake = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"
            # Headers and body go out in two writes; with Nagle on, each answer waits ~40 ms for an ACK.
            disable_nagle_algorithm = True

            def log_message(self, format, *args):  # quiet test output
                pass

            def _send(self, status: int, body: bytes, *, content_type="application/json", headers=None):
                self.send_response(status)
                self.send_header("Content-Type", content_type)
                self.send_header("Content-Length", str(len(body)))
                for name, value in (headers or {}).items():
                    self.send_header(name, value)
                self.end_headers()
                # A client that timed out has left.
                with contextlib.suppress(BrokenPipeError, ConnectionResetError):
                    self.wfile.write(body)

            def _json(self, status: int, payload, **kwargs):
                self._send(status, json.dumps(payload).encode(), **kwargs)

            def do_GET(self):
                split = urlsplit(self.path)
                params = dict(parse_qsl(split.query))
                with fake._lock:
                    fake.requests.append({"path": split.path, "params": params, "at": time.monotonic()})
                if split.path not in PATHS:
                    return self._json(404, {"code": "50000", "msg": "Not found", "data": []})
                inst_id = params.get("instId")
                behaviour = fake._behaviour(inst_id)
                mode = behaviour["mode"]
                if mode == "http_500_then_ok":
                    return self._json(500, {"code": "50001", "msg": "Service temporarily unavailable", "data": []})
                if mode == "http_429_then_ok":
                    headers = {"Retry-After": str(behaviour["retry_after"])}
                    return self._json(429, {"code": "50011", "msg": "Too Many Requests", "data": []}, headers=headers)
                if mode == "error_code":
                    return self._json(200, {"code": "51001", "msg": "Instrument ID does not exist", "data": []})
                if mode == "malformed":
                    return self._send(200, b"<html><body>Maintenance</body></html>", content_type="text/html")
                if mode == "slow":
                    time.sleep(behaviour["delay"])
                if not inst_id:
                    return self._json(400, {"code": "50014", "msg": "Parameter instId can not be empty", "data": []})
                bars = fake._bars(inst_id, params, PATHS[split.path])
                return self._json(200, {"code": "0", "msg": "", "data": bars})

        return Handler


@pytest.fixture
def okx_server(settings):
    """A running fake OKX with Orbit's market-data settings pointing at it: short timeout and
    few retries, so failure tests take about a second."""
    server = FakeOkx().start()
    settings.ORBIT_MARKET_DATA_URL = server.url
    settings.ORBIT_MARKET_DATA_TIMEOUT = 0.5
    settings.ORBIT_MARKET_DATA_RETRIES = 2
    yield server
    server.stop()
