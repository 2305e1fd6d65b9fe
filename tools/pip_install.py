"""`pip install` for the Makefile, showing one status line instead of pip's wall of text.

python -m tools.pip_install --require-hashes -r requirements/dev.txt

A first install takes minutes; the newcomer sees which package pip is at ("[37/96] collecting
django") on one line that rewrites itself on a terminal, or a line every few seconds in a log.
When pip fails, everything it printed is shown, since the failing line is in there somewhere.
Standard library only: it runs in the fresh virtualenv before anything is installed.
"""

from __future__ import annotations

import re
import subprocess
import sys
import threading
import time
from pathlib import Path

# How often a line is printed when stdout is not a terminal (CI logs), in seconds.
LOG_EVERY = 10.0


def count_requirements(path: Path) -> int:
    """Pinned requirements in a requirements file, following `-r other.txt` includes (a lock file
    lists its hashes on `--hash=` continuation lines, which are not requirements)."""
    total = 0
    for raw in path.read_text().splitlines():
        line = raw.split("#", 1)[0].strip()
        if line.startswith(("-r ", "--requirement ")):
            total += count_requirements(path.parent / line.split(None, 1)[1])
        elif line and not line.startswith("-"):
            total += 1
    return total


def status(line: str, *, collected: int, total: int) -> str | None:
    """The status text for one line of pip's output, or None when the line says nothing new."""
    if match := re.match(r"(?:Collecting|Requirement already satisfied:) ([A-Za-z0-9_.\-\[\]]+)", line):
        name = re.split(r"[\[=<>!~;\s]", match.group(1))[0]
        return f"[{min(collected, total)}/{total}] {name}"
    if line.startswith("Installing collected packages"):
        return "installing the packages (the longest step)"
    return None


class StatusLine:
    """One line that rewrites itself on a terminal, and is printed every LOG_EVERY seconds elsewhere;
    a ticker keeps the seconds moving while pip is silent (installing prints nothing for minutes)."""

    def __init__(self) -> None:
        self.on_terminal = sys.stdout.isatty()
        self.started = self.last_printed = time.monotonic()
        self.text = "starting pip"
        self.lock = threading.Lock()

    def set(self, text: str) -> None:
        with self.lock:
            changed_phase = text.startswith("installing") and not self.text.startswith("installing")
            self.text = text
        self.show(force=changed_phase)

    def show(self, *, force: bool = False) -> None:
        with self.lock:
            now = time.monotonic()
            line = f"  {self.text} ({now - self.started:.0f} s)"
            if self.on_terminal:
                print(f"\r\033[K{line}", end="", flush=True)
            elif force or now - self.last_printed >= LOG_EVERY:
                print(line, flush=True)
                self.last_printed = now

    def tick_until(self, done: threading.Event) -> None:
        while not done.wait(1):
            self.show()

    def clear(self) -> None:
        if self.on_terminal:
            print("\r\033[K", end="", flush=True)


def main(args: list[str]) -> int:
    files = [Path(args[i + 1]) for i, arg in enumerate(args[:-1]) if arg in {"-r", "--requirement"}]
    total = sum(count_requirements(path) for path in files) or 1
    command = [sys.executable, "-m", "pip", "install", "--progress-bar", "off", "--disable-pip-version-check", *args]
    line, done = StatusLine(), threading.Event()
    threading.Thread(target=line.tick_until, args=(done,), daemon=True).start()
    collected = 0
    output: list[str] = []
    with subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True) as pip:
        for text in pip.stdout:
            output.append(text)
            if text.startswith(("Collecting", "Requirement already satisfied")):
                collected += 1
            if (new_status := status(text, collected=collected, total=total)) is not None:
                line.set(new_status)
    done.set()
    line.clear()
    if pip.returncode:
        sys.stdout.write("".join(output))
        print(f"pip install failed (exit code {pip.returncode}); its output is above.", file=sys.stderr)
        return pip.returncode
    print(f"  {total} pinned packages in place ({time.monotonic() - line.started:.0f} s)", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
