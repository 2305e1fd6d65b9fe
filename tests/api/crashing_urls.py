"""An API view with a bug, to see what a client gets when one slips through."""

from django.urls import path

from orbit.api import OrbitAPIView


class CrashingView(OrbitAPIView):
    permission_classes = []

    def get(self, request):
        raise RuntimeError("a bug")


urlpatterns = [path("api/v1/crash/", CrashingView.as_view())]
