from django.urls import path

from integrations import api

urlpatterns = [
    path("population/lookup/", api.PopulationLookupApi.as_view(), name="population-lookup"),
    path("population/verify/", api.PopulationVerifyApi.as_view(), name="population-verify"),
    path("population/verify-bulk/", api.PopulationVerifyBulkApi.as_view(), name="population-verify-bulk"),
]
