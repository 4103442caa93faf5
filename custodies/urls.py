from django.urls import path

from . import views

app_name = "custodies"
urlpatterns = [
    path("", views.custody_list, name="list"),
    path("new/", views.wizard_new, name="new"),
    path("export-selected/", views.export_selected, name="export_selected"),
    path("pickers/agreements/", views.pick_agreements, name="pick_agreements"),
    path("pickers/customers/", views.pick_customers, name="pick_customers"),
    path("pickers/vehicles/", views.pick_vehicles, name="pick_vehicles"),
    path("<uuid:pk>/", views.custody_detail, name="detail"),
    path("<uuid:pk>/audit/", views.custody_audit, name="audit"),
    path("<uuid:pk>/tabs/<str:name>/", views.custody_tab, name="tab"),
    path("<uuid:pk>/action/<str:action>/", views.custody_action, name="action"),
    path("<uuid:pk>/wizard/replacement/vehicles/", views.wizard_replacements, name="wizard_replacements"),
    path("<uuid:pk>/wizard/<str:step>/", views.wizard_step, name="wizard"),
]
