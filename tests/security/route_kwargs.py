"""How each object URL of the matrix is filled: with citizen A's or agency A's objects (route_world.py).

Values are paths into the world's objects ("dossier.reference"); literal values start with "=".
"""

from __future__ import annotations

import re
from typing import Any

KWARGS: dict[str, dict[str, str]] = {
    # allauth: keys that do not exist (nobody may confirm or reset with a guessed key)
    "account_confirm_email": {"key": "=Mg:1abcde:guessed-key"},
    "account_reset_password_from_key": {"uidb36": "=1", "key": "=set-password"},
    "openid_connect_login": {"provider_id": "=vneid"},
    "openid_connect_callback": {"provider_id": "=vneid"},
    # API
    "api:procedure-detail": {"code": "procedure.code"},
    "api:dossier-detail": {"reference": "dossier.reference"},
    "api:staff-dossier-receive": {"pk": "submitted.pk"},
    "api:facility-document": {"pk": "health_document.pk"},
    "api:facility-document-reissue": {"pk": "health_document.pk"},
    "api:facility-document-pdf": {"pk": "health_document.pk"},
    # catalogue and the applicant's dossier
    "procedures:procedure-detail": {"pk": "procedure.pk"},
    "procedures:procedure-document-template": {"pk": "procedure.pk", "doc_id": "checklist.pk"},
    "procedures:procedure-result-template": {"pk": "procedure.pk"},
    "procedures:dossier-detail": {"reference": "dossier.reference"},
    "procedures:dossier-receipt": {"reference": "dossier.reference"},
    # legacy clerk views
    # workspace
    "workspace:queue": {"key": "=to_receive"},
    "workspace:bulk": {"key": "=to_receive"},
    "workspace:dossier": {"pk": "dossier.pk"},
    "workspace:act": {"pk": "dossier.pk", "action": "=assign"},
    "workspace:document": {"pk": "dossier.pk", "doc_id": "dossier_document.pk"},
    "workspace:official": {"pk": "dossier.pk", "doc_id": "receipt.pk"},
    "counter:intake": {"token": "intake.token"},
    "counter:done": {"pk": "dossier.pk"},
    "counter:receipt": {"pk": "dossier.pk"},
    "counter:book-job": {"pk": "book.pk"},
    "counter:book-download": {"pk": "book.pk"},
    # applicant pages
    "citizens:apply": {"pk": "procedure.pk"},
    "citizens:draft-submit": {"token": "draft.token"},
    "citizens:draft-delete": {"token": "draft.token"},
    "citizens:contact-code": {"token": "draft.token"},
    "citizens:draft-document": {"token": "draft.token", "doc_id": "draft_document.pk"},
    "citizens:draft-step": {"token": "draft.token", "step": "=applicant"},
    "citizens:dossier": {"reference": "dossier.reference"},
    "citizens:dossier-document": {"reference": "dossier.reference", "doc_id": "dossier_document.pk"},
    "citizens:dossier-supplement": {"reference": "dossier.reference"},
    "citizens:dossier-withdraw": {"reference": "dossier.reference"},
    "citizens:dossier-rate": {"reference": "dossier.reference"},
    "citizens:payment-begin": {"reference": "dossier.reference"},
    "citizens:payment-return": {"reference": "dossier.reference"},
    "citizens:payment-receipt": {"reference": "dossier.reference", "pk": "payment.pk"},
    "citizens:feedback-detail": {"pk": "feedback.pk"},
    # reconciliation (gateway)
    "reconciliation:job": {"pk": "job.pk"},
    "reconciliation:progress": {"pk": "job.pk"},
    "reconciliation:pause": {"pk": "job.pk"},
    "reconciliation:resume": {"pk": "job.pk"},
    "reconciliation:export": {"pk": "job.pk"},
    "reconciliation:corrections": {"pk": "job.pk"},
    # facilities
    "facilities:detail": {"pk": "health_document.pk"},
    "facilities:pdf": {"pk": "health_document.pk"},
    "facilities:reissue": {"pk": "health_document.pk"},
    "facilities:verify": {"token": "health_document.verify_token"},
    # official documents
    "documents:verify": {"token": "receipt.verify_token"},
    "documents:list": {"reference": "dossier.reference"},
    "documents:download": {"reference": "dossier.reference", "kind": "=receipt"},
    "documents:download-seq": {"reference": "dossier.reference", "kind": "=receipt", "sequence": "=1"},
    # privacy
    "privacy:request": {"reference": "privacy_request.reference"},
    "privacy:consent-withdraw": {"reference": "consent.reference"},
}

# Query strings some GET pages need to show something (the payment return names the order).
QUERIES: dict[str, str] = {
    "citizens:payment-return": "order_id=MT-000001",
    "citizens:payment-callback": "",
}


def kwargs_for(name: str, objects: dict[str, Any]) -> dict[str, Any]:
    spec = KWARGS.get(name, {})
    values: dict[str, Any] = {}
    for arg, path in spec.items():
        if path.startswith("="):
            values[arg] = path[1:]
            continue
        head, *rest = path.split(".")
        value = objects[head]
        for attr in rest:
            value = getattr(value, attr)
        values[arg] = value
    return values


# --- the admin: every pattern is filled from its model's first object -----------------------------------

ADMIN_MODEL = re.compile(r"^admin/(?P<app>[a-z_]+)/(?P<model>[a-z_]+)/")


def admin_model(pattern: str):
    """The model of an admin pattern ("admin/procedures/dossier/..."), or None for the site's own pages."""
    from django.apps import apps

    match = ADMIN_MODEL.match(pattern)
    if not match:
        return None
    try:
        return apps.get_model(match["app"], match["model"])
    except LookupError:
        return None


def admin_url(pattern: str, objects: dict[str, Any]) -> str:
    """A concrete URL for an admin pattern, with an existing object wherever the pattern takes one."""
    from django.contrib.contenttypes.models import ContentType

    model = admin_model(pattern)
    obj = model._default_manager.order_by("pk").first() if model is not None else None
    pk = str(obj.pk) if obj is not None else "0"
    dossier = objects["dossier"]
    url = pattern
    url = url.replace("<path:content_type_id>", str(ContentType.objects.get_for_model(dossier).pk))
    if model is None:
        url = url.replace("<path:object_id>", str(dossier.pk))
    for token in ("<path:object_id>", "<id>", "<int:pk>"):
        url = url.replace(token, pk)
    url = re.sub(r"\^\(\?P<app_label>[^)]*\)/\$", "procedures/", url)
    url = url.replace("(?P<url>.*)$", "no-such-page/")
    return "/" + url
