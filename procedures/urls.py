from django.urls import path

from procedures import views

app_name = "procedures"
urlpatterns = [
    path("", views.catalogue, name="catalogue"),
    path("<int:pk>/", views.procedure_detail, name="procedure-detail"),
    path("<int:pk>/templates/<int:doc_id>/", views.procedure_document_template, name="procedure-document-template"),
    path("<int:pk>/result-sample/", views.procedure_result_template, name="procedure-result-template"),
    path("dossiers/<str:reference>/", views.dossier_detail, name="dossier-detail"),
    path("dossiers/<str:reference>/receipt.pdf", views.dossier_receipt, name="dossier-receipt"),
]
