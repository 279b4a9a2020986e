"""Inbound API for the national public service portal: dossiers submitted there, and ratings.

OUR protocol (no public specification exists; docs/national-portal-inbound.md): signed JSON POSTs
(integrations/national_portal/inbound_signing.py) with a timestamp window and single-use nonces.
Field names follow the DVCQG sync vocabulary (MaHoSo, MaTTHC, ChuHoSo, …). Every field is checked
and each problem is reported under its field name; unknown fields are refused.
"""

from __future__ import annotations

import datetime as dt
import re
from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError as DjangoValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from drf_spectacular.extensions import OpenApiAuthenticationExtension
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import serializers, status
from rest_framework.authentication import BaseAuthentication
from rest_framework.exceptions import APIException, AuthenticationFailed, NotFound
from rest_framework.permissions import BasePermission
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from citizens.validators import validate_personal_id
from integrations.national_portal import inbound_signing as signing
from integrations.national_portal.payload import PORTAL_TZ
from portal.crypto import pii_hash
from procedures.inbound import InboundDossier, dossier_rating_record, national_dossier_accept, national_dossier_find
from procedures.models_national import DossierRating, InboundNonce

NATIONAL_REFERENCE_RE = re.compile(r"^[0-9A-Za-z][0-9A-Za-z._/-]{0,63}$")
PROCEDURE_CODE_RE = re.compile(r"^[0-9A-Za-z][0-9A-Za-z._-]{0,39}$")
PHONE_RE = re.compile(r"^(\+84|0)[0-9]{9,10}$")
SHA256_RE = re.compile(r"^[0-9a-f]{64}$")
FUTURE_TOLERANCE = dt.timedelta(minutes=5)


# --- authentication -------------------------------------------------------------------------------


class PayloadTooLarge(APIException):
    status_code = status.HTTP_413_REQUEST_ENTITY_TOO_LARGE
    default_detail = gettext_lazy("The request body is too large.")
    default_code = "too_large"


class NationalPortalPrincipal:
    """The national portal as request.user (not a Django user)."""

    is_authenticated = True
    is_active = True
    is_staff = False
    is_superuser = False
    pk = None

    def __init__(self, sender: str) -> None:
        self.sender = sender
        self.username = sender

    def __str__(self) -> str:
        return self.sender


class NationalPortalSignatureAuthentication(BaseAuthentication):
    """Check sender, timestamp window, nonce (single use) and the HMAC signature of the raw body."""

    def authenticate(self, request: Request) -> tuple[NationalPortalPrincipal, str]:
        meta = request.META
        sender = meta.get("HTTP_X_DVCQG_SENDER", "")
        stamp = meta.get("HTTP_X_DVCQG_TIMESTAMP", "")
        nonce = meta.get("HTTP_X_DVCQG_NONCE", "")
        given = meta.get("HTTP_X_DVCQG_SIGNATURE", "")
        if not (sender and stamp and nonce and given):
            raise AuthenticationFailed(_("The request is not signed (X-DVCQG-* headers missing)."))
        secrets_ = settings.NATIONAL_PORTAL_INBOUND_SECRETS
        if sender != settings.NATIONAL_PORTAL_INBOUND_SENDER or not secrets_:
            raise AuthenticationFailed(_("Unknown sender."))
        if not stamp.isdigit():
            raise AuthenticationFailed(_("X-DVCQG-Timestamp must be Unix time in seconds."))
        skew = abs(timezone.now().timestamp() - int(stamp))
        if skew > settings.NATIONAL_PORTAL_INBOUND_MAX_SKEW_SECONDS:
            raise AuthenticationFailed(
                _("The request was signed %(seconds)d seconds away from our clock; at most %(max)d are accepted.")
                % {"seconds": int(skew), "max": settings.NATIONAL_PORTAL_INBOUND_MAX_SKEW_SECONDS}
            )
        if not signing.NONCE_RE.match(nonce):
            raise AuthenticationFailed(_("X-DVCQG-Nonce must be 16 to 64 letters, digits, '-' or '_'."))
        length = int(meta.get("CONTENT_LENGTH") or 0)
        if length > settings.NATIONAL_PORTAL_INBOUND_MAX_BODY_BYTES:
            raise PayloadTooLarge()
        body = request._request.body
        if not signing.signature_matches(
            given=given,
            secrets_=secrets_,
            sender=sender,
            timestamp=stamp,
            nonce=nonce,
            method=request.method,
            path=request._request.path,
            body=body,
        ):
            raise AuthenticationFailed(_("The signature does not match the request."))
        # Single use: a signed request that is replayed (same nonce) is refused, even within the window.
        window = dt.timedelta(seconds=2 * settings.NATIONAL_PORTAL_INBOUND_MAX_SKEW_SECONDS)
        try:
            with transaction.atomic():
                InboundNonce.objects.create(sender=sender, nonce=nonce)
        except IntegrityError:
            raise AuthenticationFailed(_("This request was already received (nonce used before).")) from None
        InboundNonce.objects.filter(seen_at__lt=timezone.now() - window).delete()
        return NationalPortalPrincipal(sender), sender

    def authenticate_header(self, request: Request) -> str:
        return 'DVCQG-HMAC realm="national-portal"'


