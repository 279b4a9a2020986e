"""REST API for facilities' own systems (API key) and facility members (session).

``Authorization: Api-Key <prefix>.<secret>`` identifies the facility (keys are stored as digests,
like the population gateway's). Personal data travels in bodies only; lists carry none.
"""

from __future__ import annotations

import datetime as dt
import hmac
from typing import Any

from django.db import transaction
from django.http import FileResponse
from django.utils import timezone
from drf_spectacular.extensions import OpenApiAuthenticationExtension
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import serializers, status
from rest_framework.authentication import BaseAuthentication, SessionAuthentication
from rest_framework.exceptions import AuthenticationFailed, NotFound, PermissionDenied
from rest_framework.generics import ListAPIView
from rest_framework.permissions import BasePermission
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from facilities import selectors, services
from facilities.models import FacilityCredential, HealthDocument
from facilities.rules import rule_versions
from facilities.standards import STANDARDS
from integrations.gateway_models import api_key_digest
from portal.audit import audit_record
from portal.errors import ApplicationError


class FacilityPrincipal:
    """The facility's system as request.user (not a Django user)."""

    is_authenticated = True
    is_active = True
    is_staff = False
    is_superuser = False
    pk = None

    def __init__(self, credential: FacilityCredential) -> None:
        self.credential = credential
        self.username = f"facility:{credential.facility.code}"

    def get_username(self) -> str:
        return self.username

    def __str__(self) -> str:
        return self.username


class FacilityKeyAuthentication(BaseAuthentication):
    keyword = "Api-Key"

    def authenticate(self, request: Request):
        header = request.META.get("HTTP_AUTHORIZATION", "")
        if not header.startswith(f"{self.keyword} "):
            return None
        prefix, _sep, secret = header[len(self.keyword) + 1 :].strip().partition(".")
        credential = (
            FacilityCredential.objects.select_related("facility").filter(key_prefix=prefix, is_active=True).first()
            if prefix
            else None
        )
        if credential is None or not secret or not hmac.compare_digest(credential.key_digest, api_key_digest(secret)):
            raise AuthenticationFailed("Invalid API key.")
        FacilityCredential.objects.filter(pk=credential.pk).update(last_used_at=timezone.now())
        return FacilityPrincipal(credential), credential

    def authenticate_header(self, request: Request) -> str:
        return self.keyword


class FacilityKeyScheme(OpenApiAuthenticationExtension):
    target_class = "facilities.api.FacilityKeyAuthentication"
    name = "FacilityApiKey"

    def get_security_definition(self, auto_schema: Any) -> dict[str, str]:
        return {
            "type": "apiKey",
            "in": "header",
            "name": "Authorization",
            "description": "`Api-Key <prefix>.<secret>`, issued per facility (`manage.py facility_api_key`)",
        }


class IsFacilityIssuer(BasePermission):
    """The caller is a facility's system or an active member of a facility."""

    def has_permission(self, request: Request, view: Any) -> bool:
        if isinstance(request.auth, FacilityCredential):
            if not request.auth.facility.is_active:
                raise PermissionDenied("The facility is not active.")
            view.issuer = services.Issuer(facility=request.auth.facility, credential=request.auth)
            return True
        if not (request.user and request.user.is_authenticated):
            return False
        try:
            view.issuer = services.issuer_for_user(user=request.user, roles=getattr(view, "roles", ()))
        except ApplicationError as exc:
            raise PermissionDenied(exc.message) from exc
        return True


class FacilityApiView(APIView):
    authentication_classes = [FacilityKeyAuthentication, SessionAuthentication]
    permission_classes = [IsFacilityIssuer]
    issuer: services.Issuer


# --- serializers --------------------------------------------------------------------------------


class FacilityDocumentOutput(serializers.ModelSerializer):
    facility = serializers.CharField(source="facility.code")
    supersedes = serializers.SerializerMethodField()
    verify_url = serializers.SerializerMethodField()

    class Meta:
        model = HealthDocument
        fields = (
            "id",
            "kind",
            "form",
            "number",
            "revision",
            "is_current",
            "supersedes",
            "reissue_reason",
            "facility",
            "book",
            "year",
            "standard_version",
            "rule_version",
            "issued_at",
            "delivery_status",
            "verification_status",
            "sync_due_at",
            "signed_data_due_at",
            "sent_at",
            "ack_due_at",
            "acknowledged_at",
            "used_at",
            "registration_reference",
            "sha256",
            "verify_url",
        )

    def get_supersedes(self, obj: HealthDocument) -> int | None:
        return obj.supersedes_id

    def get_verify_url(self, obj: HealthDocument) -> str:
        from facilities.documents import verify_url

        return verify_url(obj)


