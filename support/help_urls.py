from django.urls import path

from . import help_views as views

app_name = "help"

urlpatterns = [
    path("", views.help_index, name="index"),
    path("new/", views.help_new, name="new"),
    path("<uuid:article_id>/edit/", views.help_edit, name="edit"),
    path("<uuid:article_id>/delete/", views.help_delete, name="delete"),
    path("guide/<str:name>/", views.guide, name="guide"),
    path("tour/", views.tour_progress, name="tour"),
]
