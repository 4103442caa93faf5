from django.contrib import admin
from django.urls import include, path
from django.views.generic import RedirectView

from documents.public_views import sign_by_link
from monitoring import views as monitoring_views
from ops import views as ops_views
from quotes import public_views as quote_review
from reports import views as report_views
from reports.availability import availability, availability_for_replacement
from reports.vehicle_history import vehicle_history

from .api import api

admin.site.site_header = "Custody administration"

urlpatterns = [
    path("", report_views.dashboard, name="dashboard"),
    path("reports/", report_views.reports, name="reports"),
    path("reports/exports/", include("reports.urls")),
    path("accounts/", include("accounts.urls")),
    path("vehicles/<uuid:pk>/history/", vehicle_history, name="vehicle_history"),
    path("vehicles/availability/", availability, name="availability"),
    path(
        "vehicles/availability/replacement/<uuid:pk>/",
        availability_for_replacement,
        name="availability_for_replacement",
    ),
    path("", include("fleet.urls")),
    path("custodies/", include("custodies.urls")),
    path("approvals/", include("approvals.urls")),
    path("documents/", include("documents.urls")),
    path("audit/", include("accounts.audit_log")),
    path("filters/", include("accounts.saved_filters")),
    path("billing/", include("billing.urls")),
    path("integrations/", include("integrations.urls")),
    path("notifications/", include("notifications.urls")),
    path("manage/users/", include("accounts.user_urls")),
    path("support/", include("support.urls")),
    path("help/", include("support.help_urls")),
    path("manage/", ops_views.admin_home, name="admin_home"),
    path("manage/settings/", include("ops.settings_pages")),
    path("manage/import/", include("ops.import_views")),
    path("manage/monitoring/", monitoring_views.monitoring, name="monitoring"),
    path("metrics", monitoring_views.prometheus_metrics, name="metrics"),
    path("manage/system/", ops_views.system, name="system"),
    path("manage/backups/", ops_views.backups, name="backups"),
    path("branch/switch/", ops_views.switch_branch, name="switch_branch"),
    path("sign/<str:token>/", sign_by_link, name="sign_by_link"),
    path("quotes/", include("quotes.urls")),
    path("q/<str:token>", quote_review.review, name="quote_review"),
    path("q/<str:token>/<str:decision>", quote_review.decide, name="quote_review_decide"),
    path("healthz", ops_views.healthz, name="healthz"),
    path("readyz", ops_views.readyz, name="readyz"),
    # Django admin's own login would skip two-factor: everyone logs in through the product's page.
    path("django-admin/login/", RedirectView.as_view(pattern_name="accounts:login", query_string=True)),
    path("django-admin/", admin.site.urls),
    path("api/", api.urls),
]

handler403 = "config.views.permission_denied"
handler404 = "config.views.page_not_found"
handler500 = "config.views.server_error"