class NationalPortalSignatureScheme(OpenApiAuthenticationExtension):
    target_class = "procedures.api_national.NationalPortalSignatureAuthentication"
    name = "NationalPortalSignature"

    def get_security_definition(self, auto_schema: Any) -> dict[str, str]:
        return {
            "type": "apiKey",
            "in": "header",
            "name": "X-DVCQG-Signature",
            "description": (
                "OUR design (docs/national-portal-inbound.md): headers X-DVCQG-Sender, X-DVCQG-Timestamp (Unix s), "
                "X-DVCQG-Nonce (single use) and X-DVCQG-Signature = 'v1=' + hex HMAC-SHA256(secret, "
                "'v1\\n{sender}\\n{timestamp}\\n{nonce}\\n{METHOD}\\n{path}\\n{sha256(body)}')."
            ),
        }


class IsNationalPortal(BasePermission):
    def has_permission(self, request: Request, view: Any) -> bool:
        return isinstance(request.user, NationalPortalPrincipal)


# --- fields ------------------------------------------------------------------------------------------


def _portal_datetime(value: str, *, field: str) -> dt.datetime:
    if not isinstance(value, str) or not re.fullmatch(r"\d{14}", value):
        raise serializers.ValidationError(
            _("%(field)s must be a date and time written yyyyMMddHHmmss (Vietnam time).") % {"field": field}
        )
    try:
        moment = dt.datetime.strptime(value, "%Y%m%d%H%M%S").replace(tzinfo=PORTAL_TZ)
    except ValueError:
        raise serializers.ValidationError(_("%(field)s is not a real date and time.") % {"field": field}) from None
    if moment > timezone.now() + FUTURE_TOLERANCE:
        raise serializers.ValidationError(_("%(field)s is in the future.") % {"field": field})
    return moment


class StrictSerializer(serializers.Serializer):
    """Refuse fields we do not know: a misspelt field would otherwise be silently lost."""

    def to_internal_value(self, data: Any) -> Any:
        if isinstance(data, dict):
            unknown = sorted(set(data) - set(self.fields))
            if unknown:
                raise serializers.ValidationError({name: [_("Unknown field.")] for name in unknown})
        return super().to_internal_value(data)


class AttachmentInput(StrictSerializer):
    TenTepDinhKem = serializers.CharField(max_length=255, help_text="File name")
    DuongDanTaiTepTin = serializers.URLField(max_length=1000, help_text="Where the file can be downloaded")
    MaThanhPhanHoSo = serializers.CharField(max_length=100, required=False, allow_blank=True)
    HashTepTin = serializers.RegexField(
        SHA256_RE,
        required=False,
        allow_blank=True,
        error_messages={"invalid": gettext_lazy("Give the SHA-256 in hex.")},
    )


