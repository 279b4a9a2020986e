from django.urls import path

from procedures import api

urlpatterns = [
    path("procedures/", api.ProcedureListApi.as_view(), name="procedure-list"),
    path("procedures/<str:code>/", api.ProcedureDetailApi.as_view(), name="procedure-detail"),
    path("dossiers/", api.DossierListCreateApi.as_view(), name="dossier-list"),
    path("dossiers/<str:reference>/", api.DossierDetailApi.as_view(), name="dossier-detail"),
    path("staff/dossiers/<int:pk>/receive/", api.StaffDossierReceiveApi.as_view(), name="staff-dossier-receive"),
]
