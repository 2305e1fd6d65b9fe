"""markets' part of a person's data: their trading profile, fills and positions are in their export,
and erased with their account (creators.privacy sends both signals)."""

from django.dispatch import receiver

from creators.privacy import account_erasing, account_exporting, export_fields

from .models import ExchangeEvent, Fill, Position, TradingProfile


@receiver(account_exporting, dispatch_uid="markets.export_trading")
def export_trading(sender, *, user, **kwargs) -> dict:
    trading = TradingProfile.objects.filter(user=user).first()
    return {
        "trading_profile": None
        if trading is None
        else {
            field.name: getattr(trading, field.name) for field in TradingProfile._meta.fields if field.name != "user"
        },
        "fills": list(Fill.objects.filter(user=user).order_by("filled_at", "id").values(*export_fields(Fill, "user"))),
        "positions": list(Position.objects.filter(user=user).values(*export_fields(Position, "user"))),
    }


@receiver(account_erasing, dispatch_uid="markets.erase_trading")
def erase_trading(sender, *, user, **kwargs):
    trading = TradingProfile.objects.filter(user=user).first()
    if trading is not None and trading.exchange_uid:
        # What the exchange sent about this account; a redelivery is refused once the link is gone.
        ExchangeEvent.objects.filter(exchange_uid=trading.exchange_uid).delete()
    Position.objects.filter(user=user).delete()
    Fill.objects.filter(user=user).delete()
    TradingProfile.objects.filter(user=user).delete()
