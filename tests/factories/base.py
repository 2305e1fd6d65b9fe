"""What every factory module shares: the fixed moment that time fields default to.

Factories never read the clock for a value a test could depend on: a time field defaults to
MOMENT (or MOMENT plus the factory's sequence), and every factory accepts the field so that a test
states its own time. The exceptions say why in their docstrings (a post's `created_at`, an API
token's `created_at`).
"""

from datetime import UTC, datetime

# Wednesday noon of ISO week 2026-W47 (UTC), the week the settlement tests use.
MOMENT = datetime(2026, 11, 18, 12, 0, tzinfo=UTC)
