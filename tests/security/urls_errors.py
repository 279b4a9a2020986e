"""The project's URLs plus a view that fails, to see what users and logs get (T23)."""

from django.urls import path

from portal.urls import handler400, handler403, handler404, handler500
from portal.urls import urlpatterns as portal_urlpatterns


def failing_view(request):
    # The message carries personal data, as a careless exception might: the log must not show it.
    raise RuntimeError("lookup failed for 001195012345 nhung@example.vn 0912345678 born 12/03/1995")


def failing_api_view(request):
    raise RuntimeError("api failure")


urlpatterns = [
    path("test-errors/boom/", failing_view),
    path("api/test-errors/boom/", failing_api_view),
    *portal_urlpatterns,
]

__all__ = ["handler400", "handler403", "handler404", "handler500", "urlpatterns"]
