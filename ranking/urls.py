from django.urls import path

from . import views

app_name = "ranking"

urlpatterns = [
    path("", views.home, name="home"),
    path("for-you/", views.for_you, name="for_you"),
    path("compose/suggest-type/", views.suggest_type, name="suggest_type"),
]
