"""Dev-only: build procedures/data/moh-catalogue.json from the verified CSV (run by hand, output committed).

    .venv/bin/python scripts/build_catalogue_data.py

Input: procedures/data/moh-procedures-verified.csv, a copy of the 54 procedure codes verified in
2025 MoH decisions (domain.md §6.1). Only what a source gives is filled in: the code, the name,
the level, the sector, the source decision and, for four provincial medical-device procedures,
the time limit and fees of Hà Tĩnh Decision 3004/QĐ-UBND. Everything else stays empty (shown
as "unknown"). The document checklist, the processing stages and the application form are
illustrative placeholders, marked so in `illustrative_parts` and on the page.
"""

from __future__ import annotations

import csv
import json
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SOURCE = ROOT / "procedures" / "data" / "moh-procedures-verified.csv"
TARGET = ROOT / "procedures" / "data" / "moh-catalogue.json"

# Sector names: Vietnamese and English renderings of the CSV group (no national sector code is known).
SECTORS = {
    "Medical devices": ("Thiết bị y tế", "Medical devices"),
    "Medical examination and treatment, laboratories, forensics": (
        "Khám bệnh, chữa bệnh, xét nghiệm, giám định pháp y",
        "Medical examination and treatment, laboratories, forensics",
    ),
    "Pharmacy and traditional medicine": ("Dược, Y dược cổ truyền", "Pharmacy and traditional medicine"),
    "Cosmetics, chemicals and biocides, food, tobacco, population": (
        "Mỹ phẩm, hóa chất và chế phẩm, thực phẩm, thuốc lá, dân số",
        "Cosmetics, chemicals and biocides, food, tobacco, population",
    ),
}
SRC_A = "Quyết định 3618/QĐ-BYT (2025) của Bộ Y tế: thủ tục sửa đổi theo Thông tư 44/2025/TT-BYT."
SRC_B = "Quyết định 3574/QĐ-BYT ngày 19/11/2025 của Bộ Y tế."
SRC_C = "Nghị quyết năm 2025 của Chính phủ về thay thế thành phần hồ sơ bằng dữ liệu (phần Bộ Y tế)."
SRC_D = "Thời hạn và phí: Quyết định 3004/QĐ-UBND tỉnh Hà Tĩnh (quy trình nội bộ)."
# Rows from source (b) rather than (c) in domain.md §6.1.
FROM_B = {"1.013871", "1.013876"}
IMMEDIATE = "Ngay khi nhận đủ hồ sơ hợp lệ (immediately on a complete, valid dossier)"
# Facts from time_and_fee_note, transcribed by hand; timing of payment is not given (left unknown).
FACTS = {
    "1.003006": {
        "time_limit_days": 0,
        "time_limit_note": IMMEDIATE + "; trực tuyến tại imda.moh.gov.vn",
        "fees_known": True,
        "fees": [
            {
                "name": "Phí, lệ phí",
                "amount_vnd": 1500000,
                "valid_from": "2025-07-01",
                "valid_to": "2026-12-31",
            }
        ],
    },
    "1.003029": {
        "time_limit_days": 0,
        "time_limit_note": IMMEDIATE,
        "fees_known": True,
        "fees": [
            {"name": "Phí, lệ phí (TBYT loại A)", "amount_vnd": 500000},
            {"name": "Phí, lệ phí (TBYT loại B)", "amount_vnd": 1500000},
        ],
    },
    "1.003039": {
        "time_limit_days": 0,
        "time_limit_note": IMMEDIATE,
        "fees_known": True,
        "fees": [{"name": "Phí, lệ phí", "amount_vnd": 1500000}],
    },
    "3.000449": {"time_limit_days": 0, "time_limit_note": IMMEDIATE, "fees_known": True, "fees": []},
}
FEE_DEFAULTS = {"name_en": "", "kind": 1, "timing": "", "exempt": "", "valid_from": None, "valid_to": None, "note": ""}

