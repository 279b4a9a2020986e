from django.urls import path

from quality import views

app_name = "quality"

urlpatterns = [
    path("", views.dashboard, name="dashboard"),
    path("dossiers/", views.dossiers, name="dossiers"),
    path("export.xlsx", views.export_xlsx, name="export-xlsx"),
    path("export.pdf", views.export_pdf, name="export-pdf"),
]
