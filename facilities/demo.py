"""Demo data: one illustrative facility with its own signing key and a facility user.

`facilities.demo.load_facility_demo()` is called by procedures/demo.py (or `manage.py facilities_demo`).
The facility, its code and its people are illustrative, not a real hospital.
"""

from __future__ import annotations

from pathlib import Path

from django.contrib.auth import get_user_model
from django.db import transaction

from facilities.models import Facility, FacilityMembership
from facilities.signing import facility_demo_key_create

DEMO_PASSWORD = "demo-password-2026"  # noqa: S105  # nosec B105  # printed by make run; refused outside DEBUG
DEMO_FACILITY_CODE = "99001"  # illustrative: not a real facility code
DEMO_USERS = [
    ("facility", "Nguyễn Thị", "Thu", FacilityMembership.Role.HEAD, "Trưởng khoa Sản (minh họa)"),
]


def load_facility_demo() -> Facility:
    """Create (or update) the demo facility, its demo signing key and the `facility` user; idempotent."""
    with transaction.atomic():
        from procedures.models import Agency

        agency = Agency.objects.filter(code="G18.001.02").first()
        facility, _created = Facility.objects.update_or_create(
            code=DEMO_FACILITY_CODE,
            defaults={
                "name": "Bệnh viện Phụ sản Minh họa",
                "kind": Facility.Kind.HOSPITAL,
                "agency": agency,
                "province_code": "01",
                "address": "Số 1 Phố Minh họa, Phường Ba Đình, Hà Nội",
                "is_illustrative": True,
                "is_active": True,
            },
        )
        users = get_user_model()
        for username, last, first, role, title in DEMO_USERS:
            user, created = users.objects.get_or_create(
                username=username, defaults={"first_name": first, "last_name": last}
            )
            if created:
                user.set_password(DEMO_PASSWORD)
                user.save()
            FacilityMembership.objects.update_or_create(
                user=user, facility=facility, defaults={"role": role, "title": title, "is_active": True}
            )
    if not facility.signing_key_path or not Path(facility.signing_key_path).exists():
        facility_demo_key_create(facility=facility)
    return facility
