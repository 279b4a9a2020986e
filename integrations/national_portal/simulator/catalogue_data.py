"""The procedure master data the DVCQG simulator serves (LayDanhSachTTHC / LayThuTuc).

Codes, names and levels are the real Ministry of Health procedures of domain.md §6.1 (verified
sources (a)-(e) there). The four provincial medical-device procedures carry the verified time
limit ("immediately") and fees of source (d). Everything else is ILLUSTRATIVE and marked so:

- the sector codes (MALINHVUC "G18-…"): MoH sector codes are not verified (domain.md §2.3 [M]);
- the checklist documents (THANHPHANHOSO) of 1.003006 and 1.003029: invented examples;
- unknown time limits and fees are left out (the national data then says nothing; the sync keeps
  them unknown rather than guessing).

Each illustrative part is listed in the simulator-only key ``_MINHHOA`` (never sent by the real
portal) so that the catalogue sync can mark it illustrative in our catalogue as well.
The shape of a record is described in integrations/national_portal/catalogue.py.
"""

from __future__ import annotations

import copy
from typing import Any

MINISTRY = {"MADONVI": "000.00.00.G18", "TENDONVI": "Bộ Y tế"}  # G18 = Y tế, domain.md §2.2
PROVINCIAL = {"MADONVI": "", "TENDONVI": "Sở Y tế"}  # each province's department; no single code

# ILLUSTRATIVE sector codes (see the module docstring).
SECTORS = {
    "tbyt": ("G18-TBYT", "Thiết bị y tế"),
    "kcb": ("G18-KCB", "Khám bệnh, chữa bệnh"),
    "duoc": ("G18-DUOC", "Dược"),
    "ydct": ("G18-YDCT", "Y, Dược cổ truyền"),
    "mp": ("G18-MP", "Mỹ phẩm"),
    "hc": ("G18-HCCP", "Hóa chất, chế phẩm diệt côn trùng, diệt khuẩn"),
    "attp": ("G18-ATTP", "An toàn thực phẩm"),
    "tl": ("G18-TL", "Phòng, chống tác hại của thuốc lá"),
    "ds": ("G18-DS", "Dân số"),
    "bhyt": ("G18-BHYT", "Bảo hiểm y tế"),
}

TT44 = "Thông tư 44/2025/TT-BYT (sửa đổi theo Quyết định 3618/QĐ-BYT)"

