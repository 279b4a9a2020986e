from django.urls import path

from integrations import reconciliation_views as views

app_name = "reconciliation"
urlpatterns = [
    path("", views.job_list, name="jobs"),
    path("<int:pk>/", views.job_detail, name="job"),
    path("<int:pk>/progress/", views.job_progress_partial, name="progress"),
    path("<int:pk>/pause/", views.job_pause, name="pause"),
    path("<int:pk>/resume/", views.job_resume, name="resume"),
    path("<int:pk>/mismatches.csv", views.job_export, name="export"),
    path("<int:pk>/corrections/", views.job_corrections, name="corrections"),
]
