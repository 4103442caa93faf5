from django.urls import path

from . import views

app_name = "support"

urlpatterns = [
    path("", views.ticket_list, name="list"),
    path("report/", views.report, name="report"),
    path("extras/", views.extras, name="extras"),
    path("feedback/", views.feedback, name="feedback"),
    path("announcements/", views.announcements, name="announcements"),
    path("announcements/<uuid:announcement_id>/end/", views.announcement_end, name="announcement_end"),
    path(
        "announcements/<uuid:announcement_id>/dismiss/",
        views.announcement_dismiss,
        name="announcement_dismiss",
    ),
    path("<uuid:ticket_id>/", views.ticket_detail, name="detail"),
    path("<uuid:ticket_id>/status/", views.ticket_status, name="status"),
    path("<uuid:ticket_id>/assign/", views.ticket_assign, name="assign"),
    path("<uuid:ticket_id>/comments/", views.ticket_comment, name="comment"),
    path("<uuid:ticket_id>/attachment/", views.ticket_attachment, name="attachment"),
]
