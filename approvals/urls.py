from django.urls import path

from . import views

app_name = "approvals"
urlpatterns = [
    path("", views.inbox, name="inbox"),
    path("count/", views.inbox_count, name="count"),
    path("approve-selected/", views.approve_selected, name="approve_selected"),
    path("<uuid:pk>/replacement/", views.change_replacement, name="change_replacement"),
    path("<uuid:pk>/<str:decision>/", views.decide, name="decide"),
]
