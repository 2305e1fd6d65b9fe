from django.urls import path

from . import views

app_name = "insights"

urlpatterns = [
    path("creator/", views.creator_center, name="creator_center"),
]
