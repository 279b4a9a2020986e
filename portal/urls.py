"""Root URLs: pages, the API, the admin and sign-in."""

from django.contrib import admin
from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerSplitView

from portal import views

api_v1 = [
    path("", include("procedures.api_urls")),
    path("", include("integrations.api_urls")),
    path("", include("facilities.api_urls")),  # birth certificates and death notices (issue 9)
    path("", include("procedures.api_national_urls")),  # national portal inbound (issue 8)
]

urlpatterns = [
    path("", include("portal.urls_pages")),
    path("healthz", views.healthz, name="healthz"),
    path("i18n/setlang/", views.set_language, name="set_language"),
    path("accounts/", include("allauth.urls")),
    path("admin/", admin.site.urls),
    path("api/v1/", include((api_v1, "api"), namespace="api")),
    path("api/schema/", SpectacularAPIView.as_view(), name="api-schema"),
    # Swagger UI with its init script at ?script (no inline code, CSP-clean), assets from drf-spectacular-sidecar.
    path("api/docs/", SpectacularSwaggerSplitView.as_view(url_name="api-schema"), name="api-docs"),
    path("procedures/", include("procedures.urls")),
    path("workspace/", include("procedures.urls_workspace")),  # staff workspace (issue 7)
    path("workspace/", include("procedures.urls_counter")),  # counter intake, tracking book (issue 7)
    path("me/", include("citizens.urls")),
    path("reconciliation/", include("integrations.reconciliation_urls")),
    path("facilities/", include("facilities.urls")),
    path("quality/", include("quality.urls")),  # service-quality dashboard (issue 10)
    path("", include("procedures.urls_documents")),  # official slips, results, /verify/ (issue 4)
    path("privacy/", include("privacy.urls")),  # data-subject requests (issue 11)
]

# Generic error pages with the correlation id (issue 11; portal/error_views.py).
handler400 = "portal.error_views.bad_request"
handler403 = "portal.error_views.permission_denied"
handler404 = "portal.error_views.page_not_found"
handler500 = "portal.error_views.server_error"
