from drf_spectacular.utils import extend_schema
from rest_framework.permissions import IsAuthenticated
from rest_framework.response import Response

from orbit.api import OrbitAPIView, PageQuerySerializer, error_responses, page_query

from . import cards, for_you
from .serializers import ForYouPageSerializer


class ForYouFeedView(OrbitAPIView):
    permission_classes = [IsAuthenticated]

    @extend_schema(
        summary="For You: posts picked for you, each with why",
        description=(
            "Ranked from what you trade and read, whom you follow, what is trending and new voices, "
            "with the operators' content-type weights. Served from a ready list; never empty while "
            "there are posts you have not seen."
        ),
        parameters=[PageQuerySerializer],
        responses={200: ForYouPageSerializer, **error_responses(400, 401)},
        tags=["feeds"],
    )
    def get(self, request):
        # Items come as finished JSON cards (cached across readers), so no serializer runs here;
        # ForYouPageSerializer documents their shape.
        renderer = cards.CachedCards(user=request.user, request=request)
        page = for_you.for_you_page(user=request.user, renderer=renderer, **page_query(request))
        return Response({"results": page.items, "next_cursor": page.next_cursor})