class DocumentDetailOutput(FacilityDocumentOutput):
    data = serializers.JSONField()

    class Meta(FacilityDocumentOutput.Meta):
        fields = (*FacilityDocumentOutput.Meta.fields, "data")


class BirthInput(serializers.Serializer):
    form = serializers.ChoiceField(choices=["01", "02"], default="01")
    standard_version = serializers.CharField(required=False, allow_blank=True)
    data = serializers.DictField(help_text="Shared fields of the standard (GET standards/ lists them)")
    children = serializers.ListField(child=serializers.DictField(), min_length=1, max_length=8)


class DeathInput(serializers.Serializer):
    standard_version = serializers.CharField(required=False, allow_blank=True)
    data = serializers.DictField()
    related_birth = serializers.IntegerField(
        required=False, allow_null=True, help_text="Birth certificate id (newborn)"
    )


class ReissueInput(serializers.Serializer):
    reason = serializers.ChoiceField(choices=HealthDocument.ReissueReason.choices)
    note = serializers.CharField(max_length=1000)
    data = serializers.DictField(required=False, help_text="Corrected fields (after an error)")


class BirthOutput(serializers.Serializer):
    documents = FacilityDocumentOutput(many=True)


# --- views --------------------------------------------------------------------------------------


class BirthCertificateIssueApi(FacilityApiView):
    @extend_schema(request=BirthInput, responses={201: BirthOutput}, summary="Issue birth certificates (one per child)")
    def post(self, request: Request) -> Response:
        payload = BirthInput(data=request.data)
        payload.is_valid(raise_exception=True)
        documents = services.birth_certificates_issue(
            issuer=self.issuer,
            data=payload.validated_data["data"],
            children=payload.validated_data["children"],
            form=payload.validated_data["form"],
            standard_version=payload.validated_data.get("standard_version") or None,
        )
        return Response(
            {"documents": FacilityDocumentOutput(documents, many=True).data}, status=status.HTTP_201_CREATED
        )


class DeathNoticeIssueApi(FacilityApiView):
    @extend_schema(request=DeathInput, responses={201: FacilityDocumentOutput}, summary="Issue a death notice")
    def post(self, request: Request) -> Response:
        payload = DeathInput(data=request.data)
        payload.is_valid(raise_exception=True)
        document = services.death_notice_issue(
            issuer=self.issuer,
            data=payload.validated_data["data"],
            related_birth_id=payload.validated_data.get("related_birth"),
            standard_version=payload.validated_data.get("standard_version") or None,
        )
        return Response(FacilityDocumentOutput(document).data, status=status.HTTP_201_CREATED)


class DocumentListApi(ListAPIView):
    authentication_classes = [FacilityKeyAuthentication, SessionAuthentication]
    permission_classes = [IsFacilityIssuer]
    serializer_class = FacilityDocumentOutput
    filter_backends: list = []

    @extend_schema(
        parameters=[
            OpenApiParameter("kind", enum=HealthDocument.Kind.values),
            OpenApiParameter("status", enum=[*HealthDocument.Delivery.values, "superseded"]),
        ]
    )
    def get(self, request, *args, **kwargs):
        return super().get(request, *args, **kwargs)

    def get_queryset(self):
        kind = self.request.query_params.get("kind", "")
        state = self.request.query_params.get("status", "")
        return selectors.documents_for_facility(
            facility=self.issuer.facility,
            kind=kind if kind in HealthDocument.Kind.values else "",
            status=state if state in [*HealthDocument.Delivery.values, "superseded"] else "",
        )


def _document(view: FacilityApiView, pk: int) -> HealthDocument:
    document = HealthDocument.objects.select_related("facility").filter(pk=pk, facility=view.issuer.facility).first()
    if document is None:
        raise NotFound()
    return document


