from django.conf import settings

from .selectors import unread_notification_count


def site(request):
    """What every page needs besides the user: the unread-notification count, cheaply."""
    unread = 0
    user = getattr(request, "user", None)
    if user is not None and user.is_authenticated:
        unread = unread_notification_count(user=user)
    return {"unread_notifications": unread, "DEBUG": settings.DEBUG}
