"""How people are named on screens and documents."""

from __future__ import annotations


def person_name(user) -> str:
    """Return the name in Vietnamese order (family name first), else the username."""
    profile = getattr(user, "citizen_profile", None)
    if profile is not None and profile.full_name:
        return profile.full_name
    full = f"{user.last_name} {user.first_name}".strip()
    return full or user.get_username()
