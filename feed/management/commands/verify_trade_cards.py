from django.core.management.base import BaseCommand

from feed.models import Post, TradeCard
from feed.verification import verify_trade_card


class Command(BaseCommand):
    help = (
        "Check every trade card against its author's exchange fills again, verifying or unverifying it "
        "(after a change of ORBIT_TRADE_CARD_PRICE_TOLERANCE or ORBIT_TRADE_CARD_WINDOW_HOURS, or fills loaded late)."
    )

    def handle(self, *args, **options):
        checked = verified = 0
        cards = TradeCard.objects.exclude(post__status=Post.Status.DELETED).select_related("post").order_by("post_id")
        for card in cards.iterator(chunk_size=500):
            checked += 1
            verified += verify_trade_card(card)
        self.stdout.write(f"{checked:,} trade card(s) checked, {verified:,} verified by the authors' fills.")
