"""The real DVCQG client: session login, then service calls in the envelope of domain.md §4.2.

``POST {url}{auth_path}`` with ``{"username", "password"}`` answers ``{"session", "error_code": 0}``.
``POST {url}{integration_path}`` with ``{"session", "madonvi", "service", ...}`` answers
``{"error_code": "00", ...}`` on success. The operator's error codes are not public; the sets
below are the ones the simulator speaks and must be confirmed with the operator.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Sequence
from typing import Any

from django.conf import settings

from integrations.http import HttpError, http_post_json
from integrations.national_portal.base import (
    DossierRecord,
    NationalPortalError,
    ProgressRecord,
    UnknownDossierError,
)
from integrations.national_portal.catalogue import NationalProcedure, parse_procedure, parse_procedure_list
from integrations.national_portal.payload import dossier_record_to_wire, progress_record_to_wire

logger = logging.getLogger("integrations.national_portal")

SUCCESS_CODE = "00"
# The session is unknown or expired: log in again and repeat the call once.
SESSION_ERROR_CODES = frozenset({"03"})
# The portal failed on its side: the same call may succeed later.
TRANSIENT_ERROR_CODES = frozenset({"99"})
# The portal does not know the dossier named in the call.
UNKNOWN_DOSSIER_CODES = frozenset({"02"})


class HttpNationalPortal:
    """Speak the DVCQG sync API over HTTP through the shared outbound helper."""

    def __init__(
        self,
        *,
        url: str,
        auth_path: str,
        integration_path: str,
        username: str,
        password: str,
        agency_code: str,
        timeout: float | None = None,
        retries: int | None = None,
    ) -> None:
        self.auth_url = url.rstrip("/") + auth_path
        self.integration_url = url.rstrip("/") + integration_path
        self.username = username
        self.password = password
        self.agency_code = agency_code
        self.timeout = timeout
        self.retries = retries
        self._session: str | None = None
        self._lock = threading.Lock()

    @classmethod
    def from_settings(cls) -> HttpNationalPortal:
        """Return a client configured from the NATIONAL_PORTAL_* settings."""
        return cls(
            url=settings.NATIONAL_PORTAL_URL,
            auth_path=settings.NATIONAL_PORTAL_AUTH_PATH,
            integration_path=settings.NATIONAL_PORTAL_INTEGRATION_PATH,
            username=settings.NATIONAL_PORTAL_USERNAME,
            password=settings.NATIONAL_PORTAL_PASSWORD,
            agency_code=settings.NATIONAL_PORTAL_AGENCY_CODE,
        )

    # --- the interface ---------------------------------------------------------------------

    def sync_dossiers(self, records: Sequence[DossierRecord], *, is_updating: bool = False) -> None:
        """Create (or, with is_updating, update) dossiers with DongBoHoSoMC."""
        if not records:
            return
        self._call(
            "DongBoHoSoMC",
            {"isUpdating": "True" if is_updating else "False", "data": [dossier_record_to_wire(r) for r in records]},
        )

    def push_progress(self, records: Sequence[ProgressRecord]) -> None:
        """Report processing steps with CapNhatTienDoHoSoMC."""
        if not records:
            return
        self._call("CapNhatTienDoHoSoMC", {"data": [progress_record_to_wire(r) for r in records]})

    def lookup(self, dossier_code: str) -> dict[str, Any] | None:
        """Return the portal's record of DOSSIER_CODE (TraCuuHoSo), or None if it has none."""
        answer = self._call("TraCuuHoSo", {"mahoso": dossier_code})
        result = answer.get("result")
        if isinstance(result, list):
            return result[0] if result and isinstance(result[0], dict) else None
        return result if isinstance(result, dict) and result else None

    def list_procedures(self) -> list[tuple[str, str]]:
        """Return (code, name) of every procedure of our agency (LayDanhSachTTHC)."""
        answer = self._call("LayDanhSachTTHC", {})
        return parse_procedure_list(answer.get("result"))

    def procedure_detail(self, code: str) -> NationalProcedure | None:
        """Return the national master data of procedure CODE (LayThuTuc), or None if unknown."""
        answer = self._call("LayThuTuc", {"maTTHC": code})
        result = answer.get("result")
        if isinstance(result, list):
            if not result:
                return None
            result = result[0]
        if result in (None, {}):
            return None
        return parse_procedure(result, code=code)

    # --- the wire --------------------------------------------------------------------------

    def _post(self, url: str, body: dict[str, Any], *, service: str) -> dict[str, Any]:
        try:
            answer = http_post_json(url, body, timeout=self.timeout, retries=self.retries, service=service)
        except HttpError as exc:
            raise NationalPortalError(str(exc), permanent=exc.permanent) from exc
        if not isinstance(answer, dict):
            raise NationalPortalError(f"national portal {service}: answer is not an object", permanent=False)
        return answer

    def _login(self) -> str:
        answer = self._post(self.auth_url, {"username": self.username, "password": self.password}, service="auth")
        session = answer.get("session")
        if str(answer.get("error_code")) not in {"0", "00"} or not isinstance(session, str) or not session:
            # A refused login is a configuration problem of ours, not of the message: keep the
            # message retrying so it goes out once the credentials are fixed.
            raise NationalPortalError(
                f"national portal auth refused (error_code {answer.get('error_code')!r})", permanent=False
            )
        return session

    def _current_session(self, *, stale: str | None = None) -> str:
        with self._lock:
            # Another thread may already have replaced the stale session.
            if self._session is None or self._session == stale:
                self._session = self._login()
            return self._session

    def _call(self, service: str, params: dict[str, Any]) -> dict[str, Any]:
        session = self._current_session()
        for attempt in (1, 2):
            body = {"session": session, "madonvi": self.agency_code, "service": service, **params}
            answer = self._post(self.integration_url, body, service=service)
            code = str(answer.get("error_code", ""))
            if code == SUCCESS_CODE:
                return answer
            message = str(answer.get("message") or answer.get("error") or "")[:500]
            if code in SESSION_ERROR_CODES and attempt == 1:
                logger.info("national portal session expired; logging in again")
                session = self._current_session(stale=session)
                continue
            error = f"national portal {service} refused (error_code {code!r}): {message}"
            if code in UNKNOWN_DOSSIER_CODES:
                raise UnknownDossierError(error)
            permanent = code not in SESSION_ERROR_CODES and code not in TRANSIENT_ERROR_CODES
            raise NationalPortalError(error, permanent=permanent)
        raise AssertionError("unreachable")  # the loop either returns or raises
