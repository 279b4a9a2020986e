"""A generator of realistic, clearly illustrative catalogues of any size, for load tests.

Codes are `LT.nnnnnn` (never a national code), every procedure and agency is flagged
illustrative, and the names are built from the vocabulary of real MoH procedure names.
"""

from __future__ import annotations

import random

from django.db import transaction

from procedures.models import Agency, Procedure, ProcedureDocument, ProcedureFee, ProcedureStage
from procedures.text import search_normalise

ACTIONS = [
    "Cấp mới",
    "Cấp lại",
    "Điều chỉnh",
    "Gia hạn",
    "Công bố",
    "Đăng ký",
    "Xác nhận",
    "Thẩm định",
    "Đánh giá",
    "Chỉ định",
]
OBJECTS = [
    "giấy phép hoạt động",
    "giấy chứng nhận đủ điều kiện kinh doanh",
    "số lưu hành",
    "chứng chỉ hành nghề",
    "giấy xác nhận nội dung quảng cáo",
    "giấy chứng nhận lưu hành tự do (CFS)",
    "giấy phép nhập khẩu",
    "bản công bố hợp quy",
]
SUBJECTS = [
    "thiết bị y tế loại B",
    "thiết bị y tế loại C, D",
    "cơ sở khám bệnh, chữa bệnh",
    "mỹ phẩm",
    "thuốc cổ truyền",
    "dược liệu",
    "chế phẩm diệt côn trùng",
    "thực phẩm bảo vệ sức khỏe",
    "cơ sở xét nghiệm",
    "phòng khám đa khoa",
]
SECTORS = ["Thiết bị y tế", "Dược", "Y dược cổ truyền", "Khám bệnh, chữa bệnh", "An toàn thực phẩm", "Mỹ phẩm"]
ROLES = [r for r, _ in ProcedureStage.Role.choices]


def catalogue_generate(*, count: int, seed: int = 2026, start: int = 1) -> int:
    """Create COUNT published illustrative procedures (LT.<start>… ) with stages, fees and checklists."""
    rng = random.Random(seed)  # noqa: S311  # nosec B311  # reproducible load-test data, not security
    with transaction.atomic():
        agencies = [
            Agency.objects.get_or_create(
                code=f"LT.{n:03d}",
                defaults={"name": f"Đơn vị thử tải {n} (minh họa)", "is_illustrative": True},
            )[0]
            for n in range(1, 9)
        ]
        batch = []
        for n in range(start, start + count):
            agency = rng.choice(agencies)
            name = f"{rng.choice(ACTIONS)} {rng.choice(OBJECTS)} đối với {rng.choice(SUBJECTS)}"
            sector = rng.choice(SECTORS)
            code = f"LT.{n:06d}"
            batch.append(
                Procedure(
                    code=code,
                    name=name,
                    agency=agency,
                    sector=sector,
                    level=rng.choice(["central", "provincial"]),
                    applicant_type=rng.choice(["citizen", "organisation", "both"]),
                    service_level=rng.choice(["full", "partial"]),
                    time_limit_days=rng.choice([3, 5, 10, 15, 20, 30, 45, 60]),
                    return_online=True,
                    return_counter=rng.random() < 0.5,
                    fees_known=True,
                    source="Illustrative data generated for load tests.",
                    is_published=True,
                    is_illustrative=True,
                    search_text=search_normalise(f"{code} {name} {sector} {agency.name}"),
                )
            )
        created = Procedure.objects.bulk_create(batch, batch_size=500)
        stages, fees, documents = [], [], []
        for procedure in created:
            share = procedure.time_limit_days / 4
            for order, role in enumerate(ROLES[:4], start=1):
                stages.append(
                    ProcedureStage(procedure=procedure, order=order, name=f"Bước {order}", role=role, budget=share)
                )
            fees.append(
                ProcedureFee(
                    procedure=procedure,
                    name="Phí thẩm định (minh họa)",
                    amount_vnd=rng.choice([0, 300000, 500000, 1500000, 3000000]),
                    timing=rng.choice(["1", "4", "online_before"]),
                )
            )
            for order in (1, 2):
                documents.append(
                    ProcedureDocument(procedure=procedure, order=order, name=f"Thành phần hồ sơ {order} (minh họa)")
                )
        ProcedureStage.objects.bulk_create(stages, batch_size=1000)
        ProcedureFee.objects.bulk_create(fees, batch_size=1000)
        ProcedureDocument.objects.bulk_create(documents, batch_size=1000)
    return len(created)
