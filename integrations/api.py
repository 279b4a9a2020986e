"""The gateway's REST API for other health systems: look up, verify, verify in bulk.

Authentication: ``Authorization: Api-Key <prefix>.<secret>`` (stored as a digest), or a client
certificate whose SHA-256 fingerprint a TLS-terminating proxy passes in GATEWAY_CLIENT_CERT_HEADER.
Each client has scopes, a daily quota (records) and a rate limit. Personal ID numbers travel in
request bodies only. The registry being unavailable answers 503 with ``"status": "unavailable"``,
distinct from 404 ``"not_found"``: the caller continues in degraded mode and re-verifies later.
"""

from __future__ import annotations

import hmac
import logging
from typing import Any

from django.conf import settings
from drf_spectacular.extensions import OpenApiAuthenticationExtension
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import serializers, status
from rest_framework.authentication import BaseAuthentication
from rest_framework.exceptions import APIException, AuthenticationFailed, PermissionDenied
from rest_framework.permissions import BasePermission
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.throttling import SimpleRateThrottle
from rest_framework.views import APIView

from integrations.gateway import (
    FOUND,
    NOT_FOUND,
    UNAVAILABLE,
    BulkItem,
    Caller,
    GatewayRefused,
    VerifyOutcome,
    gateway_lookup,
    gateway_verify,
    gateway_verify_bulk,
)
from integrations.gateway_models import GatewayClient, api_key_digest

logger = logging.getLogger("integrations.api")


# --- authentication, scopes, rate ----------------------------------------------------------------


class GatewayPrincipal:
    """The calling system as request.user (not a Django user)."""

    is_authenticated = True
    is_active = True
    is_staff = False
    is_superuser = False
    pk = None

    def __init__(self, client: GatewayClient) -> None:
        self.client = client
        self.username = client.code

    def __str__(self) -> str:
        return self.client.code


class GatewayKeyAuthentication(BaseAuthentication):
    """Api-Key header, or the client-certificate fingerprint header set by the TLS proxy."""

    keyword = "Api-Key"

    def authenticate(self, request: Request) -> tuple[GatewayPrincipal, GatewayClient] | None:
        header = request.META.get("HTTP_AUTHORIZATION", "")
        if header.startswith(f"{self.keyword} "):
            prefix, _, secret = header[len(self.keyword) + 1 :].strip().partition(".")
            client = GatewayClient.objects.filter(key_prefix=prefix, is_active=True).first() if prefix else None
            if client is None or not secret or not hmac.compare_digest(client.key_digest, api_key_digest(secret)):
                raise AuthenticationFailed("Invalid API key.")
            return GatewayPrincipal(client), client
        cert_header = settings.GATEWAY_CLIENT_CERT_HEADER
        fingerprint = request.META.get(cert_header, "").replace(":", "").strip().lower() if cert_header else ""
        if fingerprint:
            client = GatewayClient.objects.filter(cert_fingerprint=fingerprint, is_active=True).first()
            if client is None:
                raise AuthenticationFailed("Unknown client certificate.")
            return GatewayPrincipal(client), client
        return None

    def authenticate_header(self, request: Request) -> str:
        return self.keyword


class GatewayKeyScheme(OpenApiAuthenticationExtension):
    target_class = "integrations.api.GatewayKeyAuthentication"
    name = "GatewayApiKey"

    def get_security_definition(self, auto_schema: Any) -> dict[str, str]:
        return {
            "type": "apiKey",
            "in": "header",
            "name": "Authorization",
            "description": "`Api-Key <prefix>.<secret>`, issued per calling system",
        }


class HasGatewayScope(BasePermission):
    """The calling system holds the view's scope."""

    def has_permission(self, request: Request, view: Any) -> bool:
        client = request.auth
        if not isinstance(client, GatewayClient):
            return False
        if not client.has_scope(view.scope):
            raise PermissionDenied(f"This system lacks the {view.scope} scope.")
        return True


class GatewayClientRateThrottle(SimpleRateThrottle):
    """Requests per period, per calling system, from its own `rate` (cache-backed)."""

    scope = "population-gateway"

    def __init__(self) -> None:  # the rate is the client's, not a settings entry
        self.rate = None

    def allow_request(self, request: Request, view: Any) -> bool:
        client = request.auth
        if not isinstance(client, GatewayClient) or not client.rate:
            return True
        self.rate = client.rate
        self.num_requests, self.duration = self.parse_rate(client.rate)
        return super().allow_request(request, view)

    def get_cache_key(self, request: Request, view: Any) -> str:
        return self.cache_format % {"scope": self.scope, "ident": request.auth.pk}


# --- serializers --------------------------------------------------------------------------------


class CallerSerializer(serializers.Serializer):
    purpose = serializers.CharField(max_length=300, help_text="Why the data is needed (legal basis, procedure)")
    acting_user = serializers.CharField(max_length=150, help_text="The official acting in the calling system")
    dossier_code = serializers.CharField(max_length=80, required=False, allow_blank=True, default="")
    consent_reference = serializers.CharField(max_length=120, required=False, allow_blank=True, default="")