class NationalDossierInput(StrictSerializer):
    MaHoSoQuocGia = serializers.RegexField(
        NATIONAL_REFERENCE_RE,
        max_length=64,
        help_text="The national portal's own reference of the submission (duplicate key)",
        error_messages={"invalid": gettext_lazy("Use 1 to 64 letters, digits, '.', '-', '_' or '/'.")},
    )
    MaTTHC = serializers.RegexField(
        PROCEDURE_CODE_RE,
        max_length=40,
        help_text="National procedure code, e.g. 1.003006",
        error_messages={"invalid": gettext_lazy("This is not a procedure code.")},
    )
    MaDonVi = serializers.CharField(max_length=35, required=False, allow_blank=True, help_text="Deciding agency code")
    ChuHoSo = serializers.CharField(max_length=200, help_text="Applicant's full name")
    MaDoiTuong = serializers.CharField(max_length=12, help_text="Applicant's 12-digit personal ID number")
    NgaySinh = serializers.CharField(required=False, allow_blank=True, help_text="Date of birth, yyyyMMdd")
    DiaChi = serializers.CharField(max_length=500, help_text="Applicant's address")
    SoDienThoai = serializers.RegexField(
        PHONE_RE, max_length=20, error_messages={"invalid": gettext_lazy("Give a Vietnamese phone number.")}
    )
    Email = serializers.EmailField(required=False, allow_blank=True, max_length=254)
    TrichYeuHoSo = serializers.CharField(max_length=2000, help_text="What is requested")
    NgayNop = serializers.CharField(help_text="Submitted at, yyyyMMddHHmmss, Vietnam time")
    TaiLieuNop = AttachmentInput(many=True, required=False, max_length=50)

    def validate_NgayNop(self, value: str) -> dt.datetime:
        return _portal_datetime(value, field="NgayNop")

    def validate_NgaySinh(self, value: str) -> dt.date | None:
        if not value:
            return None
        try:
            return dt.datetime.strptime(value, "%Y%m%d").date()  # noqa: DTZ007  (a date, no zone)
        except ValueError:
            raise serializers.ValidationError(_("Give the date of birth as yyyyMMdd.")) from None

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        try:
            validate_personal_id(attrs["MaDoiTuong"], birth_date=attrs.get("NgaySinh"))
        except DjangoValidationError as exc:
            raise serializers.ValidationError({"MaDoiTuong": list(exc.messages)}) from None
        return attrs


class NationalRatingInput(StrictSerializer):
    MaHoSoQuocGia = serializers.RegexField(NATIONAL_REFERENCE_RE, max_length=64, required=False)
    MaHoSo = serializers.CharField(max_length=64, required=False, help_text="Our dossier code as synced to DVCQG")
    MaDoiTuong = serializers.CharField(max_length=12, help_text="The rating applicant's personal ID number")
    MucDoHaiLong = serializers.ChoiceField(
        choices=DossierRating.Score.choices, help_text="1 dissatisfied, 2 satisfied, 3 very satisfied"
    )
    NoiDung = serializers.CharField(max_length=2000, required=False, allow_blank=True, default="")
    NgayDanhGia = serializers.CharField(help_text="Rated at, yyyyMMddHHmmss, Vietnam time")

    def validate_NgayDanhGia(self, value: str) -> dt.datetime:
        return _portal_datetime(value, field="NgayDanhGia")

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        if bool(attrs.get("MaHoSoQuocGia")) == bool(attrs.get("MaHoSo")):
            raise serializers.ValidationError(
                {"MaHoSo": [_("Name the dossier by exactly one of MaHoSoQuocGia or MaHoSo.")]}
            )
        return attrs


class NationalDossierOutput(serializers.Serializer):
    reference = serializers.CharField(help_text="Our submission reference")
    national_reference = serializers.CharField()
    code = serializers.CharField(allow_null=True, help_text="Our dossier code, once received")
    state = serializers.CharField()
    submitted_at = serializers.DateTimeField()
    duplicate = serializers.BooleanField(help_text="True: this reference was already received; nothing was created")
    payload_matches = serializers.BooleanField(help_text="False: a duplicate whose content differs from the first")


