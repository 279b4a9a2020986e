from django.urls import path

from privacy import views

app_name = "privacy"

urlpatterns = [
    path("", views.overview, name="overview"),
    path("export/", views.export, name="export"),
    path("requests/new/", views.request_new, name="request-new"),
    path("requests/<str:reference>/", views.request_detail, name="request"),
    path("consents/<str:reference>/withdraw/", views.consent_withdraw, name="consent-withdraw"),
]
