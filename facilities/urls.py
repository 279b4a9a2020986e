from django.urls import path

from facilities import views

app_name = "facilities"
urlpatterns = [
    path("", views.document_list, name="list"),
    path("issue/birth/", views.issue_birth, name="issue-birth"),
    path("issue/death/", views.issue_death, name="issue-death"),
    path("documents/<int:pk>/", views.document_detail, name="detail"),
    path("documents/<int:pk>/pdf/", views.document_pdf, name="pdf"),
    path("documents/<int:pk>/reissue/", views.document_reissue, name="reissue"),
    path("reports/", views.reports, name="reports"),
    path("alerts/", views.alerts_overview, name="alerts"),
    path("me/", views.my_documents, name="my-documents"),
    path("verify/<str:token>/", views.verify, name="verify"),
]
