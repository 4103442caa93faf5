from django.urls import path

from . import views

app_name = "integrations"
urlpatterns = [
    path("", views.endpoints, name="endpoints"),
    path("endpoints/<uuid:endpoint_id>/", views.endpoint, name="endpoint"),
    path("endpoints/<uuid:endpoint_id>/<str:action>/", views.endpoint_action, name="endpoint_action"),
    path("deliveries/", views.deliveries, name="deliveries"),
    path("deliveries/<uuid:delivery_id>/", views.delivery, name="delivery"),
    path("deliveries/<uuid:delivery_id>/redeliver/", views.redeliver, name="redeliver"),
]
