from django.urls import path

from citizens import views

app_name = "citizens"
urlpatterns = [
    path("identity/", views.identity, name="identity"),
    path("data-access/", views.data_access, name="data-access"),
    path("apply/<int:pk>/", views.apply_start, name="apply"),
    path("drafts/<str:token>/submit/", views.draft_submit, name="draft-submit"),
    path("drafts/<str:token>/delete/", views.draft_delete, name="draft-delete"),
    path("drafts/<str:token>/contact/", views.contact_code, name="contact-code"),
    path("drafts/<str:token>/files/<int:doc_id>/", views.draft_document, name="draft-document"),
    path("drafts/<str:token>/<str:step>/", views.draft_step, name="draft-step"),
    path("dossiers/", views.my_dossiers, name="my-dossiers"),
    path("dossiers/<str:reference>/", views.dossier_detail, name="dossier"),
    path("dossiers/<str:reference>/files/<int:doc_id>/", views.dossier_document, name="dossier-document"),
    path("dossiers/<str:reference>/supplement/", views.dossier_supplement, name="dossier-supplement"),
    path("dossiers/<str:reference>/withdraw/", views.dossier_withdraw, name="dossier-withdraw"),
    path("dossiers/<str:reference>/rate/", views.dossier_rate, name="dossier-rate"),
    path("dossiers/<str:reference>/pay/", views.payment_begin, name="payment-begin"),
    path("dossiers/<str:reference>/pay/return/", views.payment_return, name="payment-return"),
    path("dossiers/<str:reference>/payments/<int:pk>/", views.payment_receipt, name="payment-receipt"),
    path("payments/callback/", views.payment_callback_view, name="payment-callback"),
    path("feedback/", views.feedback_list, name="feedback"),
    path("feedback/<int:pk>/", views.feedback_detail, name="feedback-detail"),
    path("lookup/", views.lookup, name="lookup"),
]
