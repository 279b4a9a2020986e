"""Reads of citizen profiles."""

from __future__ import annotations

from typing import TYPE_CHECKING

from citizens.models import CitizenProfile
from portal.crypto import pii_hash

if TYPE_CHECKING:
    from django.contrib.auth.models import AbstractBaseUser, AnonymousUser


def citizen_profile_for(*, user: AbstractBaseUser | AnonymousUser) -> CitizenProfile | None:
    """Return USER's citizen profile, or None for staff, anonymous users and citizens not yet verified."""
    if not user.is_authenticated:
        return None
    return CitizenProfile.objects.filter(user=user).first()


def citizen_profile_for_national_id(*, national_id: str) -> CitizenProfile | None:
    """Return the profile holding this personal ID number (found by its keyed hash), if any."""
    return CitizenProfile.objects.select_related("user").filter(national_id_hash=pii_hash(national_id)).first()
