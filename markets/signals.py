"""What markets announces to the apps above it, which subscribe in their AppConfig.ready().

See docs/architecture.md#arrows-point-one-way.
"""

from django.dispatch import Signal

# New fills were stored for `user_ids` (a set of user ids). Sent inside the transaction that stored
# them, so that what a subscriber derives from the fills (a trade card verified by them) commits or
# rolls back with the fills themselves: a card is never verified by fills that were not kept.
fills_stored = Signal()
