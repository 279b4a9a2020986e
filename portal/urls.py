"""Root URLs: pages, the API, the admin and sign-in."""

from django.contrib import admin
from django.urls import include, path
from django.views.i18n import set_language
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerView

from portal import views

api_v1 = [
    path("", include("procedures.api_urls")),
    path("", include("integrations.api_urls")),
]

urlpatterns = [
    path("", include("portal.urls_pages")),
    path("healthz", views.healthz, name="healthz"),
    path("i18n/setlang/", set_language, name="set_language"),
    path("accounts/", include("allauth.urls")),
    path("admin/", admin.site.urls),
    path("api/v1/", include((api_v1, "api"), namespace="api")),
    path("api/schema/", SpectacularAPIView.as_view(), name="api-schema"),
    path("api/docs/", SpectacularSwaggerView.as_view(url_name="api-schema"), name="api-docs"),
    path("procedures/", include("procedures.urls")),
    path("me/", include("citizens.urls")),
    path("reconciliation/", include("integrations.reconciliation_urls")),
]
