from django.urls import path

from facilities import api

urlpatterns = [
    path("facilities/birth-certificates/", api.BirthCertificateIssueApi.as_view(), name="facility-birth-issue"),
    path("facilities/death-notices/", api.DeathNoticeIssueApi.as_view(), name="facility-death-issue"),
    path("facilities/documents/", api.DocumentListApi.as_view(), name="facility-documents"),
    path("facilities/documents/<int:pk>/", api.DocumentDetailApi.as_view(), name="facility-document"),
    path("facilities/documents/<int:pk>/reissue/", api.DocumentReissueApi.as_view(), name="facility-document-reissue"),
    path("facilities/documents/<int:pk>/pdf/", api.DocumentPdfApi.as_view(), name="facility-document-pdf"),
    path("facilities/reports/", api.ReportApi.as_view(), name="facility-report"),
    path("facilities/rules/", api.RulesApi.as_view(), name="facility-rules"),
    path("facilities/standards/", api.StandardsApi.as_view(), name="facility-standards"),
]
