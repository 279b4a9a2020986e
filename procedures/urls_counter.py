"""Counter intake (/workspace/counter/) and the tracking book (/workspace/books/) (issue 7)."""

from django.urls import path

from procedures import views_counter as views

app_name = "counter"
urlpatterns = [
    path("counter/", views.counter_home, name="home"),
    path("counter/new/", views.counter_new, name="new"),
    path("counter/i/<str:token>/", views.counter_intake, name="intake"),
    path("counter/dossiers/<int:pk>/", views.counter_done, name="done"),
    path("counter/dossiers/<int:pk>/receipt.pdf", views.counter_receipt, name="receipt"),
    path("books/", views.book_home, name="books"),
    path("books/<int:pk>/", views.book_job, name="book-job"),
    path("books/<int:pk>/download/", views.book_download, name="book-download"),
]
