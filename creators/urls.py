from django.urls import path

from . import views

app_name = "creators"

urlpatterns = [
    path("settings/profile/", views.edit_profile, name="edit_profile"),
    path("settings/tokens/", views.api_tokens, name="api_tokens"),
    path("settings/tokens/new/", views.create_api_token, name="create_api_token"),
    path("settings/tokens/<int:token_id>/revoke/", views.revoke_api_token, name="revoke_api_token"),
    path("settings/export/", views.export_data, name="export_data"),
    path("settings/delete/", views.delete_account, name="delete_account"),
    path("@<str:username>/followers/", views.followers, name="followers"),
    path("@<str:username>/following/", views.following, name="following"),
    path("@<str:username>/follow/", views.follow, name="follow"),
    path("@<str:username>/mute/", views.mute, name="mute"),
    path("@<str:username>/block/", views.block, name="block"),
]
