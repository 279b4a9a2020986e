"""Text normalisation for searching Vietnamese without diacritics."""

from __future__ import annotations

import re
import unicodedata

_SPACES = re.compile(r"\s+")


def search_normalise(text: str) -> str:
    """Lower-case TEXT, strip diacritics (đ becomes d) and collapse white space.

    >>> search_normalise("Cấp GIẤY phép  Đăng ký")
    'cap giay phep dang ky'
    """
    text = (text or "").replace("đ", "d").replace("Đ", "D")
    decomposed = unicodedata.normalize("NFD", text)
    stripped = "".join(ch for ch in decomposed if not unicodedata.combining(ch))
    return _SPACES.sub(" ", stripped.lower()).strip()
