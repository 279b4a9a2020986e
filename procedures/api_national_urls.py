from django.urls import path

from procedures import api_national

urlpatterns = [
    path(
        "national-portal/dossiers/", api_national.NationalDossierInboundApi.as_view(), name="national-dossier-inbound"
    ),
    path("national-portal/ratings/", api_national.NationalRatingInboundApi.as_view(), name="national-rating-inbound"),
]
