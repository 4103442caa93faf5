from django.urls import path

from . import user_views as views

app_name = "users"

urlpatterns = [
    path("", views.user_list, name="list"),
    path("invite/", views.user_invite, name="invite"),
    path("<uuid:user_id>/", views.user_detail, name="detail"),
    path("<uuid:user_id>/deactivate/", views.user_deactivate, name="deactivate"),
    path("<uuid:user_id>/reactivate/", views.user_reactivate, name="reactivate"),
    path("<uuid:user_id>/reset-two-factor/", views.user_reset_two_factor, name="reset_two_factor"),
    path("<uuid:user_id>/reset-password/", views.user_reset_password, name="reset_password"),
]
