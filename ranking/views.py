from django.views.decorators.http import require_GET

from orbit.web import page_cursor, signed_in, stream, web_view

from .for_you import for_you_page


@require_GET
@web_view
@signed_in
def for_you(request):
    page = for_you_page(user=request.user, cursor=page_cursor(request))
    return stream(request, "ranking/for_you.html", page, {"tab": "for_you"})
