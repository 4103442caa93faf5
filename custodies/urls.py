from django.urls import path

from . import views

app_name = "custodies"
urlpatterns = [
    path("", views.custody_list, name="list"),
]
