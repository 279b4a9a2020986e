"""The staff workspace under /workspace/ (issue 7)."""

from django.urls import path

from procedures import views_workspace as views

app_name = "workspace"
urlpatterns = [
    path("", views.home, name="home"),
    path("q/<slug:key>/", views.queue, name="queue"),
    path("q/<slug:key>/bulk/", views.bulk, name="bulk"),
    path("d/<int:pk>/", views.dossier_page, name="dossier"),
    path("d/<int:pk>/act/<slug:action>/", views.dossier_act, name="act"),
    path("d/<int:pk>/documents/<int:doc_id>/", views.dossier_document, name="document"),
    path("d/<int:pk>/official/<int:doc_id>/", views.official_document, name="official"),
]
