"""The real population-database client: SOAP-shaped XML over the shared outbound HTTP helper.

Every answer is parsed at the boundary (wire.py, defusedxml) into CitizenRecord dataclasses. A
timeout, a transient status, a SOAP server fault or a malformed answer is RegistryUnavailable (the
helper already retried transient errors); a refused request is a permanent RegistryError.
"""

from __future__ import annotations

from django.conf import settings

from integrations.http import HttpError, http_request
from integrations.population_registry import wire
from integrations.population_registry.base import CitizenRecord, RegistryError, RegistryUnavailable


class HttpPopulationRegistry:
    """Speak the C06 interface (and our bulk extension) over HTTP."""

    def __init__(
        self,
        *,
        url: str,
        service_code: str,
        integration_code: str,
        unit_code: str,
        timeout: float | None = None,
        retries: int | None = None,
    ) -> None:
        self.url = url.rstrip("/") + "/qldc"
        self.service_code = service_code
        self.integration_code = integration_code
        self.unit_code = unit_code
        self.timeout = timeout
        self.retries = retries

    @classmethod
    def from_settings(cls) -> HttpPopulationRegistry:
        """Return a client configured from the POPULATION_REGISTRY_* settings."""
        return cls(
            url=settings.POPULATION_REGISTRY_URL,
            service_code=settings.POPULATION_REGISTRY_SERVICE_CODE,
            integration_code=settings.POPULATION_REGISTRY_INTEGRATION_CODE,
            unit_code=settings.POPULATION_REGISTRY_UNIT_CODE,
            timeout=settings.POPULATION_REGISTRY_TIMEOUT,
            retries=settings.POPULATION_REGISTRY_RETRIES,
        )

    def _post(self, body: bytes, *, action: str) -> bytes:
        try:
            response = http_request(
                "POST",
                self.url,
                data=body,
                headers={"Content-Type": "text/xml; charset=utf-8", "SOAPAction": action},
                timeout=self.timeout,
                retries=self.retries,
                service=f"population registry {action}",
            )
        except HttpError as exc:
            if exc.permanent:
                raise RegistryError(str(exc), permanent=True) from exc
            raise RegistryUnavailable(str(exc)) from exc
        return response.content

    def lookup(self, personal_id: str, *, request_id: str, official: str) -> CitizenRecord | None:
        """Return the citizen with PERSONAL_ID (XacMinhThongTinNhanThan), or None."""
        body = wire.lookup_request(
            request_id=request_id,
            service_code=self.service_code,
            integration_code=self.integration_code,
            unit_code=self.unit_code,
            official=official,
            personal_id=personal_id,
        )
        records = self._records(self._post(body, action=wire.LOOKUP))
        return next((r for r in records if r.personal_id == personal_id), None)

    def lookup_bulk(self, personal_ids: list[str], *, request_id: str, official: str) -> dict[str, CitizenRecord]:
        """Return the citizens found among PERSONAL_IDS (our bulk extension), keyed by ID."""
        if not personal_ids:
            return {}
        body = wire.lookup_bulk_request(
            request_id=request_id,
            service_code=self.service_code,
            integration_code=self.integration_code,
            unit_code=self.unit_code,
            official=official,
            personal_ids=personal_ids,
        )
        wanted = set(personal_ids)
        return {
            r.personal_id: r
            for r in self._records(self._post(body, action=wire.LOOKUP_BULK))
            if r.personal_id in wanted
        }

    def exists(self, personal_id: str, full_name: str, *, request_id: str, official: str, old_id: str = "") -> bool:
        """Return TonTai of XacThucThongTinCongDan."""
        body = wire.verify_request(
            request_id=request_id,
            service_code=self.service_code,
            official=official,
            personal_id=personal_id,
            old_id=old_id,
            full_name=full_name,
        )
        try:
            return wire.parse_exists(self._post(body, action=wire.VERIFY))
        except wire.WireError as exc:
            raise RegistryUnavailable(f"population registry answer unusable: {exc}") from exc

    @staticmethod
    def _records(data: bytes) -> list[CitizenRecord]:
        try:
            return wire.parse_collection(data)[0]
        except wire.WireError as exc:
            raise RegistryUnavailable(f"population registry answer unusable: {exc}") from exc