class NationalRatingOutput(serializers.Serializer):
    outcome = serializers.ChoiceField(choices=["created", "updated", "unchanged"])
    score = serializers.IntegerField()
    rated_at = serializers.DateTimeField()


def _raw_digest(request: Request) -> str:
    return signing.body_digest(request._request.body)


# --- views -------------------------------------------------------------------------------------------


class NationalDossierInboundApi(APIView):
    """A dossier submitted on the national portal."""

    authentication_classes = [NationalPortalSignatureAuthentication]
    permission_classes = [IsNationalPortal]

    @extend_schema(
        operation_id="national_portal_dossier_submit",
        request=NationalDossierInput,
        responses={
            201: NationalDossierOutput,
            200: OpenApiResponse(NationalDossierOutput, description="Duplicate: the dossier already made"),
            400: OpenApiResponse(description="A field is wrong; the body names it"),
            401: OpenApiResponse(description="Signature, timestamp or nonce refused"),
        },
        tags=["national-portal"],
    )
    def post(self, request: Request) -> Response:
        data = NationalDossierInput(data=request.data)
        data.is_valid(raise_exception=True)
        v = data.validated_data
        result = national_dossier_accept(
            sender=request.user.sender,
            payload_digest=_raw_digest(request),
            submission=InboundDossier(
                national_reference=v["MaHoSoQuocGia"],
                procedure_code=v["MaTTHC"],
                agency_code=v.get("MaDonVi", ""),
                applicant_name=v["ChuHoSo"],
                national_id=v["MaDoiTuong"],
                birth_date=v.get("NgaySinh"),
                address=v["DiaChi"],
                phone=v["SoDienThoai"],
                email=v.get("Email", ""),
                summary=v["TrichYeuHoSo"],
                submitted_at=v["NgayNop"],
                attachments=[dict(a) for a in v.get("TaiLieuNop", [])],
            ),
        )
        dossier = result.dossier
        body = {
            "reference": dossier.reference,
            "national_reference": v["MaHoSoQuocGia"],
            "code": dossier.code,
            "state": dossier.state,
            "submitted_at": dossier.submitted_at,
            "duplicate": not result.created,
            "payload_matches": result.payload_matches,
        }
        return Response(
            NationalDossierOutput(body).data, status=status.HTTP_201_CREATED if result.created else status.HTTP_200_OK
        )


class NationalRatingInboundApi(APIView):
    """The applicant's rating of a dossier, made on the national portal."""

    authentication_classes = [NationalPortalSignatureAuthentication]
    permission_classes = [IsNationalPortal]

    @extend_schema(
        operation_id="national_portal_rating_record",
        request=NationalRatingInput,
        responses={
            201: NationalRatingOutput,
            200: OpenApiResponse(NationalRatingOutput, description="Updated, or unchanged (same or older rating)"),
            400: OpenApiResponse(description="A field is wrong; the body names it"),
            401: OpenApiResponse(description="Signature, timestamp or nonce refused"),
            404: OpenApiResponse(description="No such dossier of this applicant"),
        },
        tags=["national-portal"],
    )
    def post(self, request: Request) -> Response:
        data = NationalRatingInput(data=request.data)
        data.is_valid(raise_exception=True)
        v = data.validated_data
        dossier = national_dossier_find(national_reference=v.get("MaHoSoQuocGia", ""), dossier_code=v.get("MaHoSo", ""))
        # Only the dossier's own applicant rates it; a mismatch looks like a missing dossier.
        if dossier is None or dossier.applicant_national_id_hash != pii_hash(v["MaDoiTuong"]):
            raise NotFound(_("No dossier of this applicant has that reference."))
        rating, outcome = dossier_rating_record(
            dossier=dossier,
            source=DossierRating.Source.NATIONAL_PORTAL,
            score=int(v["MucDoHaiLong"]),
            comment=v.get("NoiDung", ""),
            rated_at=v["NgayDanhGia"],
        )
        body = {"outcome": outcome, "score": rating.score, "rated_at": rating.rated_at}
        return Response(
            NationalRatingOutput(body).data,
            status=status.HTTP_201_CREATED if outcome == "created" else status.HTTP_200_OK,
        )
