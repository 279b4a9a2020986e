"""Demo data for `make run` and the browser tests: one agency, one procedure, staff accounts.

Everything here is illustrative unless a source is named; the procedure and its 150-day limit are
MoH internal process QT.YDCT.11 as listed in domain.md §6.1 (MoH Decision 3621/QĐ-BYT).
"""

from __future__ import annotations

from pathlib import Path

from django.contrib.auth import get_user_model
from django.db import transaction
from django.utils import timezone

from procedures.calendar import calendar_seed_year
from procedures.catalogue import procedure_version_freeze
from procedures.catalogue_io import catalogue_import
from procedures.models import Agency, Procedure, StaffProfile

DEMO_PASSWORD = "demo-password-2026"  # noqa: S105  (printed by make run; refused outside DEBUG)
# Hypothetical identifier from Circular 04/2025's worked example (domain.md §2.1), not a real agency code.
DEMO_AGENCY_CODE = "G18.001.02"

SHIPPED_CATALOGUE = Path(__file__).resolve().parent / "data" / "moh-catalogue.json"

DEMO_STAFF = [
    ("clerk", "Trần Thị", "Lan", StaffProfile.Role.RECEPTION_CLERK, "Chuyên viên Bộ phận Một cửa"),
    ("officer", "Lê Văn", "Minh", StaffProfile.Role.PROCESSING_OFFICER, "Chuyên viên thụ lý"),
    ("leader", "Phạm Quốc", "Hùng", StaffProfile.Role.LEADER, "Phó Cục trưởng"),
    ("admin", "Đỗ Thu", "Hà", StaffProfile.Role.ADMINISTRATOR, "Quản trị hệ thống"),
]


@transaction.atomic
def demo_data_load() -> dict[str, int]:
    """Create the demo catalogue and accounts; running it again changes nothing."""
    agency, _ = Agency.objects.update_or_create(
        code=DEMO_AGENCY_CODE,
        defaults={
            "name": "Cục Quản lý Y, Dược cổ truyền",
            "name_en": "Traditional Medicine Administration",
            "is_illustrative": True,
        },
    )
    demo_procedure, _ = Procedure.objects.update_or_create(
        code="QT.YDCT.11",
        defaults={
            "name": "Xét tặng giải thưởng Hải Thượng Lãn Ông",
            "name_en": "Consideration for the Hải Thượng Lãn Ông award",
            "agency": agency,
            "sector": "Y, Dược cổ truyền",
            # Illustrative: the national sector code of this procedure was not found (domain.md §2.3).
            "sector_code": "G18-YDCT",
            "service_level": Procedure.ServiceLevel.FULL,
            "time_limit_days": 150,
            "legal_basis": "Quyết định 3621/QĐ-BYT ngày 24/11/2025 (quy trình nội bộ QT.YDCT.11).",
            "description": "Nộp tại Bộ phận tiếp nhận và trả kết quả của Bộ Y tế, qua bưu chính hoặc trực tuyến. "
            "Không thu phí.",
            "is_published": True,
            "fees_known": True,
            "source": "Quyết định 3621/QĐ-BYT ngày 24/11/2025 của Bộ Y tế (domain.md §6.1).",
        },
    )
    user_model = get_user_model()
    created_users = 0
    for username, last, first, role, title in DEMO_STAFF:
        user, created = user_model.objects.get_or_create(
            username=username, defaults={"first_name": first, "last_name": last, "is_staff": True}
        )
        if created:
            user.set_password(DEMO_PASSWORD)
            user.is_superuser = role == StaffProfile.Role.ADMINISTRATOR
            user.save()
            created_users += 1
        StaffProfile.objects.update_or_create(user=user, defaults={"agency": agency, "role": role, "title": title})
    year = timezone.localdate().year
    holidays = sum(calendar_seed_year(year=y) for y in (year - 1, year, year + 1))
    # The shipped MoH catalogue (procedures/data/moh-catalogue.json): real codes and names,
    # unknown values left empty, illustrative checklists, stages and forms labelled as such.
    report = catalogue_import(content=SHIPPED_CATALOGUE.read_bytes(), filename=SHIPPED_CATALOGUE.name)
    if not report.ok:
        raise RuntimeError("; ".join(str(e) for e in report.errors))
    procedure_version_freeze(procedure=demo_procedure)
    from places.services import admin_units_load

    units = admin_units_load()
    return {
        "users_created": created_users,
        "holidays_added": holidays,
        "catalogue_created": report.created,
        "catalogue_updated": report.updated,
        "administrative_units": units["units"],
    }
