"""The project's URLs plus views that lose the database, to see what users get (security.md T36, T37)."""

from django.db import InterfaceError, OperationalError
from django.urls import path

from portal.urls import handler400, handler403, handler404, handler500
from portal.urls import urlpatterns as portal_urlpatterns


def database_down_view(request):
    raise OperationalError('connection to server at "127.0.0.1", port 5432 failed: Connection refused')


def connection_closed_api_view(request):
    raise InterfaceError("connection already closed")


def failing_view(request):
    raise RuntimeError("a bug, not an outage")


urlpatterns = [
    path("test-db/down/", database_down_view),
    path("api/test-db/closed/", connection_closed_api_view),
    path("test-db/bug/", failing_view),
    *portal_urlpatterns,
]

__all__ = ["handler400", "handler403", "handler404", "handler500", "urlpatterns"]
