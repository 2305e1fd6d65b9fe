"""What markets announces to the apps above it, which subscribe in their AppConfig.ready().

See docs/architecture.md#arrows-point-one-way.
"""

from django.dispatch import Signal

# New fills were stored for `user_ids` (a set of user ids). Sent inside the transaction that stored
# them, so that what a subscriber derives from the fills (a trade card verified by them) commits or
# rolls back with the fills themselves: a card is never verified by fills that were not kept.
fills_stored = Signal()

# The exchange reported the end of a transfer Orbit sent (`payout.completed`, `tip.failed` …), with
# `idempotency_key`, `transfer_id`, `outcome` ("completed" or "failed"), `failure_code`, `to_uid` and
# `completed_at` (when the exchange says it ended: the day reconciliation files it under). Sent
# inside the event's savepoint. The receiver that owns the key returns "applied" or "duplicate";
# the others return None, and a key nobody owns is refused back to the exchange.
transfer_confirmed = Signal()
