import time


def wait_for(condition, *, seconds: float = 5.0) -> bool:
    """Poll `condition` until it holds or `seconds` pass: for work another thread or a worker does."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.05)
    return bool(condition())
