"""The home page lists published procedures whatever their time limit is (days, hours, immediate, unknown)."""

from __future__ import annotations

import pytest

from procedures.models import Procedure

pytestmark = pytest.mark.django_db


def test_the_home_page_shows_every_kind_of_time_limit(client, agency):
    for code, days, hours in (("T.DAYS", 5, None), ("T.HOURS", None, 8), ("T.NOW", 0, None), ("T.UNKNOWN", None, None)):
        Procedure.objects.create(
            code=code, name=f"Thủ tục {code}", agency=agency, time_limit_days=days, time_limit_hours=hours,
            is_published=True,
        )  # fmt: skip
    page = client.get("/")
    assert page.status_code == 200
    text = page.content.decode()
    assert "5 ngày làm việc" in text
    assert "8 giờ làm việc" in text
    assert "Thủ tục T.UNKNOWN" in text
