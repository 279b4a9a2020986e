"""Print the portal URL and the demo sign-ins; `make run` calls it before starting the processes.

It degrades gracefully: staff accounts are listed only when they exist in the database, and the
citizens only when the VNeID simulator exposes DEMO_CITIZENS.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "portal.settings.base")

DEMO_PASSWORD = "demo-password-2026"  # noqa: S105  (demo accounts of load_demo_data; DEBUG only)
STAFF = [
    ("clerk", "cán bộ tiếp nhận (reception clerk)"),
    ("officer", "chuyên viên xử lý (processing officer)"),
    ("leader", "lãnh đạo (leader, signs decisions)"),
    ("admin", "quản trị (administrator, /admin/)"),
]
NAME_KEYS = ("name", "full_name", "ho_ten", "ho_va_ten", "display_name")
ID_KEYS = ("so_dinh_danh", "national_id", "personal_id", "cccd", "citizen_id", "sub")


def field(item: object, keys: tuple[str, ...]) -> str:
    """Return the first non-empty attribute or key of ITEM among KEYS (a dataclass, dict, ...)."""
    for key in keys:
        value = item.get(key) if isinstance(item, dict) else getattr(item, key, None)
        if value:
            return str(value)
    return ""


def citizen_lines() -> list[str]:
    try:
        from integrations.vneid.simulator import DEMO_CITIZENS
    except Exception as exc:  # the simulator is optional for this banner
        return [f"  (no demo citizen list: {type(exc).__name__}: {exc})"]
    citizens = DEMO_CITIZENS.values() if isinstance(DEMO_CITIZENS, dict) else DEMO_CITIZENS
    lines = []
    for item in citizens:
        name, ident = field(item, NAME_KEYS), field(item, ID_KEYS)
        level, note = field(item, ("acr", "level")), field(item, ("note",))
        extra = note or (f"level {level}" if level else "")
        lines.append(f"  {ident:14} {name:28} {extra}".rstrip())
    return lines or ["  (DEMO_CITIZENS is empty)"]


def demo_staff() -> tuple[list[tuple[str, str]], str]:
    """Return [(username, description)] and the password, from procedures.demo when it has them."""
    try:
        from procedures.demo import DEMO_PASSWORD as password
        from procedures.demo import DEMO_STAFF
    except ImportError:
        return STAFF, DEMO_PASSWORD
    staff = []
    for username, last, first, role, title in DEMO_STAFF:
        staff.append((username, f"{last} {first}, {getattr(role, 'label', role)} ({title})"))
    try:
        from facilities.demo import DEMO_USERS
    except ImportError:
        DEMO_USERS = []
    for username, last, first, _role, title in DEMO_USERS:
        staff.append((username, f"{last} {first}, health facility ({title}), /facilities/"))
    return staff, password


def staff_lines() -> list[str]:
    try:
        import django

        django.setup()
        from django.contrib.auth import get_user_model

        staff, password = demo_staff()
        usernames = [u for u, _ in staff]
        existing = set(get_user_model().objects.filter(username__in=usernames).values_list("username", flat=True))
    except Exception as exc:  # the banner must not stop the start
        return [f"  (cannot read the accounts: {type(exc).__name__}: {exc})"]
    lines = [f"  {user:8} {description}" for user, description in staff if user in existing]
    if not lines:
        return ["  (none yet: run `python manage.py load_demo_data`)"]
    return [*lines, f"  password for all: {password}", *totp_lines([u for u, _ in staff if u in existing])]


def totp_lines(usernames: list[str]) -> list[str]:
    """The fixed TOTP seeds of the demo accounts (DEBUG only) and how to put them in an authenticator app."""
    try:
        from urllib.parse import quote

        from allauth.mfa.models import Authenticator
        from django.conf import settings

        from portal.crypto import decrypt
        from procedures.demo import demo_totp_seed
    except ImportError as exc:
        return [f"  (no two-factor seeds: {exc})"]
    lines = [
        "Two-factor sign-in: after the password the portal asks for a 6-digit code. Add the account to an",
        "authenticator app (FreeOTP, Google or Microsoft Authenticator, KeePassXC...) with its key, time-based,",
        "or open the otpauth:// link on the phone; `oathtool --totp -b KEY` prints the current code too:",
    ]
    for username in usernames:
        seed = demo_totp_seed(username)
        totp = Authenticator.objects.filter(user__username=username, type="totp").first()
        if totp is None:
            lines.append(f"  {username:8} (no authenticator yet: it is set up at the first sign-in)")
        elif decrypt(totp.data["secret"]) != seed:
            lines.append(f"  {username:8} (its own authenticator, set up after a reset)")
        else:
            issuer = quote(settings.MFA_TOTP_ISSUER)
            uri = f"otpauth://totp/{issuer}:{username}?secret={seed}&issuer={issuer}"
            lines.append(f"  {username:8} key {seed}  {uri}")
    return lines


def main() -> None:
    port = os.environ.get("PORT", "8000")
    vneid = os.environ.get("VNEID_SERVER_URL", "http://127.0.0.1:8101")
    national = os.environ.get("NATIONAL_PORTAL_URL", "http://127.0.0.1:8102")
    out = [
        "",
        "=" * 78,
        f"  Một cửa portal:   http://127.0.0.1:{port}/",
        f"  Staff sign-in:    http://127.0.0.1:{port}/accounts/login/",
        f"  Admin:            http://127.0.0.1:{port}/admin/",
        f"  VNeID simulator:  {vneid}    national portal simulator: {national}",
        "=" * 78,
        "Citizens sign in with 'VNeID' on the portal, then pick one of these in the simulator:",
        *citizen_lines(),
        "Staff accounts (username / role):",
        *staff_lines(),
        "=" * 78,
        "",
    ]
    print("\n".join(out))


if __name__ == "__main__":
    main()