# (code, name, level C/P, sector key, legal basis or "")
PROCEDURES: list[tuple[str, str, str, str, str]] = [
    ("1.003925", "Cấp mới số lưu hành TBYT loại C, D đã có quy chuẩn kỹ thuật quốc gia", "C", "tbyt", TT44),
    ("1.002949", "Cấp mới số lưu hành TBYT loại C, D là phương tiện đo phải phê duyệt mẫu", "C", "tbyt", TT44),
    ("1.002155", "Cấp mới số lưu hành TBYT loại C, D thuộc trường hợp cấp nhanh", "C", "tbyt", TT44),
    (
        "1.010541",
        "Cấp khẩn cấp số lưu hành mới TBYT loại C, D (phòng chống dịch, thiên tai, thảm họa)",
        "C",
        "tbyt",
        TT44,
    ),
    ("1.002402", "Cấp mới số lưu hành đối với TBYT khác thuộc loại C, D", "C", "tbyt", TT44),
    (
        "3.000445",
        "Tiếp tục cho lưu hành TBYT khi chủ sở hữu không tiếp tục sản xuất / phá sản, giải thể (C, D)",
        "C",
        "tbyt",
        TT44,
    ),
    ("3.000446", "Cấp giấy chứng nhận lưu hành tự do (CFS) đối với TBYT loại C, D", "C", "tbyt", TT44),
    ("1.003844", "Cấp giấy phép nhập khẩu TBYT", "C", "tbyt", TT44),
    ("1.002151", "Cấp GCN đăng ký hoạt động kiểm định TBYT", "C", "tbyt", TT44),
    ("1.002294", "Cấp bổ sung, sửa đổi GCN đăng ký hoạt động kiểm định TBYT", "C", "tbyt", TT44),
    ("1.003006", "Công bố đủ điều kiện sản xuất TBYT", "P", "tbyt", TT44),
    ("1.003029", "Công bố tiêu chuẩn áp dụng đối với TBYT loại A, B", "P", "tbyt", TT44),
    ("1.003039", "Công bố đủ điều kiện mua bán TBYT loại B, C, D", "P", "tbyt", TT44),
    (
        "3.000449",
        "Công bố đối với nguyên liệu sản xuất TBYT, chất ngoại kiểm chứa chất ma túy và tiền chất",
        "P",
        "tbyt",
        TT44,
    ),
    ("1.012278", "Cấp mới giấy phép hoạt động khám bệnh, chữa bệnh", "C", "kcb", "Nghị định 96/2023/NĐ-CP"),
    ("1.012282", "Cấp mới GCN đăng ký hoạt động đánh giá, chứng nhận chất lượng cơ sở KCB", "C", "kcb", ""),
    ("1.012327", "Thừa nhận tiêu chuẩn quản lý chất lượng cơ sở KCB", "C", "kcb", "Thông tư 32/2023/TT-BYT"),
    (
        "1.012328",
        "Đánh giá lần đầu đáp ứng thực hành tốt thử nghiệm lâm sàng kỹ thuật mới, phương pháp mới hoặc TBYT",
        "C",
        "kcb",
        "",
    ),
    ("1.012332", "Kiểm soát thay đổi trong thử kỹ thuật mới, phương pháp mới hoặc TBYT trên lâm sàng", "C", "kcb", ""),
    ("1.003125", "Cấp giấy phép hoạt động ngân hàng mô", "C", "kcb", ""),
    ("1.013878", "Cấp mới GCN cơ sở xét nghiệm đạt tiêu chuẩn an toàn sinh học cấp III", "C", "kcb", ""),
    ("1.013865", "Cấp lại GCN cơ sở xét nghiệm ATSH cấp III do thay đổi tên", "C", "kcb", ""),
    ("1.013871", "Bổ nhiệm giám định viên pháp y và pháp y tâm thần", "P", "kcb", ""),
    ("1.013876", "Miễn nhiệm giám định viên pháp y và pháp y tâm thần", "P", "kcb", ""),
    (
        "1.014070",
        "Cấp GCN đủ điều kiện kinh doanh dược thuộc thẩm quyền Bộ Y tế (sản xuất, XNK, bảo quản thuốc/nguyên liệu…)",
        "C",
        "duoc",
        "",
    ),
    ("1.014088", "Cấp lại, điều chỉnh GCN đủ điều kiện kinh doanh dược (Bộ Y tế)", "C", "duoc", ""),
    (
        "1.014076",
        "Cấp GCN đủ điều kiện kinh doanh dược thuộc thẩm quyền Sở Y tế (bán buôn; bán lẻ: nhà thuốc, quầy thuốc, "
        "tủ thuốc trạm y tế xã, bán lẻ dược liệu…)",
        "P",
        "duoc",
        "",
    ),
    ("1.014101", "Điều chỉnh nội dung Chứng chỉ hành nghề dược theo hình thức xét hồ sơ", "C", "duoc", ""),
    (
        "1.014203",
        "Thẩm định điều kiện và đánh giá thực hành tốt cơ sở phân phối thuốc không vì mục đích thương mại",
        "C",
        "duoc",
        "",
    ),
    (
        "2.000952",
        "Đánh giá đáp ứng Thực hành tốt phòng thí nghiệm (GLP) đối với cơ sở kinh doanh dược",
        "C",
        "duoc",
        "",
    ),
    (
        "1.014045",
        "Cấp giấy đăng ký lưu hành vị thuốc cổ truyền, dược liệu",
        "C",
        "ydct",
        "Thông tư 29/2025/TT-BYT",
    ),
    ("1.008395", "Đánh giá đáp ứng GACP (nuôi trồng, thu hái, khai thác dược liệu)", "C", "ydct", ""),
    ("1.002483", "Cấp giấy xác nhận nội dung quảng cáo mỹ phẩm", "C", "mp", "Thông tư 09/2015/TT-BYT"),
    (
        "1.000662",
        "Cấp lại giấy xác nhận nội dung quảng cáo mỹ phẩm (đổi tên/địa chỉ, không đổi nội dung)",
        "C",
        "mp",
        "",
    ),
    ("1.002257", "Cấp GCN đáp ứng CGMP-ASEAN (sản xuất mỹ phẩm)", "C", "mp", ""),
    ("1.009566", "Cấp CFS đối với mỹ phẩm sản xuất trong nước để xuất khẩu", "C", "mp", ""),
    ("1.003073", "Điều chỉnh GCN đủ điều kiện sản xuất mỹ phẩm", "C", "mp", ""),
    ("1.013866", "Đăng ký lưu hành mới chế phẩm diệt côn trùng, diệt khuẩn dùng trong gia dụng và y tế", "C", "hc", ""),
    (
        "1.013867",
        "Đăng ký lưu hành bổ sung: thay đổi tên, địa chỉ đơn vị đăng ký / sản xuất (chế phẩm)",
        "C",
        "hc",
        "",
    ),
    ("1.013874", "Gia hạn số đăng ký lưu hành chế phẩm", "C", "hc", ""),
    ("1.013887", "Đăng ký lưu hành bổ sung: thay đổi quyền sở hữu số đăng ký (chế phẩm)", "C", "hc", ""),
    ("1.013895", "Đăng ký lưu hành bổ sung: thay đổi địa điểm / cơ sở sản xuất (chế phẩm)", "C", "hc", ""),
    ("1.013886", "Cấp CFS chế phẩm diệt côn trùng, diệt khuẩn xuất khẩu", "C", "hc", ""),
    ("1.013889", "Sửa đổi, bổ sung, cấp lại CFS chế phẩm xuất khẩu", "C", "hc", ""),
    ("1.002564", "Xác nhận nội dung quảng cáo hóa chất, chế phẩm diệt côn trùng, diệt khuẩn", "C", "hc", ""),
    ("1.013838", "Cấp CFS đối với sản phẩm thực phẩm xuất khẩu thuộc quản lý của Bộ Y tế", "C", "attp", ""),
    ("1.013847", "Sửa đổi, bổ sung, cấp lại CFS thực phẩm xuất khẩu (Bộ Y tế)", "C", "attp", ""),
    (
        "1.013855",
        "Cấp GCN cơ sở đủ điều kiện an toàn thực phẩm (dịch vụ ăn uống, cơ sở sản xuất thực phẩm) "
        "thuộc quản lý Bộ Y tế",
        "C",
        "attp",
        "",
    ),
    ("1.013857", "Chỉ định cơ sở kiểm nghiệm thực phẩm phục vụ quản lý nhà nước", "C", "attp", ""),
    (
        "1.000056",
        "Cấp Giấy xác nhận công bố phù hợp quy định đối với thuốc lá",
        "C",
        "tl",
        "Thông tư 49/2015/TT-BYT",
    ),
    ("1.013896", "Tiếp nhận bản công bố hợp quy thuốc lá, bên thứ ba", "C", "tl", ""),
    ("1.013898", "Tiếp nhận bản công bố hợp quy thuốc lá, bên thứ nhất", "C", "tl", ""),
    ("2.001088", "Xét hưởng chính sách hỗ trợ cho đối tượng sinh con đúng chính sách dân số", "C", "ds", ""),
    ("1.014140", "Thanh toán trực tiếp chi phí KCB giữa cơ quan BHXH và người tham gia BHYT", "C", "bhyt", ""),
]

