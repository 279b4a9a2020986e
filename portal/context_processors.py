from django.conf import settings


def portal(request):
    """Expose the ministry's name and the CSP nonce under the name django-htmx reads."""
    return {
        "MINISTRY_NAME": settings.MINISTRY_NAME,
        "PORTAL_NAME": settings.PORTAL_NAME,
        "csp_nonce": getattr(request, "csp_nonce", ""),
    }
