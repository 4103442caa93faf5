"""Bench-only URLs: the whole product plus /bench/… comparison views (bench/views.py)."""

from django.urls import include, path

from . import views

urlpatterns = [
    path("bench/bare/custodies", views.bare_list),
    path("bench/bare/custodies/<uuid:custody_id>", views.bare_detail),
    path("bench/bare/create", views.bare_create),
    path("bench/drf/custodies", views.DrfList.as_view()),
    path("bench/drf/custodies/<uuid:pk>", views.DrfDetail.as_view()),
    path("", include("config.urls")),
]