class DocumentDetailApi(FacilityApiView):
    @extend_schema(responses=DocumentDetailOutput, summary="A document with its data (the read is audited)")
    def get(self, request: Request, pk: int) -> Response:
        document = _document(self, pk)
        with transaction.atomic():
            audit_record(
                action="facilities.document.view",
                actor=request.user if getattr(request.user, "pk", None) else None,
                obj=document,
                data={
                    "number": document.number,
                    "via": self.issuer.via,
                    "credential": getattr(request.auth, "key_prefix", ""),
                },
            )
        return Response(DocumentDetailOutput(document).data)


class DocumentReissueApi(FacilityApiView):
    roles = ("head",)

    @extend_schema(
        request=ReissueInput, responses={201: FacilityDocumentOutput}, summary="Re-issue after an error or a loss"
    )
    def post(self, request: Request, pk: int) -> Response:
        document = _document(self, pk)  # first: another facility's id is 404 whatever the body (no oracle)
        payload = ReissueInput(data=request.data)
        payload.is_valid(raise_exception=True)
        new = services.document_reissue(
            issuer=self.issuer,
            document_id=document.pk,
            reason=payload.validated_data["reason"],
            note=payload.validated_data["note"],
            data=payload.validated_data.get("data"),
        )
        return Response(FacilityDocumentOutput(new).data, status=status.HTTP_201_CREATED)


class DocumentPdfApi(FacilityApiView):
    @extend_schema(responses={(200, "application/pdf"): bytes}, summary="The signed PDF")
    def get(self, request: Request, pk: int):
        document = _document(self, pk)
        with transaction.atomic():
            audit_record(
                action="facilities.document.download",
                actor=request.user if getattr(request.user, "pk", None) else None,
                obj=document,
                data={"number": document.number, "via": self.issuer.via},
            )
        return FileResponse(document.pdf.open("rb"), content_type="application/pdf")


class ReportOutput(serializers.Serializer):
    facility = serializers.CharField(source="facility.code")
    start = serializers.DateField()
    end = serializers.DateField()
    issued_birth = serializers.IntegerField()
    issued_death = serializers.IntegerField()
    reissued = serializers.IntegerField()
    corrected = serializers.IntegerField()
    delivered = serializers.IntegerField()
    delivered_on_time = serializers.IntegerField()
    acknowledged = serializers.IntegerField()
    acknowledged_late = serializers.IntegerField()
    alerts = serializers.IntegerField()


class ReportApi(FacilityApiView):
    @extend_schema(
        parameters=[OpenApiParameter("from", type=dt.date), OpenApiParameter("to", type=dt.date)],
        responses=ReportOutput,
        summary="Documents issued, delivered on time, acknowledged late, corrected",
    )
    def get(self, request: Request) -> Response:
        today = timezone.localdate()
        try:
            start = dt.date.fromisoformat(request.query_params.get("from") or today.replace(day=1).isoformat())
            end = dt.date.fromisoformat(request.query_params.get("to") or today.isoformat())
        except ValueError as exc:
            raise ApplicationError("Dates are YYYY-MM-DD.") from exc
        return Response(
            ReportOutput(selectors.facility_report(facility=self.issuer.facility, start=start, end=end)).data
        )


class RulesApi(APIView):
    """Service levels and group time limits per rule version (public information)."""

    authentication_classes: list = []
    permission_classes: list = []

    @extend_schema(responses={200: dict}, summary="Service levels and time limits per rule version")
    def get(self, request: Request) -> Response:
        return Response(
            [
                {
                    "code": v.code,
                    "valid_from": v.valid_from,
                    "source": v.source,
                    "target": v.target,
                    "sync_minutes": v.sync_minutes,
                    "ack_working_hours": v.ack_working_hours,
                    "signed_data_working_hours": v.signed_data_working_hours,
                    "group_limits": v.group_limits,
                }
                for v in rule_versions()
            ]
        )


class StandardsApi(APIView):
    """The versioned field sets: names, wire names, types, required, per child."""

    authentication_classes: list = []
    permission_classes: list = []

    @extend_schema(responses={200: dict}, summary="Field sets per data standard version")
    def get(self, request: Request) -> Response:
        return Response(
            {
                version: {
                    "kind": standard.kind,
                    "title": str(standard.title),
                    "fields": [
                        {
                            "name": f.name,
                            "wire": f.wire,
                            "label": str(f.label),
                            "type": f.type,
                            "required": f.required,
                            "per_child": f.per_child,
                            "choices": [c for c, _l in f.choices],
                        }
                        for f in standard.fields
                    ],
                }
                for version, standard in STANDARDS.items()
            }
        )
