"""Staff sign-in in the browser: the password, then the TOTP code of the account's seed (security.md T06)."""

from __future__ import annotations

import time

from playwright.sync_api import expect

from tests.conftest import TEST_TOTP_SEED, totp_code

STAFF_PASSWORD = "staff-password-2026"  # tests/conftest.py make_staff

# A code works once: the last 30-second step used per authenticator, so that a second sign-in of the same
# account within one step types the next step's code (the portal accepts one step of drift either side).
_last_step: dict[int, int] = {}


def staff_sign_in(
    page, live_server, username: str, *, password: str = STAFF_PASSWORD, seed: str = TEST_TOTP_SEED, next_url: str = ""
) -> None:
    """Sign USERNAME in through the portal's form and the two-factor page; returns once signed in."""
    page.goto(f"{live_server.url}/accounts/login/" + (f"?next={next_url}" if next_url else ""))
    form = page.locator("form#staff-login")
    form.locator("input[name=login]").fill(username)
    form.locator("input[name=password]").fill(password)
    form.locator("button[type=submit]").click()
    code_form = page.locator("form#mfa-authenticate")
    expect(code_form).to_be_visible()
    from allauth.mfa.models import Authenticator

    authenticator = Authenticator.objects.filter(user__username=username, type="totp").values_list("pk", flat=True)
    key = authenticator.first() or 0
    now = int(time.time()) // 30
    step = max(now, _last_step.get(key, now - 1) + 1)
    _last_step[key] = step
    code_form.locator("input[name=code]").fill(totp_code(seed, step=step - now))
    code_form.locator("button[type=submit]").click()
    expect(page.locator(".nav-logout")).to_be_visible()