# Verified time limits and fees, domain.md §6.1 source (d): "immediately" = 0 working days.
_FEE_PERIOD = "áp dụng từ 01/7/2025 đến 31/12/2026"
TIMES: dict[str, list[dict[str, Any]]] = {
    "1.003006": [
        {
            "THOIGIANGIAIQUYET": "0",
            "DONVITINH": "Ngày làm việc",
            "MOTA": "Ngay khi nhận đủ hồ sơ hợp lệ; nộp trực tuyến tại imda.moh.gov.vn",
            "PHILEPHI": [{"MOTA": f"Phí công bố ({_FEE_PERIOD})", "SOTIEN": 1500000, "LOAIPHILEPHI": 1}],
        }
    ],
    "1.003029": [
        {
            "THOIGIANGIAIQUYET": "0",
            "DONVITINH": "Ngày làm việc",
            "MOTA": "Ngay khi nhận đủ hồ sơ hợp lệ",
            "PHILEPHI": [
                {"MOTA": "TBYT loại A", "SOTIEN": 500000, "LOAIPHILEPHI": 1},
                {"MOTA": "TBYT loại B", "SOTIEN": 1500000, "LOAIPHILEPHI": 1},
            ],
        }
    ],
    "1.003039": [
        {
            "THOIGIANGIAIQUYET": "0",
            "DONVITINH": "Ngày làm việc",
            "MOTA": "Ngay khi nhận đủ hồ sơ hợp lệ",
            "PHILEPHI": [{"MOTA": "Phí công bố", "SOTIEN": 1500000, "LOAIPHILEPHI": 1}],
        }
    ],
    "3.000449": [
        {
            "THOIGIANGIAIQUYET": "0",
            "DONVITINH": "Ngày làm việc",
            "MOTA": "Ngay khi nhận đủ hồ sơ hợp lệ",
            "PHILEPHI": [],
        }
    ],
}

