"""The SOAP-shaped wire format of the population database (domain.md §4.4), both directions.

Requests (namespace ``http://gtel.vn/qldc`` for the look-up, ``http://dancuquocgia.bca`` for the
verification) and the answer's ``CongdanCollection`` (namespace ``http://www.mic.gov.vn/dancu/1.0``).
The bulk look-up ``XacMinhThongTinNhanThanLoRequest`` is **our extension** (the public interface is
per record): it carries many ``SoDinhDanh`` and is answered by the same ``CongdanCollection`` with
one ``CongDan`` per person found, so one parser reads both answers.

Every answer is parsed safely (no DTD, so no entities and no external references; see _parse). Standard library +
defusedxml only: the simulator imports this module too and runs without Django.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from xml.etree.ElementTree import Element, ParseError, XMLParser  # nosec B405  # C parser only for DTD-free UTF-8 answers, ADR 0006; see _parse
from xml.sax.saxutils import escape  # nosec B406  # escape() for building requests, no parsing

from defusedxml import ElementTree as SafeET
from defusedxml.common import DefusedXmlException

from integrations.population_registry.base import CitizenRecord

SOAP_NS = "http://schemas.xmlsoap.org/soap/envelope/"
QLDC_NS = "http://gtel.vn/qldc"
BCA_NS = "http://dancuquocgia.bca"
DANCU_NS = "http://www.mic.gov.vn/dancu/1.0"

LOOKUP = "XacMinhThongTinNhanThanRequest"
LOOKUP_BULK = "XacMinhThongTinNhanThanLoRequest"  # our extension
VERIFY = "XacThucThongTinCongDanRequest"
DECEASED_STATUS = "DaMat"
_DECLARED_ENCODING = re.compile(rb"""^\s*<\?xml[^>]*?encoding\s*=\s*["']([A-Za-z0-9._-]+)["']""")


class WireError(ValueError):
    """The XML is not what the interface promises (malformed, dangerous or missing parts)."""


def _envelope(body: str) -> bytes:
    return (
        '<?xml version="1.0" encoding="UTF-8"?>'
        f'<soapenv:Envelope xmlns:soapenv="{SOAP_NS}"><soapenv:Body>{body}</soapenv:Body></soapenv:Envelope>'
    ).encode()


def _fields(prefix: str, values: Iterable[tuple[str, str]]) -> str:
    return "".join(f"<{prefix}:{name}>{escape(value or '')}</{prefix}:{name}>" for name, value in values)


def lookup_request(
    *, request_id: str, service_code: str, integration_code: str, unit_code: str, official: str, personal_id: str
) -> bytes:
    """Return the XacMinhThongTinNhanThan request for one personal ID."""
    fields = _fields(
        "qldc",
        (
            ("MaYeuCau", request_id),
            ("MaDVC", service_code),
            ("MaTichHop", integration_code),
            ("MaDonVi", unit_code),
            ("MaCanBo", official),
            ("SoDinhDanh", personal_id),
            ("SoCMND", ""),
            ("HoVaTen", ""),
            ("NgayThangNamSinh", ""),
        ),
    )
    return _envelope(f'<qldc:{LOOKUP} xmlns:qldc="{QLDC_NS}">{fields}</qldc:{LOOKUP}>')


def lookup_bulk_request(
    *, request_id: str, service_code: str, integration_code: str, unit_code: str, official: str, personal_ids: list[str]
) -> bytes:
    """Return our bulk look-up request: the per-record header, then one SoDinhDanh per person."""
    header = _fields(
        "qldc",
        (
            ("MaYeuCau", request_id),
            ("MaDVC", service_code),
            ("MaTichHop", integration_code),
            ("MaDonVi", unit_code),
            ("MaCanBo", official),
        ),
    )
    ids = "".join(f"<qldc:SoDinhDanh>{escape(pid)}</qldc:SoDinhDanh>" for pid in personal_ids)
    body = (
        f'<qldc:{LOOKUP_BULK} xmlns:qldc="{QLDC_NS}">{header}<qldc:DanhSach>{ids}</qldc:DanhSach></qldc:{LOOKUP_BULK}>'
    )
    return _envelope(body)


def verify_request(
    *, request_id: str, service_code: str, official: str, personal_id: str, old_id: str, full_name: str
) -> bytes:
    """Return the XacThucThongTinCongDan request."""
    fields = _fields(
        "dan",
        (
            ("MaYeuCau", request_id),
            ("MaDichVu", service_code),
            ("MaCanBo", official),
            ("SoDinhDanh", personal_id),
            ("SoCMND", old_id),
            ("HoVaTen", full_name),
        ),
    )
    return _envelope(f'<dan:{VERIFY} xmlns:dan="{BCA_NS}">{fields}</dan:{VERIFY}>')


# --- answers -------------------------------------------------------------------------------


def format_birth_date(value: str) -> str:
    """Return NgayThangNam (yyyyMMdd, yyyyMM or yyyy) of an ISO date of that precision."""
    return value.replace("-", "")


def parse_birth_date(value: str) -> str:
    """Return the ISO form (YYYY-MM-DD, YYYY-MM or YYYY) of NgayThangNam; raise WireError if malformed."""
    value = value.strip()
    if not value.isdigit() or len(value) not in (4, 6, 8):
        raise WireError("NgayThangNam is not yyyy, yyyyMM or yyyyMMdd")
    return "-".join(p for p in (value[:4], value[4:6], value[6:8]) if p)


def citizen_xml(record: CitizenRecord) -> str:
    """Return one CongDan element (the simulator writes answers with it)."""
    return (
        "<CongDan>"
        f"<SoDinhDanh>{record.personal_id}</SoDinhDanh><SoCMND>{record.old_id}</SoCMND>"
        f"<HoVaTen><Ho>{escape(record.family_name)}</Ho><ChuDem>{escape(record.middle_name)}</ChuDem>"
        f"<Ten>{escape(record.given_name)}</Ten></HoVaTen>"
        f"<NgayThangNamSinh><NgayThangNam>{format_birth_date(record.birth_date)}</NgayThangNam></NgayThangNamSinh>"
        f"<GioiTinh>{record.sex}</GioiTinh><ThuongTru>{escape(record.residence)}</ThuongTru>"
        f"<TinhTrang>{DECEASED_STATUS if record.deceased else 'ConSong'}</TinhTrang>"
        "</CongDan>"
    )


def collection_response(records: list[CitizenRecord], *, request_id: str, data_time: str) -> bytes:
    """Return the XacMinhThongTinNhanThan answer holding RECORDS (none = not found)."""
    body = "".join(citizen_xml(r) for r in records)
    note = "" if records else "Không tìm thấy"
    return _envelope(
        f'<XacMinhThongTinNhanThanResponse xmlns="{QLDC_NS}">'
        f'<CongdanCollection xmlns="{DANCU_NS}" SoCongDan="{len(records)}" GhiChu="{note}" '
        f'ThoiDiemDuLieu="{data_time}" id="{escape(request_id)}">{body}</CongdanCollection>'
        "</XacMinhThongTinNhanThanResponse>"
    )


def exists_response(exists: bool) -> bytes:
    """Return the XacThucThongTinCongDan answer."""
    return _envelope(
        f'<KetQuaXacThucResponse xmlns="{BCA_NS}"><TonTai>{str(exists).lower()}</TonTai></KetQuaXacThucResponse>'
    )


def fault_response(code: str, message: str) -> bytes:
    """Return a SOAP fault."""
    return _envelope(
        f"<soapenv:Fault><faultcode>{code}</faultcode><faultstring>{escape(message)}</faultstring></soapenv:Fault>"
    )


def _parse(data: bytes) -> Element:
    """Parse an answer safely.

    Every XML attack defusedxml guards against (entity expansion, external entities, DTD
    retrieval) needs a DTD. A document with a DOCTYPE (or an ENTITY) goes to defusedxml with
    ``forbid_dtd=True``, which refuses it; a UTF-8 document without one holds nothing to expand or
    fetch, so the C parser reads it (three times faster than defusedxml's pure-Python parser, which
    matters at 86.8 million records). Encodings that could hide the DOCTYPE from the byte scan
    (UTF-16/32, an exotic declared encoding) are refused.
    """
    if not data:
        raise WireError("answer is empty")
    if b"\x00" in data or data[:2] in (b"\xff\xfe", b"\xfe\xff"):
        raise WireError("answer is not UTF-8 XML")
    declared = _DECLARED_ENCODING.match(data)
    if declared and declared.group(1).lower() not in (b"utf-8", b"utf8", b"us-ascii", b"ascii"):
        raise WireError("answer is not UTF-8 XML")
    try:
        if b"<!DOCTYPE" in data or b"<!ENTITY" in data:
            return SafeET.fromstring(data, forbid_dtd=True)
        parser = XMLParser()  # noqa: S314  # nosec B314  # no DTD: nothing to expand or fetch; see above
        parser.feed(data)
        return parser.close()
    except (ParseError, DefusedXmlException, ValueError) as exc:
        raise WireError(f"answer is not safe, well-formed XML ({type(exc).__name__})") from exc


def _local(tag: str) -> str:
    return tag.rsplit("}", 1)[-1]


def _find(element: Element, name: str) -> Element | None:
    for child in element:
        if _local(child.tag) == name:
            return child
    return None


def _value(element: Element | None) -> str:
    return (element.text or "").strip() if element is not None else ""


def _text(element: Element, name: str) -> str:
    child = _find(element, name)
    return (child.text or "").strip() if child is not None else ""


def _body(root: Element) -> Element:
    if _local(root.tag) != "Envelope":
        raise WireError("answer is not a SOAP envelope")
    body = _find(root, "Body")
    if body is None or len(body) == 0:
        raise WireError("answer has no SOAP body")
    content = body[0]
    if _local(content.tag) == "Fault":
        raise WireError(f"SOAP fault {_text(content, 'faultcode')}: {_text(content, 'faultstring')[:200]}")
    return content


def parse_collection(data: bytes) -> tuple[list[CitizenRecord], str]:
    """Return the citizens of a CongdanCollection answer (per record or bulk) and its ThoiDiemDuLieu."""
    content = _body(_parse(data))
    collection = content if _local(content.tag) == "CongdanCollection" else _find(content, "CongdanCollection")
    if collection is None:
        raise WireError("answer has no CongdanCollection")
    data_time = collection.get("ThoiDiemDuLieu", "")
    records = []
    for item in collection:
        if _local(item.tag) != "CongDan":
            continue
        fields = {_local(child.tag): child for child in item}
        name, birth = fields.get("HoVaTen"), fields.get("NgayThangNamSinh")
        personal_id = _value(fields.get("SoDinhDanh"))
        if not personal_id or name is None or birth is None:
            raise WireError("CongDan lacks SoDinhDanh, HoVaTen or NgayThangNamSinh")
        parts = {_local(child.tag): (child.text or "").strip() for child in name}
        dates = {_local(child.tag): (child.text or "").strip() for child in birth}
        records.append(
            CitizenRecord(
                personal_id=personal_id,
                old_id=_value(fields.get("SoCMND")),
                family_name=parts.get("Ho", ""),
                middle_name=parts.get("ChuDem", ""),
                given_name=parts.get("Ten", ""),
                birth_date=parse_birth_date(dates.get("NgayThangNam", "")),
                sex=_value(fields.get("GioiTinh")),
                residence=_value(fields.get("ThuongTru")),
                deceased=_value(fields.get("TinhTrang")) == DECEASED_STATUS,
                data_time=data_time,
            )
        )
    return records, data_time


def parse_exists(data: bytes) -> bool:
    """Return TonTai of a XacThucThongTinCongDan answer."""
    content = _body(_parse(data))
    value = _text(content, "TonTai").lower()
    if value not in ("true", "false"):
        raise WireError("TonTai is neither true nor false")
    return value == "true"


def parse_request(data: bytes) -> tuple[str, dict[str, str], list[str]]:
    """Return (operation, header fields, personal IDs of a bulk request); the simulator reads requests with it."""
    content = _body(_parse(data))
    operation = _local(content.tag)
    fields = {_local(child.tag): (child.text or "").strip() for child in content if len(child) == 0}
    ids: list[str] = []
    listing = _find(content, "DanhSach")
    if listing is not None:
        ids = [(child.text or "").strip() for child in listing]
    return operation, fields, ids
