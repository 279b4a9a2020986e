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
from procedures.models import Dossier, Procedure, ProcedureDocument, ProcedureFee, ProcedureStage


class ProcedureOutput(serializers.ModelSerializer):
    agency = serializers.CharField(source="agency.code", default=None)
    agency_name = serializers.CharField(source="agency.name", default=None)
    version = serializers.IntegerField(source="current_version.number", default=None)

    class Meta:
        model = Procedure
        fields = (
            "id",
            "code",
            "name",
            "name_en",
            "agency",
            "agency_name",
            "sector",
            "sector_code",
            "applicant_type",
            "time_limit_days",
            "time_limit_hours",
            "service_level",
            "version",
            "is_illustrative",
        )


class StageOutput(serializers.ModelSerializer):
    class Meta:
        model = ProcedureStage
        fields = ("order", "name", "role", "budget")


class FeeOutput(serializers.ModelSerializer):
    class Meta:
        model = ProcedureFee
        fields = ("name", "name_en", "kind", "amount_vnd", "timing", "exempt", "valid_from", "valid_to", "note")


class DocumentOutput(serializers.ModelSerializer):
    class Meta:
        model = ProcedureDocument
        fields = (
            "order",
            "name",
            "name_en",
            "copy_type",
            "copies",
            "required",
            "template",
            "accepted_types",
            "max_size_mb",
            "replaced_by",
        )


class ProcedureDetailOutput(ProcedureOutput):
    stages = StageOutput(many=True)
    fees = FeeOutput(many=True)
    documents = DocumentOutput(many=True)
    apply_online = serializers.BooleanField(source="can_apply_online")

    class Meta(ProcedureOutput.Meta):
        fields = (
            *ProcedureOutput.Meta.fields,
            "sector_en",
            "level",
            "representative_allowed",
            "return_online",
            "return_postal",
            "return_counter",
            "time_limit_note",
            "fees_known",
            "legal_basis",
            "source",
            "description",
            "result_kind",
            "result_name",
            "form_schema",
            "illustrative_parts",
            "stages",
            "fees",
            "documents",
            "apply_online",
        )


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
    """Search the published catalogue. The body is a list; paging is in the headers.

    `X-Total-Count` gives the number of matches and `Link` the next and previous pages
    (RFC 8288), so a client that ignores them still reads the first page as before.
    """

    permission_classes = [permissions.AllowAny]
    MAX_PAGE_SIZE = 100

    class FilterSerializer(serializers.Serializer):
        q = serializers.CharField(required=False, allow_blank=True, max_length=200)
        sector = serializers.CharField(required=False, allow_blank=True, max_length=200)
        agency = serializers.CharField(required=False, allow_blank=True, max_length=35)
        service_level = serializers.ChoiceField(
            choices=Procedure.ServiceLevel.choices, required=False, allow_blank=True
        )
        applicant_type = serializers.ChoiceField(
            choices=Procedure.ApplicantType.choices, required=False, allow_blank=True
        )
        page = serializers.IntegerField(required=False, min_value=1, default=1)
        page_size = serializers.IntegerField(required=False, min_value=1, max_value=100, default=50)

    @extend_schema(parameters=[FilterSerializer], responses=ProcedureOutput(many=True))
    def get(self, request):
        filters = self.FilterSerializer(data=request.query_params)
        filters.is_valid(raise_exception=True)
        data = dict(filters.validated_data)
        page, size = data.pop("page"), data.pop("page_size")
        qs = selectors.procedure_search(**data).select_related("current_version")
        total = qs.count()
        start = (page - 1) * size
        response = Response(ProcedureOutput(qs[start : start + size], many=True).data)
        response["X-Total-Count"] = str(total)
        links = []
        params = request.query_params.copy()
        params["page_size"] = str(size)
        if start + size < total:
            params["page"] = str(page + 1)
            links.append(f'<{request.build_absolute_uri(request.path)}?{params.urlencode()}>; rel="next"')
        if page > 1:
            params["page"] = str(page - 1)
            links.append(f'<{request.build_absolute_uri(request.path)}?{params.urlencode()}>; rel="prev"')
        if links:
            response["Link"] = ", ".join(links)
        return response


class ProcedureDetailApi(APIView):
    """One published procedure with its stages, fees, checklist and form schema."""

    permission_classes = [permissions.AllowAny]

    @extend_schema(responses=ProcedureDetailOutput)
    def get(self, request, code: str):
        procedure = (
            selectors.procedure_list_published()
            .select_related("current_version")
            .prefetch_related("stages", "fees", "documents")
            .filter(code=code)
            .first()
        )
        if procedure is None:
            raise NotFound
        return Response(ProcedureDetailOutput(procedure, context={"request": request}).data)


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