class LookupRequestSerializer(CallerSerializer):
    personal_id = serializers.CharField(max_length=20, help_text="12-digit personal ID number (body only)")


class CitizenSerializer(serializers.Serializer):
    personal_id = serializers.CharField()
    old_id = serializers.CharField()
    full_name = serializers.CharField()
    family_name = serializers.CharField()
    middle_name = serializers.CharField()
    given_name = serializers.CharField()
    birth_date = serializers.CharField(help_text="YYYY-MM-DD, YYYY-MM or YYYY (the registry's precision)")
    sex = serializers.CharField()
    residence = serializers.CharField()
    deceased = serializers.BooleanField()
    data_time = serializers.CharField(help_text="ThoiDiemDuLieu: when the registry's data was current")


class LookupResponseSerializer(serializers.Serializer):
    status = serializers.ChoiceField(choices=[FOUND, NOT_FOUND, UNAVAILABLE])
    request_id = serializers.CharField()
    cached = serializers.BooleanField(required=False)
    citizen = CitizenSerializer(required=False)
    detail = serializers.CharField(required=False)


class VerifyRecordSerializer(serializers.Serializer):
    personal_id = serializers.CharField(max_length=20)
    full_name = serializers.CharField(max_length=200)
    birth_date = serializers.CharField(max_length=40, help_text="YYYY-MM-DD, DD/MM/YYYY, MM/YYYY or YYYY")


class VerifyRequestSerializer(CallerSerializer, VerifyRecordSerializer):
    pass


class FieldsSerializer(serializers.Serializer):
    personal_id = serializers.CharField(help_text="found | not_found | invalid | old_id_only | not_compared")
    full_name = serializers.CharField(help_text="match | mismatch | not_compared")
    birth_date = serializers.CharField(help_text="match | partial_match | mismatch | not_compared")


class VerifyResponseSerializer(serializers.Serializer):
    status = serializers.CharField(help_text="verified | mismatch | not_found | invalid | unavailable")
    request_id = serializers.CharField()
    category = serializers.CharField(required=False)
    sub_reason = serializers.CharField(required=False)
    fields = FieldsSerializer(required=False)


class BulkRecordSerializer(VerifyRecordSerializer):
    reference = serializers.CharField(max_length=100, required=False, allow_blank=True, default="")


class BulkRequestSerializer(CallerSerializer):
    records = BulkRecordSerializer(many=True)

    def validate_records(self, value: list[dict[str, str]]) -> list[dict[str, str]]:
        if not value:
            raise serializers.ValidationError("At least one record.")
        if len(value) > settings.GATEWAY_BULK_MAX_RECORDS:
            raise serializers.ValidationError(f"At most {settings.GATEWAY_BULK_MAX_RECORDS} records per request.")
        return value


class BulkResultSerializer(VerifyResponseSerializer):
    reference = serializers.CharField()


class BulkResponseSerializer(serializers.Serializer):
    status = serializers.CharField()
    results = BulkResultSerializer(many=True)


class ErrorSerializer(serializers.Serializer):
    code = serializers.CharField(required=False)
    detail = serializers.CharField()


# --- views --------------------------------------------------------------------------------------


def _caller(request: Request, data: dict[str, Any]) -> Caller:
    client: GatewayClient = request.auth
    return Caller(
        system=client.code,
        client=client,
        acting_user=data["acting_user"],
        purpose=data["purpose"],
        dossier_code=data.get("dossier_code", ""),
        consent_reference=data.get("consent_reference", ""),
    )


def _fields(outcome: VerifyOutcome) -> dict[str, str]:
    verdict = outcome.verdict
    if verdict is None:
        return {"personal_id": "not_compared", "full_name": "not_compared", "birth_date": "not_compared"}
    if verdict.sub_reason in ("invalid_input", "old_id_only") and verdict.name_match is None:
        pid = "invalid" if verdict.sub_reason == "invalid_input" else "old_id_only"
        return {"personal_id": pid, "full_name": "not_compared", "birth_date": "not_compared"}
    if verdict.category == "id_not_found":
        return {"personal_id": "not_found", "full_name": "not_compared", "birth_date": "not_compared"}
    dob = (
        "not_compared"
        if verdict.dob_match is None
        else "mismatch"
        if not verdict.dob_match
        else ("partial_match" if verdict.dob_partial else "match")
    )
    name = "not_compared" if verdict.name_match is None else "match" if verdict.name_match else "mismatch"
    return {"personal_id": "found", "full_name": name, "birth_date": dob}


def _verify_body(outcome: VerifyOutcome) -> dict[str, Any]:
    body: dict[str, Any] = {"status": outcome.status, "request_id": outcome.request_id}
    if outcome.verdict is not None:
        body.update(category=outcome.verdict.category, sub_reason=outcome.verdict.sub_reason, fields=_fields(outcome))
    return body


UNAVAILABLE_BODY = {
    "status": UNAVAILABLE,
    "detail": "The population database is unavailable. Continue with the data marked unverified and re-verify later.",
}