ILLUSTRATIVE_DOCUMENTS = [
    {
        "order": 1,
        "name": "Văn bản đề nghị theo mẫu (minh họa)",
        "name_en": "Application letter on the form (illustrative)",
        "copy_type": 0,
        "copies": 1,
        "required": True,
        "accepted_types": "pdf",
        "max_size_mb": 10,
        "replaced_by": "",
    },
    {
        "order": 2,
        "name": "Giấy tờ chứng minh tư cách pháp lý của người nộp (minh họa)",
        "name_en": "Proof of the applicant's legal status (illustrative)",
        "copy_type": 1,
        "copies": 1,
        "required": True,
        "accepted_types": "pdf,jpg,png",
        "max_size_mb": 10,
        "replaced_by": "population_db",
    },
    {
        "order": 3,
        "name": "Tài liệu kỹ thuật kèm theo (minh họa)",
        "name_en": "Supporting technical documents (illustrative)",
        "copy_type": 2,
        "copies": 1,
        "required": False,
        "accepted_types": "pdf,zip",
        "max_size_mb": 20,
        "replaced_by": "",
    },
]
ILLUSTRATIVE_STAGES = [
    {"order": 1, "name": "Tiếp nhận, kiểm tra hồ sơ", "role": "reception", "budget": None},
    {"order": 2, "name": "Thẩm định hồ sơ", "role": "specialist", "budget": None},
    {"order": 3, "name": "Lãnh đạo phê duyệt", "role": "leader_approval", "budget": None},
    {"order": 4, "name": "Ký kết quả", "role": "signing", "budget": None},
    {"order": 5, "name": "Vào sổ, phát hành kết quả", "role": "records", "budget": None},
]
ILLUSTRATIVE_FORM = {
    "version": 1,
    "fields": [
        {
            "name": "applicant_kind",
            "type": "choice",
            "label": {"vi": "Người nộp là", "en": "The applicant is"},
            "required": True,
            "options": [
                {"value": "citizen", "label": {"vi": "Cá nhân", "en": "A person"}},
                {"value": "organisation", "label": {"vi": "Tổ chức", "en": "An organisation"}},
            ],
        },
        {
            "name": "organisation_name",
            "type": "text",
            "label": {"vi": "Tên tổ chức", "en": "Organisation name"},
            "required": True,
            "validation": {"max_length": 300},
            "show_if": {"field": "applicant_kind", "equals": "organisation"},
        },
        {
            "name": "tax_code",
            "type": "text",
            "label": {"vi": "Mã số doanh nghiệp", "en": "Enterprise code"},
            "validation": {"pattern": "^[0-9]{10}([0-9]{3})?$"},
            "help": {"vi": "10 hoặc 13 chữ số", "en": "10 or 13 digits"},
            "show_if": {"field": "applicant_kind", "equals": "organisation"},
        },
        {"name": "address", "type": "address", "label": {"vi": "Địa chỉ", "en": "Address"}, "required": True},
        {
            "name": "contact_id",
            "type": "id_number",
            "label": {"vi": "Số định danh người liên hệ", "en": "Contact person's ID number"},
            "required": True,
        },
        {
            "name": "items",
            "type": "group",
            "label": {"vi": "Danh mục đề nghị", "en": "Items applied for"},
            "min": 1,
            "max": 50,
            "fields": [
                {"name": "item_name", "type": "text", "label": {"vi": "Tên", "en": "Name"}, "required": True},
                {"name": "quantity", "type": "number", "label": {"vi": "Số lượng", "en": "Quantity"}},
            ],
        },
    ],
}


def build() -> list[dict]:
    out = []
    with SOURCE.open(encoding="utf-8") as fh:
        for row in csv.DictReader(fh):
            code = row["procedure_code"].strip()
            group = row["group"].strip()
            sector, sector_en = SECTORS[group]
            level = {"C": "central", "P": "provincial"}.get(row["level_central_or_provincial"].strip(), "")
            if group == "Medical devices":
                source = SRC_A
            elif code in FROM_B:
                source = SRC_B
            else:
                source = SRC_C
            facts = FACTS.get(code, {})
            if facts:
                source += "\n" + SRC_D
            item = {
                "code": code,
                "agency": None,
                "is_published": True,
                "name": row["name_vi"].strip(),
                "name_en": "",
                "level": level,
                "sector": sector,
                "sector_en": sector_en,
                "sector_code": "",
                "applicant_type": "",
                "representative_allowed": None,
                "service_level": "",
                "return_online": False,
                "return_postal": False,
                "return_counter": False,
                "time_limit_days": facts.get("time_limit_days"),
                "time_limit_hours": None,
                "time_limit_note": facts.get("time_limit_note", ""),
                "cutoff_time": "15:00",
                "cutoff_applies_to": "transfer",
                "on_supplement": "pause",
                "fees_known": facts.get("fees_known", False),
                "legal_basis": "",
                "source": source,
                "description": "",
                "result_kind": "",
                "result_name": "",
                "form_schema": ILLUSTRATIVE_FORM,
                "illustrative_parts": ["documents", "stages", "form"],
                "is_illustrative": False,
                "stages": ILLUSTRATIVE_STAGES,
                "fees": [{**FEE_DEFAULTS, **fee} for fee in facts.get("fees", [])],
                "documents": ILLUSTRATIVE_DOCUMENTS,
            }
            out.append(item)
    return out


if __name__ == "__main__":
    data = build()
    TARGET.write_text(json.dumps(data, ensure_ascii=False, indent=1) + "\n", encoding="utf-8")
    print(f"wrote {len(data)} procedures to {TARGET.relative_to(ROOT)}")
