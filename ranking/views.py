from django.http import JsonResponse
from django.views.decorators.http import require_GET

from feed import views as feed_views
from orbit.ratelimit import check_rate
from orbit.web import page_cursor, signed_in, stream, web_view

from .for_you import for_you_page
from .suggestions import suggest_content_type


@require_GET
@web_view
@signed_in
def for_you(request):
    page = for_you_page(user=request.user, cursor=page_cursor(request))
    return stream(request, "ranking/for_you.html", page, {"tab": "for_you"})


@require_GET
def home(request):
    """The front page: For You to a signed-in reader, Latest to everyone else (each keeps its own URL)."""
    if request.user.is_authenticated:
        return for_you(request)
    return feed_views.latest(request)


@require_GET
@web_view
@signed_in
def suggest_type(request):
    """The tagger's content type for the text being written (`?text=`), as JSON; the compose page
    offers it and never picks it by itself. Counted in the compose page's helper budget."""
    check_rate(scope=feed_views.COMPOSE_ASSIST_SCOPE, user=request.user)
    suggestion = suggest_content_type(request.GET.get("text", ""))
    return JsonResponse(suggestion.as_dict() if suggestion else {"content_type": None})
