from django.shortcuts import render

from . import selectors


def latest(request):
    return render(request, "feed/latest.html", {"posts": selectors.latest_posts(limit=30)})
