from django.urls import path

from . import export_views

app_name = "reports"
urlpatterns = [
    path("", export_views.export_list, name="exports"),
    path("<uuid:pk>/", export_views.export_status, name="export"),
    path("<uuid:pk>/download/", export_views.export_download, name="export_download"),
]
