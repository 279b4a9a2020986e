"""Demo data for `make run` and the browser tests: one agency, one procedure, staff accounts.

Everything here is illustrative unless a source is named; the procedure and its 150-day limit are
MoH internal process QT.YDCT.11 as listed in domain.md §6.1 (MoH Decision 3621/QĐ-BYT).
"""

from __future__ import annotations

import base64
from pathlib import Path

from django.conf import settings
from django.contrib.auth import get_user_model
from django.db import transaction
from django.utils import timezone

from procedures.calendar import calendar_seed_year
from procedures.catalogue import procedure_version_freeze
from procedures.catalogue_io import catalogue_import
from procedures.models import Agency, CalendarYear, Department, Procedure, ProcedureStage, StaffProfile

DEMO_PASSWORD = "demo-password-2026"  # noqa: S105  # nosec B105  # printed by make run; refused outside DEBUG
# Hypothetical identifier from Circular 04/2025's worked example (domain.md §2.1), not a real agency code.
DEMO_AGENCY_CODE = "G18.001.02"

SHIPPED_CATALOGUE = Path(__file__).resolve().parent / "data" / "moh-catalogue.json"


def demo_totp_seed(username: str) -> str:
    """The fixed TOTP secret (base32) of a demo account: public, printed by `make run`, DEBUG only."""
    return base64.b32encode(f"motcua-demo-{username}".encode()[:20].ljust(20, b"0")).decode()


def demo_totp_enrol(usernames) -> int:
    """Enrol the demo accounts' authenticators with their fixed seeds (security.md T06); never outside DEBUG.

    Accounts that already have an authenticator keep it (someone may have reset and re-enrolled one).
    """
    if not settings.DEBUG:
        return 0
    from allauth.mfa.models import Authenticator

    from portal.two_factor import totp_enrol

    enrolled = 0
    for user in get_user_model().objects.filter(username__in=list(usernames)):
        if not Authenticator.objects.filter(user=user, type=Authenticator.Type.TOTP).exists():
            totp_enrol(user=user, secret=demo_totp_seed(user.username))
            enrolled += 1
    return enrolled


DEMO_STAFF = [
    ("clerk", "Trần Thị", "Lan", StaffProfile.Role.RECEPTION_CLERK, "Chuyên viên Bộ phận Một cửa"),
    ("officer", "Lê Văn", "Minh", StaffProfile.Role.PROCESSING_OFFICER, "Chuyên viên thụ lý"),
    ("leader", "Phạm Quốc", "Hùng", StaffProfile.Role.LEADER, "Trưởng phòng"),
    ("signer", "Nguyễn Đức", "Tuấn", StaffProfile.Role.SIGNING_AUTHORITY, "Phó Cục trưởng"),
    ("records", "Hoàng Thị", "Thu", StaffProfile.Role.RECORDS_CLERK, "Văn thư"),
    ("admin", "Đỗ Thu", "Hà", StaffProfile.Role.ADMINISTRATOR, "Quản trị hệ thống"),
]
# Illustrative department and stage budgets; the 1-day reception and return steps follow the generic
# transitions of MoH Decision 3621/QĐ-BYT (domain.md §1.3); the rest of the 150 days is split for the demo.
DEMO_DEPARTMENT = ("P.YHCT", "Phòng Y học cổ truyền (minh họa)")
DEMO_STAGES = [
    ("Tiếp nhận, kiểm tra hồ sơ", ProcedureStage.Role.RECEPTION, 1),
    ("Thẩm định hồ sơ", ProcedureStage.Role.SPECIALIST, 143),
    ("Lãnh đạo phòng, Lãnh đạo Cục phê duyệt", ProcedureStage.Role.LEADER_APPROVAL, 3),
    ("Ký duyệt kết quả", ProcedureStage.Role.SIGNING, 1),
    ("Văn thư vào số, phát hành", ProcedureStage.Role.RECORDS, 1),
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
    if not demo_procedure.stages.exists():
        for order, (name, role, budget) in enumerate(DEMO_STAGES, start=1):
            demo_procedure.stages.create(order=order, name=name, role=role, budget=budget)
        parts = set(demo_procedure.illustrative_parts or []) | {"stages"}
        Procedure.objects.filter(pk=demo_procedure.pk).update(illustrative_parts=sorted(parts))
    department, _ = Department.objects.update_or_create(
        agency=agency, code=DEMO_DEPARTMENT[0], defaults={"name": DEMO_DEPARTMENT[1]}
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
        StaffProfile.objects.update_or_create(
            user=user,
            defaults={
                "agency": agency,
                "role": role,
                "title": title,
                "department": department if role == StaffProfile.Role.PROCESSING_OFFICER else None,
            },
        )
    year = timezone.localdate().year
    confirmed = set(CalendarYear.objects.filter(confirmed=True).values_list("year", flat=True))
    holidays = sum(calendar_seed_year(year=y) for y in (year - 1, year, year + 1) if y not in confirmed)
    # The shipped MoH catalogue (procedures/data/moh-catalogue.json): real codes and names,
    # unknown values left empty, illustrative checklists, stages and forms labelled as such.
    report = catalogue_import(content=SHIPPED_CATALOGUE.read_bytes(), filename=SHIPPED_CATALOGUE.name)
    if not report.ok:
        raise RuntimeError("; ".join(str(e) for e in report.errors))
    procedure_version_freeze(procedure=demo_procedure)
    from places.services import admin_units_load

    units = admin_units_load()
    from facilities.demo import load_facility_demo

    load_facility_demo()
    from facilities.demo import DEMO_USERS as FACILITY_USERS

    totp = demo_totp_enrol([row[0] for row in DEMO_STAFF] + [row[0] for row in FACILITY_USERS])
    return {
        "users_created": created_users,
        "holidays_added": holidays,
        "catalogue_created": report.created,
        "catalogue_updated": report.updated,
        "administrative_units": units["units"],
        "authenticators_enrolled": totp,
    }
