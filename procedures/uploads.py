"""Kept for existing imports: the upload checks live in portal.uploads (one service for every upload)."""

from portal.uploads import ACCEPTED, CheckedUpload, check_upload

__all__ = ["ACCEPTED", "CheckedUpload", "check_upload"]
