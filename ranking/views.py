from django.views.decorators.http import require_GET

from feed.views import signed_in, stream, web_view

from . import feeds


@require_GET
@web_view
@signed_in
def for_you(request):
    page = feeds.for_you_page(user=request.user, cursor=request.GET.get("cursor") or None)
    return stream(request, "ranking/for_you.html", page, {"tab": "for_you"})
