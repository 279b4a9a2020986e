from django.urls import path

from citizens import views

app_name = "citizens"
urlpatterns = [
    path("dossiers/", views.my_dossiers, name="my-dossiers"),
]
