from django.urls import path

from . import views

app_name = "markets"

urlpatterns = [
    path("@<str:username>/performance/", views.performance_tab, name="performance"),
]
