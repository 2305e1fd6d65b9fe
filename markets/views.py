"""The Performance tab of a creator's profile: figures from their exchange fills only."""

from django.shortcuts import render
from django.views.decorators.http import require_GET

from creators.selectors import creator_profile
from orbit.web import web_view

from .performance import is_linked, is_public, performance_of


@require_GET
@web_view
def performance_tab(request, username: str):
    creator = creator_profile(username=username, viewer=request.user)
    context = {"creator": creator, "tab": "performance", "own": creator.pk == request.user.pk}
    if not is_public(creator, request.user):
        # Not an error page: the profile's other tabs stay a click away.
        return render(request, "creators/performance_private.html", context)
    context.update(performance=performance_of(user=creator), linked=is_linked(creator))
    return render(request, "creators/performance.html", context)
