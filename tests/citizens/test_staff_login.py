from __future__ import annotations

import pytest

from tests.conftest import totp_code

pytestmark = pytest.mark.django_db


def test_staff_sign_in_greets_by_vietnamese_name_in_vietnamese(client, clerk_lan):
    asked = client.post("/accounts/login/", {"login": "clerk", "password": "staff-password-2026"}, follow=True)
    assert asked.redirect_chain[-1][0] == "/accounts/2fa/authenticate/"  # the TOTP step (security.md T06)
    response = client.post("/accounts/2fa/authenticate/", {"code": totp_code()}, follow=True)
    page = response.content.decode()
    assert "Đã đăng nhập với tên Trần Thị Lan." in page
    assert "Bàn làm việc Một cửa" in page


def test_a_wrong_password_is_refused_with_a_vietnamese_message_and_no_session(client, clerk_lan):
    response = client.post("/accounts/login/", {"login": "clerk", "password": "wrong-password-2026"})
    assert response.status_code == 200
    assert "Tên đăng nhập hoặc mật khẩu không đúng." in response.content.decode()
    assert "_auth_user_id" not in client.session


def test_unknown_and_known_accounts_get_the_same_answer(client, clerk_lan):
    known = client.post("/accounts/login/", {"login": "clerk", "password": "wrong-password-2026"})
    unknown = client.post("/accounts/login/", {"login": "nobody", "password": "wrong-password-2026"})
    assert known.status_code == unknown.status_code == 200
    assert "Tên đăng nhập hoặc mật khẩu không đúng." in unknown.content.decode()
