from django.urls import path

from . import views

app_name = "ranking"

urlpatterns = [
    path("for-you/", views.for_you, name="for_you"),
]
