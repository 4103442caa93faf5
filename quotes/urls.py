from django.urls import path

from . import views

app_name = "quotes"
urlpatterns = [
    path("", views.quote_list, name="list"),
    path("new/", views.quote_new, name="new"),
    path("<uuid:pk>/", views.quote_detail, name="detail"),
    path("<uuid:pk>/preview/", views.quote_preview, name="preview"),
    path("<uuid:pk>/pdf/<str:language>/", views.quote_pdf, name="pdf"),
    path("<uuid:pk>/signature.png", views.signature_image, name="signature"),
    path("<uuid:pk>/cost-sheets/new/", views.sheet_new, name="sheet_new"),
    path("<uuid:pk>/lines/<uuid:line_id>/assign/", views.assign, name="assign"),
    path("<uuid:pk>/convert/", views.convert, name="convert"),
    path("<uuid:pk>/<str:action>/", views.quote_action, name="action"),
    path("cost-sheets/<uuid:pk>/preview/", views.sheet_preview, name="sheet_preview"),
    path("cost-sheets/<uuid:pk>/save/", views.sheet_save, name="sheet_save"),
    path("cost-sheets/<uuid:pk>/<str:action>/", views.sheet_action, name="sheet_action"),
]