class GatewayApiView(APIView):
    authentication_classes = [GatewayKeyAuthentication]
    permission_classes = [HasGatewayScope]
    throttle_classes = [GatewayClientRateThrottle]
    scope = ""

    def handle(self, request: Request) -> Response:  # pragma: no cover - overridden
        raise NotImplementedError

    def post(self, request: Request) -> Response:
        try:
            return self.handle(request)
        except GatewayRefused as exc:
            return Response({"code": exc.code, "detail": exc.message}, status=exc.status)
        except APIException:  # the caller's own mistake (invalid field, malformed JSON, media type): 4xx
            raise
        except Exception:  # never a 500: anything unexpected is "unavailable" for the caller
            logger.exception("gateway API %s failed", self.scope)
            return Response({**UNAVAILABLE_BODY, "request_id": ""}, status=status.HTTP_503_SERVICE_UNAVAILABLE)


class PopulationLookupApi(GatewayApiView):
    """Look up a citizen by personal ID number (purpose and a dossier or consent reference required)."""

    scope = GatewayClient.Scope.LOOKUP

    @extend_schema(
        request=LookupRequestSerializer,
        responses={
            200: LookupResponseSerializer,
            400: ErrorSerializer,
            401: ErrorSerializer,
            403: ErrorSerializer,
            404: OpenApiResponse(LookupResponseSerializer, description="not_found: the ID is not in the database"),
            429: ErrorSerializer,
            503: OpenApiResponse(LookupResponseSerializer, description="unavailable: continue in degraded mode"),
        },
        tags=["population gateway"],
        operation_id="population_lookup",
    )
    def post(self, request: Request) -> Response:
        return super().post(request)

    def handle(self, request: Request) -> Response:
        data = LookupRequestSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        outcome = gateway_lookup(
            caller=_caller(request, data.validated_data), personal_id=data.validated_data["personal_id"]
        )
        if outcome.status == FOUND and outcome.record is not None:
            citizen = {**outcome.record.__dict__, "full_name": outcome.record.full_name}
            return Response(
                {"status": FOUND, "request_id": outcome.request_id, "cached": outcome.cached, "citizen": citizen}
            )
        if outcome.status == NOT_FOUND:
            return Response({"status": NOT_FOUND, "request_id": outcome.request_id}, status=status.HTTP_404_NOT_FOUND)
        return Response(
            {**UNAVAILABLE_BODY, "request_id": outcome.request_id}, status=status.HTTP_503_SERVICE_UNAVAILABLE
        )


class PopulationVerifyApi(GatewayApiView):
    """Verify one record (ID + full name + date of birth) with a per-field result."""

    scope = GatewayClient.Scope.VERIFY

    @extend_schema(
        request=VerifyRequestSerializer,
        responses={
            200: VerifyResponseSerializer,
            400: ErrorSerializer,
            401: ErrorSerializer,
            403: ErrorSerializer,
            429: ErrorSerializer,
            503: OpenApiResponse(VerifyResponseSerializer, description="unavailable: continue in degraded mode"),
        },
        tags=["population gateway"],
        operation_id="population_verify",
    )
    def post(self, request: Request) -> Response:
        return super().post(request)

    def handle(self, request: Request) -> Response:
        data = VerifyRequestSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        values = data.validated_data
        outcome = gateway_verify(
            caller=_caller(request, values),
            personal_id=values["personal_id"],
            full_name=values["full_name"],
            birth_date=values["birth_date"],
        )
        if outcome.status == UNAVAILABLE:
            return Response(
                {**UNAVAILABLE_BODY, "request_id": outcome.request_id}, status=status.HTTP_503_SERVICE_UNAVAILABLE
            )
        return Response(_verify_body(outcome))


class PopulationVerifyBulkApi(GatewayApiView):
    """Verify up to GATEWAY_BULK_MAX_RECORDS records in one call (counts each record against the quota)."""

    scope = GatewayClient.Scope.BULK

    @extend_schema(
        request=BulkRequestSerializer,
        responses={
            200: BulkResponseSerializer,
            400: ErrorSerializer,
            401: ErrorSerializer,
            403: ErrorSerializer,
            429: ErrorSerializer,
            503: ErrorSerializer,
        },
        tags=["population gateway"],
        operation_id="population_verify_bulk",
    )
    def post(self, request: Request) -> Response:
        return super().post(request)

    def handle(self, request: Request) -> Response:
        data = BulkRequestSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        values = data.validated_data
        items = [
            BulkItem(r.get("reference", ""), r["personal_id"], r["full_name"], r["birth_date"])
            for r in values["records"]
        ]
        outcomes = gateway_verify_bulk(caller=_caller(request, values), items=items)
        if outcomes and all(o.status == UNAVAILABLE for o in outcomes):
            return Response({**UNAVAILABLE_BODY, "request_id": ""}, status=status.HTTP_503_SERVICE_UNAVAILABLE)
        results = [{"reference": item.reference, **_verify_body(o)} for item, o in zip(items, outcomes, strict=True)]
        return Response({"status": "ok", "results": results})
