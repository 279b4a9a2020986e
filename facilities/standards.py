"""The field sets of the documents, versioned, and their validation.

Birth certificate: the field model is the health-insurance XML9 "dữ liệu giấy chứng sinh" (domain.md
§8, [V] in several HIS tools), the closest public field list to the MoH data standard. Which decision
governs the electronic birth certificate (2919/QĐ-BYT or 1898/QĐ-BYT) is unresolved there, so the
field set is versioned and every document keeps its `standard_version`:

* ``BYT-XML9-2024``: the three-tier address of the XML9 feed (province, district, commune; legacy);
* ``BYT-GCS-2025``: the same fields with the two-tier address (province, commune) since 1 Jul 2025,
  form 01 / 02 (surrogacy) of Circular 22/2025/TT-BYT.

Death notice: ``TT25-2025-M05``, Mẫu 05 of Circular 25/2025/TT-BYT as reported in domain.md §8 [R].

Wire names: XML9's for the birth certificate; the death notice and the surrogacy fields have no
public wire names, so theirs are the project's (documented in docs/interlinking-protocol.md).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

from django.core.exceptions import ValidationError
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

TEXT, DATE, DATETIME, PARTIAL_DATE, INT, BOOL, CHOICE = (
    "text",
    "date",
    "datetime",
    "partial_date",
    "int",
    "bool",
    "choice",
)
PERSONAL_ID, PROVINCE, DISTRICT, COMMUNE = "personal_id", "province", "district", "commune"

SEX_CHOICES = (("1", gettext_lazy("Male")), ("2", gettext_lazy("Female")), ("3", gettext_lazy("Undetermined")))
NATIONALITY_VN = "VN"


@dataclass(frozen=True)
class FieldSpec:
    name: str
    wire: str
    label: Any
    type: str = TEXT
    required: bool = False
    per_child: bool = False
    max_length: int = 255
    choices: tuple[tuple[str, Any], ...] = ()
    minimum: int | None = None
    maximum: int | None = None
    help: Any = ""


@dataclass(frozen=True)
class Standard:
    version: str
    kind: str  # birth_certificate | death_notice
    title: Any
    fields: tuple[FieldSpec, ...]
    two_tier: bool = True
    note: str = ""
    by_name: dict[str, FieldSpec] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "by_name", {f.name: f for f in self.fields})

    @property
    def shared_fields(self) -> tuple[FieldSpec, ...]:
        return tuple(f for f in self.fields if not f.per_child)

    @property
    def child_fields(self) -> tuple[FieldSpec, ...]:
        return tuple(f for f in self.fields if f.per_child)


def _address(prefix: str, wire_prefix: str, *, two_tier: bool, required: bool = True) -> tuple[FieldSpec, ...]:
    fields = [
        FieldSpec(
            f"{prefix}_address",
            f"NOI_CU_TRU_{wire_prefix}",
            gettext_lazy("Residence (house, street)"),
            required=required,
            max_length=500,
        ),
        FieldSpec(
            f"{prefix}_province_code",
            f"MATINH_CU_TRU{'_' + wire_prefix if wire_prefix != 'NND' else ''}",
            gettext_lazy("Province code"),
            PROVINCE,
            required=required,
        ),
    ]
    if not two_tier:
        fields.append(
            FieldSpec(
                f"{prefix}_district_code",
                f"MAHUYEN_CU_TRU{'_' + wire_prefix if wire_prefix != 'NND' else ''}",
                gettext_lazy("District code (before 1 Jul 2025)"),
                DISTRICT,
                required=required,
            )
        )
    fields.append(
        FieldSpec(
            f"{prefix}_commune_code",
            f"MAXA_CU_TRU{'_' + wire_prefix if wire_prefix != 'NND' else ''}",
            gettext_lazy("Commune code"),
            COMMUNE,
            required=required,
        )
    )
    return tuple(fields)


def _birth_fields(*, two_tier: bool) -> tuple[FieldSpec, ...]:
    return (
        FieldSpec(
            "mother_name", "HO_TEN_NND", gettext_lazy("Mother's or carer's full name"), required=True, max_length=200
        ),
        FieldSpec("mother_birth_date", "NGAYSINH_NND", gettext_lazy("Mother's date of birth"), DATE, required=True),
        FieldSpec("mother_ethnicity_code", "MA_DANTOC_NND", gettext_lazy("Mother's ethnicity code"), max_length=10),
        FieldSpec(
            "mother_nationality",
            "MA_QUOCTICH",
            gettext_lazy("Mother's nationality (ISO code)"),
            max_length=3,
            help=gettext_lazy("VN for Vietnamese citizens"),
        ),
        FieldSpec(
            "mother_personal_id",
            "SO_CCCD_NND",
            gettext_lazy("Mother's personal identification number"),
            PERSONAL_ID,
            help=gettext_lazy("Required for Vietnamese citizens"),
        ),
        FieldSpec(
            "mother_id_document",
            "GIAY_TO_NND",
            gettext_lazy("Mother's identity document (passport) if not Vietnamese"),
            max_length=60,
        ),
        FieldSpec("mother_id_issue_date", "NGAYCAP_CCCD_NND", gettext_lazy("ID card issue date"), DATE),
        FieldSpec("mother_id_issue_place", "NOICAP_CCCD_NND", gettext_lazy("ID card issued by"), max_length=200),
        FieldSpec(
            "mother_insurance_number", "MA_BHXH_NND", gettext_lazy("Mother's social insurance number"), max_length=15
        ),
        FieldSpec("mother_insurance_card", "MA_THE_NND", gettext_lazy("Mother's health-insurance card"), max_length=20),
        *_address("mother", "NND", two_tier=two_tier),
        FieldSpec("father_name", "HO_TEN_CHA", gettext_lazy("Father's full name"), max_length=200),
        FieldSpec(
            "intended_mother_name",
            "HO_TEN_ME_NHO",
            gettext_lazy("Intended mother's full name (surrogacy)"),
            max_length=200,
        ),
        FieldSpec(
            "intended_mother_personal_id",
            "SO_CCCD_ME_NHO",
            gettext_lazy("Intended mother's personal identification number (surrogacy)"),
            PERSONAL_ID,
        ),
        FieldSpec(
            "intended_father_name",
            "HO_TEN_CHA_NHO",
            gettext_lazy("Intended father's full name (surrogacy)"),
            max_length=200,
        ),
        FieldSpec(
            "surrogacy_confirmation",
            "XAC_NHAN_MANG_THAI_HO",
            gettext_lazy("Surrogacy confirmation (reference)"),
            max_length=200,
        ),
        FieldSpec(
            "children_count",
            "SO_CON",
            gettext_lazy("Number of children born in this delivery"),
            INT,
            required=True,
            minimum=1,
            maximum=8,
        ),
        FieldSpec(
            "delivery_number",
            "LAN_SINH",
            gettext_lazy("Which delivery of the mother this is"),
            INT,
            required=True,
            minimum=1,
            maximum=30,
        ),
        FieldSpec(
            "living_children",
            "SO_CON_SONG",
            gettext_lazy("Number of living children of the mother"),
            INT,
            required=True,
            minimum=0,
            maximum=40,
        ),
        FieldSpec("birth_place", "NOI_SINH_CON", gettext_lazy("Place of birth"), required=True, max_length=500),
        FieldSpec("caesarean", "SINHCON_PHAUTHUAT", gettext_lazy("Caesarean delivery"), BOOL),
        FieldSpec("under_32_weeks", "SINHCON_DUOI32TUAN", gettext_lazy("Born before 32 weeks"), BOOL),
        FieldSpec("birth_attendant", "NGUOI_DO_DE", gettext_lazy("Birth attendant"), required=True, max_length=200),
        FieldSpec("recorder", "NGUOI_GHI_PHIEU", gettext_lazy("Recorded by"), required=True, max_length=200),
        FieldSpec("head_name", "MA_TTDV", gettext_lazy("Head of the facility (signs)"), required=True, max_length=200),
        FieldSpec("note", "GHI_CHU", gettext_lazy("Note"), max_length=1000),
        # One value per child: twins or more get one certificate each.
        FieldSpec("child_name", "HO_TEN_CON", gettext_lazy("Child's name (if given)"), per_child=True, max_length=200),
        FieldSpec(
            "child_sex",
            "GIOI_TINH_CON",
            gettext_lazy("Child's sex"),
            CHOICE,
            required=True,
            per_child=True,
            choices=SEX_CHOICES,
        ),
        FieldSpec(
            "child_weight_g",
            "CAN_NANG_CON",
            gettext_lazy("Weight (grams)"),
            INT,
            required=True,
            per_child=True,
            minimum=200,
            maximum=8000,
        ),
        FieldSpec(
            "birth_at", "NGAY_SINH_CON", gettext_lazy("Date and time of birth"), DATETIME, required=True, per_child=True
        ),
        FieldSpec(
            "child_condition",
            "TINH_TRANG_CON",
            gettext_lazy("Child's condition"),
            required=True,
            per_child=True,
            max_length=300,
        ),
        FieldSpec(
            "temp_insurance_card",
            "MA_THE_TAM",
            gettext_lazy("Temporary health-insurance card"),
            per_child=True,
            max_length=20,
        ),
    )


def _death_fields() -> tuple[FieldSpec, ...]:
    return (
        FieldSpec("deceased_name", "HO_TEN", gettext_lazy("Full name of the deceased"), required=True, max_length=200),
        FieldSpec(
            "deceased_birth_date", "NGAY_SINH", gettext_lazy("Date (or year) of birth"), PARTIAL_DATE, required=True
        ),
        FieldSpec("deceased_sex", "GIOI_TINH", gettext_lazy("Sex"), CHOICE, required=True, choices=SEX_CHOICES),
        FieldSpec("deceased_ethnicity", "DAN_TOC", gettext_lazy("Ethnicity"), max_length=60),
        FieldSpec("deceased_nationality", "QUOC_TICH", gettext_lazy("Nationality"), max_length=60),
        *_address("deceased", "NGUOI_MAT", two_tier=True),
        FieldSpec(
            "deceased_personal_id", "SO_DINH_DANH", gettext_lazy("Personal identification number (if any)"), PERSONAL_ID
        ),
        FieldSpec("deceased_id_document", "GIAY_TO_TUY_THAN", gettext_lazy("Identity document"), max_length=100),
        FieldSpec("admitted_at", "THOI_GIAN_VAO_VIEN", gettext_lazy("Hour, minute and date of admission"), DATETIME),
        FieldSpec(
            "died_at", "THOI_GIAN_TU_VONG", gettext_lazy("Hour, minute and date of death (blank if unknown)"), DATETIME
        ),
        FieldSpec(
            "cause_of_death", "NGUYEN_NHAN_TU_VONG", gettext_lazy("Cause of death (blank: unknown)"), max_length=500
        ),
        FieldSpec(
            "died_in_transit", "TU_VONG_TREN_DUONG_CAP_CUU", gettext_lazy("Died on the way to emergency care"), BOOL
        ),
        FieldSpec("next_of_kin_name", "THAN_NHAN", gettext_lazy("Next of kin"), required=True, max_length=200),
        FieldSpec(
            "next_of_kin_personal_id",
            "SO_DINH_DANH_THAN_NHAN",
            gettext_lazy("Next of kin's personal identification number"),
            PERSONAL_ID,
        ),
        FieldSpec("writer_name", "NGUOI_VIET", gettext_lazy("Written by"), required=True, max_length=200),
        FieldSpec(
            "writer_title", "CHUC_DANH_NGUOI_VIET", gettext_lazy("Writer's title"), required=True, max_length=200
        ),
        FieldSpec(
            "head_name",
            "THU_TRUONG",
            gettext_lazy("Head of the facility or authorised person (signs)"),
            required=True,
            max_length=200,
        ),
    )


STANDARDS: dict[str, Standard] = {
    s.version: s
    for s in (
        Standard(
            "BYT-XML9-2024",
            "birth_certificate",
            gettext_lazy("Birth certificate (XML9 field set, three-tier address)"),
            _birth_fields(two_tier=False),
            two_tier=False,
        ),
        Standard(
            "BYT-GCS-2025",
            "birth_certificate",
            gettext_lazy("Birth certificate (two-tier address, Circular 22/2025/TT-BYT)"),
            _birth_fields(two_tier=True),
        ),
        Standard(
            "TT25-2025-M05",
            "death_notice",
            gettext_lazy("Death notice (Form 05, Circular 25/2025/TT-BYT)"),
            _death_fields(),
        ),
    )
}

UNKNOWN_CAUSE = "Không rõ"


def standard_get(version: str, *, kind: str) -> Standard:
    standard = STANDARDS.get(version)
    if standard is None or standard.kind != kind:
        raise ValidationError({"standard_version": [_("Unknown data standard version %(v)s.") % {"v": version}]})
    return standard


# --- value parsing --------------------------------------------------------------------------------


class _FieldError(Exception):
    pass


def _parse(spec: FieldSpec, raw: Any, *, today: dt.date) -> Any:
    if spec.type == BOOL:
        if isinstance(raw, bool):
            return raw
        return str(raw).strip().lower() in ("1", "true", "on", "yes")
    if raw is None or (isinstance(raw, str) and not raw.strip()):
        return None
    if spec.type in (TEXT, PROVINCE, DISTRICT, COMMUNE, CHOICE, PERSONAL_ID):
        value = str(raw).strip()
        if len(value) > spec.max_length:
            raise _FieldError(_("At most %(n)s characters.") % {"n": spec.max_length})
        if spec.type == CHOICE and value not in {c for c, _label in spec.choices}:
            raise _FieldError(_("Choose one of the listed values."))
        if spec.type == PERSONAL_ID:
            value = value.replace(" ", "").replace(".", "")
        return value
    if spec.type == INT:
        try:
            value = int(str(raw).strip())
        except ValueError:
            raise _FieldError(_("Enter a whole number.")) from None
        if (spec.minimum is not None and value < spec.minimum) or (spec.maximum is not None and value > spec.maximum):
            raise _FieldError(_("Enter a number from %(a)s to %(b)s.") % {"a": spec.minimum, "b": spec.maximum})
        return value
    if spec.type == DATE:
        try:
            value = dt.date.fromisoformat(str(raw).strip())
        except ValueError:
            raise _FieldError(_("Enter a date as YYYY-MM-DD.")) from None
        if value > today:
            raise _FieldError(_("The date is in the future."))
        return value.isoformat()
    if spec.type == PARTIAL_DATE:
        text = str(raw).strip()
        if len(text) == 4 and text.isdigit():
            if int(text) > today.year or int(text) < 1850:
                raise _FieldError(_("Enter a plausible year."))
            return text
        try:
            value = dt.date.fromisoformat(text)
        except ValueError:
            raise _FieldError(_("Enter a date as YYYY-MM-DD or a year as YYYY.")) from None
        if value > today:
            raise _FieldError(_("The date is in the future."))
        return value.isoformat()
    if spec.type == DATETIME:
        text = str(raw).strip()
        try:
            value = dt.datetime.fromisoformat(text)
        except ValueError:
            raise _FieldError(_("Enter a date and time as YYYY-MM-DDTHH:MM.")) from None
        if timezone.is_naive(value):
            value = timezone.make_aware(value)
        if value > timezone.now() + dt.timedelta(minutes=5):
            raise _FieldError(_("The time is in the future."))
        return timezone.localtime(value).isoformat(timespec="minutes")
    raise AssertionError(f"unknown field type {spec.type}")


def _unit_errors(cleaned: dict[str, Any], *, prefix: str, two_tier: bool, errors: dict[str, list[str]]) -> None:
    from places.models import AdministrativeUnit

    province = cleaned.get(f"{prefix}_province_code")
    commune = cleaned.get(f"{prefix}_commune_code")
    if province is None or commune is None:
        return
    generation = AdministrativeUnit.Generation.REFORM_2025 if two_tier else AdministrativeUnit.Generation.LEGACY
    units = {
        (u.level, u.code): u
        for u in AdministrativeUnit.objects.filter(
            generation=generation,
            code__in=[province, commune] + ([cleaned.get(f"{prefix}_district_code")] if not two_tier else []),
        )
    }
    if ("province", province) not in units:
        errors.setdefault(f"{prefix}_province_code", []).append(
            _("Unknown province code %(code)s.") % {"code": province}
        )
        return
    parent = province
    if not two_tier:
        district = cleaned.get(f"{prefix}_district_code")
        unit = units.get(("district", district))
        if unit is None or unit.parent_code != province:
            errors.setdefault(f"{prefix}_district_code", []).append(
                _("District %(code)s is not a district of province %(province)s.")
                % {"code": district, "province": province}
            )
            return
        parent = district
    unit = units.get(("commune", commune))
    if unit is None or unit.parent_code != parent:
        errors.setdefault(f"{prefix}_commune_code", []).append(
            _("Commune %(code)s is not a commune of %(parent)s.") % {"code": commune, "parent": parent}
        )


def _personal_id_error(value: str, birth_date: str | None) -> str | None:
    from citizens.validators import validate_personal_id

    try:
        validate_personal_id(
            value, birth_date=dt.date.fromisoformat(birth_date) if birth_date and len(birth_date) == 10 else None
        )
    except ValidationError as exc:
        return " ".join(exc.messages)
    return None


def _clean_group(
    specs: tuple[FieldSpec, ...], raw: dict[str, Any], *, today: dt.date, errors: dict[str, list[str]], prefix: str = ""
) -> dict[str, Any]:
    cleaned: dict[str, Any] = {}
    for spec in specs:
        try:
            value = _parse(spec, raw.get(spec.name), today=today)
        except _FieldError as exc:
            errors.setdefault(prefix + spec.name, []).append(str(exc))
            continue
        if value is None and spec.required:
            errors.setdefault(prefix + spec.name, []).append(_("This field is required."))
            continue
        cleaned[spec.name] = value
    return cleaned


def document_data_validate(
    *, standard: Standard, data: dict[str, Any], children: list[dict[str, Any]] | None = None, form: str = ""
) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """Validate DATA (and, for a birth, CHILDREN) against STANDARD; return the cleaned shared data
    and one cleaned dict per child. Raise ValidationError({field: [messages]}) naming every problem."""
    today = timezone.localdate()
    errors: dict[str, list[str]] = {}
    unknown = sorted(set(data) - {s.name for s in standard.shared_fields})
    if unknown:
        errors["data"] = [_("Unknown fields: %(names)s.") % {"names": ", ".join(unknown)}]
    cleaned = _clean_group(standard.shared_fields, data, today=today, errors=errors)
    kids: list[dict[str, Any]] = []
    if standard.kind == "birth_certificate":
        children = children or []
        if not children:
            errors.setdefault("children", []).append(_("Give at least one child."))
        for i, child in enumerate(children, start=1):
            extra = sorted(set(child) - {s.name for s in standard.child_fields})
            if extra:
                errors.setdefault(f"child{i}-", []).append(
                    _("Unknown fields: %(names)s.") % {"names": ", ".join(extra)}
                )
            kids.append(_clean_group(standard.child_fields, child, today=today, errors=errors, prefix=f"child{i}-"))
        _birth_rules(cleaned, kids, form=form, errors=errors)
        _unit_errors(cleaned, prefix="mother", two_tier=standard.two_tier, errors=errors)
    else:
        _death_rules(cleaned, errors=errors)
        _unit_errors(cleaned, prefix="deceased", two_tier=True, errors=errors)
    if errors:
        raise ValidationError(errors)
    return cleaned, kids


def _birth_rules(
    cleaned: dict[str, Any], kids: list[dict[str, Any]], *, form: str, errors: dict[str, list[str]]
) -> None:
    nationality = (cleaned.get("mother_nationality") or NATIONALITY_VN).upper()
    cleaned["mother_nationality"] = nationality
    if nationality == NATIONALITY_VN:
        if not cleaned.get("mother_personal_id"):
            errors.setdefault("mother_personal_id", []).append(
                _("The personal identification number of a Vietnamese mother is required.")
            )
    elif not cleaned.get("mother_personal_id") and not cleaned.get("mother_id_document"):
        errors.setdefault("mother_id_document", []).append(_("Give the mother's identity document."))
    for name, birth in (("mother_personal_id", "mother_birth_date"), ("intended_mother_personal_id", None)):
        if cleaned.get(name):
            problem = _personal_id_error(cleaned[name], cleaned.get(birth) if birth else None)
            if problem:
                errors.setdefault(name, []).append(problem)
    surrogacy = ("intended_mother_name", "intended_mother_personal_id", "surrogacy_confirmation")
    if form == "02":
        for name in surrogacy:
            if not cleaned.get(name):
                errors.setdefault(name, []).append(_("Required on the surrogacy form (form 02)."))
    elif any(cleaned.get(name) for name in (*surrogacy, "intended_father_name")):
        errors.setdefault("form", []).append(_("Surrogacy details belong on form 02."))
    count = cleaned.get("children_count")
    if count is not None and kids and count != len(kids):
        errors.setdefault("children_count", []).append(
            _("%(count)s children were declared but %(given)s were described: give one set of details per child.")
            % {"count": count, "given": len(kids)}
        )
    mother_birth = cleaned.get("mother_birth_date")
    for i, kid in enumerate(kids, start=1):
        born = kid.get("birth_at")
        if born and mother_birth and born[:10] <= mother_birth:
            errors.setdefault(f"child{i}-birth_at", []).append(_("The birth is before the mother's date of birth."))
    times = [k.get("birth_at") for k in kids if k.get("birth_at")]
    if len(times) > 1:
        first, last = (dt.datetime.fromisoformat(t) for t in (min(times), max(times)))
        if last - first > dt.timedelta(days=2):
            errors.setdefault("children", []).append(
                _("Children of one delivery are born within two days of each other.")
            )


def _death_rules(cleaned: dict[str, Any], *, errors: dict[str, list[str]]) -> None:
    if not cleaned.get("cause_of_death"):
        cleaned["cause_of_death"] = UNKNOWN_CAUSE
    admitted, died = cleaned.get("admitted_at"), cleaned.get("died_at")
    if admitted and died and dt.datetime.fromisoformat(died) < dt.datetime.fromisoformat(admitted):
        errors.setdefault("died_at", []).append(_("The death is before the admission."))
    born = cleaned.get("deceased_birth_date")
    if born and died and born[: len(born)] > died[: len(born)]:
        errors.setdefault("deceased_birth_date", []).append(_("The date of birth is after the death."))
    for name, birth in (("deceased_personal_id", "deceased_birth_date"), ("next_of_kin_personal_id", None)):
        if cleaned.get(name):
            problem = _personal_id_error(cleaned[name], cleaned.get(birth) if birth else None)
            if problem:
                errors.setdefault(name, []).append(problem)


def to_wire(standard: Standard, data: dict[str, Any]) -> dict[str, Any]:
    """Return DATA under the wire names of STANDARD (dates as ISO 8601)."""
    return {spec.wire: data.get(spec.name) for spec in standard.fields if spec.name in data}
