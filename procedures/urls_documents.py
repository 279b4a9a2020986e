"""Official slips and results: downloads (access-checked) and the public verification page."""

from django.urls import path

from procedures import views_documents as views

app_name = "documents"
urlpatterns = [
    path("verify/<str:token>/", views.verify, name="verify"),
    path("official/<str:reference>/", views.official_document_list, name="list"),
    path("official/<str:reference>/<str:kind>/", views.official_document_download, name="download"),
    path("official/<str:reference>/<str:kind>/<int:sequence>/", views.official_document_download, name="download-seq"),
]
