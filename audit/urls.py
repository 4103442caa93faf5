from django.urls import path

from . import views

app_name = "audit"
urlpatterns = [path("", views.global_log, name="global")]
