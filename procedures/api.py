"""REST API: what a person can do in the browser, a partner system can do here."""

from __future__ import annotations

from django.utils.translation import gettext_lazy as _
from drf_spectacular.utils import extend_schema
from rest_framework import permissions, serializers, status
from rest_framework.exceptions import NotFound, PermissionDenied
from rest_framework.parsers import FormParser, MultiPartParser
from rest_framework.response import Response
from rest_framework.views import APIView

from portal.errors import ApplicationError
from procedures import selectors, services
from procedures.forms import DossierApplyForm
from procedures.models import Dossier, Procedure


class ProcedureOutput(serializers.ModelSerializer):
    agency = serializers.CharField(source="agency.code")

    class Meta:
        model = Procedure
        fields = ("id", "code", "name", "name_en", "agency", "time_limit_days", "service_level")


class DossierOutput(serializers.ModelSerializer):
    procedure = serializers.CharField(source="procedure.code")
    national_status = serializers.IntegerField()

    class Meta:
        model = Dossier
        fields = (
            "reference",
            "code",
            "procedure",
            "state",
            "national_status",
            "submitted_at",
            "received_at",
            "due_at",
        )


class ProcedureListApi(APIView):
    permission_classes = [permissions.AllowAny]

    @extend_schema(responses=ProcedureOutput(many=True))
    def get(self, request):
        return Response(ProcedureOutput(selectors.procedure_list_published(), many=True).data)


class DossierListCreateApi(APIView):
    """List the caller's own dossiers, or submit a new one (multipart, with one document)."""

    parser_classes = [MultiPartParser, FormParser]

    class InputSerializer(serializers.Serializer):
        procedure = serializers.IntegerField()
        address = serializers.CharField(max_length=300)
        phone = serializers.CharField(max_length=20)
        email = serializers.EmailField(required=False, allow_blank=True)
        request_summary = serializers.CharField(max_length=2000)
        document = serializers.FileField()

    @extend_schema(responses=DossierOutput(many=True))
    def get(self, request):
        return Response(DossierOutput(selectors.dossier_list_for_applicant(user=request.user), many=True).data)

    @extend_schema(request=InputSerializer, responses={201: DossierOutput})
    def post(self, request):
        from citizens.selectors import citizen_profile_for

        profile = citizen_profile_for(user=request.user)
        if profile is None:
            raise PermissionDenied(_("Only citizens signed in with VNeID can apply online."))
        unknown = set(request.data.keys()) - set(self.InputSerializer().fields)
        if unknown:  # mass assignment: refuse fields the caller may not set
            return Response(
                {"detail": _("Unknown fields: %(f)s") % {"f": ", ".join(sorted(unknown))}},
                status=status.HTTP_400_BAD_REQUEST,
            )
        ser = self.InputSerializer(data=request.data)
        ser.is_valid(raise_exception=True)
        form = DossierApplyForm(
            data={k: ser.validated_data.get(k, "") for k in ("address", "phone", "email", "request_summary")},
            files={"document": ser.validated_data["document"]},
        )
        if not form.is_valid():
            return Response(form.errors.get_json_data(), status=status.HTTP_400_BAD_REQUEST)
        procedure = selectors.procedure_get_published(pk=ser.validated_data["procedure"])
        dossier = services.dossier_submit(
            procedure=procedure,
            applicant_user=request.user,
            applicant=services.ApplicantData(
                name=profile.full_name,
                national_id=profile.national_id,
                address=form.cleaned_data["address"],
                phone=form.cleaned_data["phone"],
                email=form.cleaned_data["email"],
            ),
            request_summary=form.cleaned_data["request_summary"],
            upload=form.cleaned_data["document"],
            document_title=str(_("Application")),
        )
        return Response(DossierOutput(dossier).data, status=status.HTTP_201_CREATED)


class DossierDetailApi(APIView):
    @extend_schema(responses=DossierOutput)
    def get(self, request, reference: str):
        dossier = selectors.dossier_get_for_applicant(user=request.user, reference=reference)
        return Response(DossierOutput(dossier).data)


class StaffDossierReceiveApi(APIView):
    """Receive a submitted dossier (reception clerk of the deciding agency)."""

    @extend_schema(request=None, responses=DossierOutput)
    def post(self, request, pk: int):
        if selectors.staff_profile_for(user=request.user) is None:
            raise PermissionDenied
        try:
            dossier = services.dossier_receive(dossier_id=pk, actor=request.user)
        except ApplicationError as exc:
            if exc.status == 404:
                raise NotFound from exc
            raise
        return Response(DossierOutput(dossier).data)