# ILLUSTRATIVE checklists (see the module docstring).
DOCUMENTS: dict[str, list[dict[str, Any]]] = {
    "1.003006": [
        {"TENGIAYTO": "Văn bản công bố đủ điều kiện sản xuất (minh họa)", "SOBANCHINH": 1, "SOBANSAO": 0, "BATBUOC": 1},
        {"TENGIAYTO": "Hồ sơ nhân sự (minh họa)", "SOBANCHINH": 0, "SOBANSAO": 1, "BATBUOC": 1},
    ],
    "1.003029": [
        {"TENGIAYTO": "Văn bản công bố tiêu chuẩn áp dụng (minh họa)", "SOBANCHINH": 1, "SOBANSAO": 0, "BATBUOC": 1},
    ],
}


def procedure_record(code: str, name: str, level: str, sector: str, legal_basis: str) -> dict[str, Any]:
    """Return one LayThuTuc record in the shape of integrations/national_portal/catalogue.py."""
    sector_code, sector_name = SECTORS[sector]
    illustrative = ["LINHVUCTHUCHIEN"]
    record: dict[str, Any] = {
        "MATTHC": code,
        "TENTTHC": name,
        "CAPTHUCHIEN": "Cấp Bộ" if level == "C" else "Cấp Tỉnh",
        "LINHVUCTHUCHIEN": [{"MALINHVUC": sector_code, "TENLINHVUC": sector_name}],
        "COQUANTHUCHIEN": [MINISTRY if level == "C" else PROVINCIAL],
        "CANCUPHAPLY": [{"TENVANBAN": legal_basis}] if legal_basis else [],
        "TRINHTUTHUCHIEN": [],
        "CACHTHUCTHUCHIEN": [{"KENH": "2", "THOIGIAN": copy.deepcopy(TIMES[code])}] if code in TIMES else [],
    }
    if code in DOCUMENTS:
        record["THANHPHANHOSO"] = copy.deepcopy(DOCUMENTS[code])
        illustrative.append("THANHPHANHOSO")
    record["_MINHHOA"] = illustrative
    return record


def initial_catalogue() -> dict[str, dict[str, Any]]:
    """Return a fresh copy of the simulator's procedure data, keyed by MATTHC."""
    return {row[0]: procedure_record(*row) for row in PROCEDURES}
