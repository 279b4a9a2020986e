"""The population-database gateway: the one door through which every call to C06 goes.

Each call names its caller (system, acting user, purpose, dossier or consent reference); the
gateway checks it, consumes the caller's quota, goes through a circuit breaker and (for single
look-ups) a short-lived cache to the registry client, and appends one hash-chained entry to the
message log (X-Road style: who, why, request and answer digests, timing, outcome; no personal
data). The registry being unavailable is an answer ("unavailable"), distinct from "not found",
never an exception to the caller.
"""

from __future__ import annotations

import dataclasses
import hashlib
import hmac
import json
import logging
import threading
import time
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.core.cache import cache
from django.db import transaction
from django.db.models import F
from django.utils import timezone
from django.utils.translation import gettext as _

from integrations.gateway_models import GatewayClient, GatewayLogHead, GatewayMessage, GatewayQuotaUsage
from integrations.population_registry import get_population_registry
from integrations.population_registry.base import CitizenRecord, RegistryError, RegistryUnavailable
from integrations.reconciliation_matching import (
    INVALID_INPUT,
    MATCHED,
    OTHER,
    Verdict,
    classify,
    clean_personal_id,
    id_problem,
)
from portal.crypto import pii_hash
from portal.hashchain import GENESIS, ChainReport, chain_digest, chain_verify

logger = logging.getLogger("integrations.gateway")

INTERNAL_SYSTEM = "portal"

FOUND = "found"
NOT_FOUND = "not_found"
UNAVAILABLE = "unavailable"
VERIFIED = "verified"
MISMATCH = "mismatch"
INVALID = "invalid"


class GatewayRefused(Exception):
    """The gateway refuses the call before it reaches the registry (a 4xx for the API)."""

    def __init__(self, code: str, message: str, *, status: int = 400) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.status = status


@dataclass(frozen=True)
class Caller:
    """Who calls, on whose behalf and why. Every gateway call needs one."""

    system: str
    acting_user: str
    purpose: str
    dossier_code: str = ""
    consent_reference: str = ""
    client: GatewayClient | None = None

    def check(self, *, needs_reference: bool) -> None:
        if not self.purpose.strip():
            raise GatewayRefused("purpose_required", _("A purpose is required for every population-database call."))
        if not self.acting_user.strip():
            raise GatewayRefused("acting_user_required", _("The acting user is required."))
        if needs_reference and not (self.dossier_code.strip() or self.consent_reference.strip()):
            raise GatewayRefused("reference_required", _("A look-up needs a dossier code or a consent reference."))


@dataclass(frozen=True)
class LookupOutcome:
    status: str  # found | not_found | unavailable | invalid
    request_id: str
    record: CitizenRecord | None = None
    cached: bool = False


@dataclass(frozen=True)
class VerifyOutcome:
    status: str  # verified | mismatch | not_found | unavailable | invalid
    request_id: str
    verdict: Verdict | None = None


@dataclass(frozen=True)
class BulkItem:
    reference: str
    personal_id: str
    full_name: str
    birth_date: str


# --- circuit breaker ---------------------------------------------------------------------------


class CircuitBreaker:
    """Closed -> open after `failures` consecutive failures -> half-open after `reset_seconds`
    (one trial call) -> closed on success, open again on failure. Per process; thread-safe."""

    def __init__(self, *, failures: int, reset_seconds: float, clock: Callable[[], float] = time.monotonic) -> None:
        self.threshold = max(1, failures)
        self.reset_seconds = reset_seconds
        self.clock = clock
        self._lock = threading.Lock()
        self.failures = 0
        self.opened_at: float | None = None
        self._trial = False

    @property
    def state(self) -> str:
        if self.opened_at is None:
            return "closed"
        return "half_open" if self.clock() - self.opened_at >= self.reset_seconds else "open"

    def allow(self) -> bool:
        with self._lock:
            if self.opened_at is None:
                return True
            if self.clock() - self.opened_at < self.reset_seconds or self._trial:
                return False
            self._trial = True  # half-open: let exactly one call through
            return True

    def success(self) -> None:
        with self._lock:
            self.failures, self.opened_at, self._trial = 0, None, False

    def failure(self) -> None:
        with self._lock:
            self.failures += 1
            self._trial = False
            if self.failures >= self.threshold or self.opened_at is not None:
                self.opened_at = self.clock()


_breakers: dict[tuple[int, float], CircuitBreaker] = {}
_breakers_lock = threading.Lock()


def get_breaker() -> CircuitBreaker:
    key = (settings.GATEWAY_BREAKER_FAILURES, settings.GATEWAY_BREAKER_RESET_SECONDS)
    with _breakers_lock:
        if key not in _breakers:
            _breakers[key] = CircuitBreaker(failures=key[0], reset_seconds=key[1])
        return _breakers[key]


def gateway_reset() -> None:
    """Close every breaker (tests, or an operator after an incident)."""
    with _breakers_lock:
        _breakers.clear()


# --- message log -------------------------------------------------------------------------------


def keyed_digest(value: Any) -> str:
    """Return HMAC-SHA256 (the PII hash key) of VALUE's canonical JSON: digests of personal data
    cannot be reversed by trying every ID number."""
    body = json.dumps(value, sort_keys=True, ensure_ascii=False, separators=(",", ":"), default=str)
    return hmac.new(settings.PII_HASH_KEY.encode(), body.encode(), hashlib.sha256).hexdigest()


def _message_fields(message: GatewayMessage) -> dict[str, Any]:
    return {
        "at": message.at.isoformat(),
        "client": message.client_id,
        "caller": message.caller,
        "acting_user": message.acting_user,
        "purpose": message.purpose,
        "dossier_code": message.dossier_code,
        "consent_reference": message.consent_reference,
        "operation": message.operation,
        "request_id": message.request_id,
        "subject_hash": message.subject_hash,
        "record_count": message.record_count,
        "request_digest": message.request_digest,
        "response_digest": message.response_digest,
        "duration_ms": message.duration_ms,
        "outcome": message.outcome,
    }


def message_log_append(
    *,
    caller: Caller,
    operation: str,
    request_id: str,
    outcome: str,
    request_digest: str,
    response_digest: str = "",
    subject_hash: str = "",
    record_count: int = 1,
    duration_ms: int = 0,
) -> GatewayMessage:
    """Append one entry to the message log, chained to the one before (appends are serialised)."""
    with transaction.atomic():
        head = GatewayLogHead.objects.select_for_update().filter(pk=1).first()
        if head is None:  # created by migration 0002; a flushed test database may lack it
            GatewayLogHead.objects.get_or_create(pk=1, defaults={"last_hash": GENESIS})
            head = GatewayLogHead.objects.select_for_update().get(pk=1)
        message = GatewayMessage(
            at=timezone.now(),
            client=caller.client,
            caller=caller.system[:60],
            acting_user=caller.acting_user[:150],
            purpose=caller.purpose[:300],
            dossier_code=caller.dossier_code[:80],
            consent_reference=caller.consent_reference[:120],
            operation=operation,
            request_id=request_id,
            subject_hash=subject_hash,
            record_count=record_count,
            request_digest=request_digest,
            response_digest=response_digest,
            duration_ms=duration_ms,
            outcome=outcome,
            prev_hash=head.last_hash,
        )
        message.hash = chain_digest(message.prev_hash, _message_fields(message))
        message.save(force_insert=True)
        GatewayLogHead.objects.filter(pk=1).update(last_hash=message.hash, count=F("count") + 1)
    return message


def message_log_verify(*, batch: int = 5000) -> ChainReport:
    """Recompute the chain in order; report the first entry whose link or digest is wrong."""
    head = GatewayLogHead.objects.filter(pk=1).first()
    return chain_verify(
        entries=GatewayMessage.objects.order_by("id").iterator(chunk_size=batch),
        fields=_message_fields,
        head_hash=head.last_hash if head else None,
        head_count=head.count if head else None,
    )


# --- quota -------------------------------------------------------------------------------------


def quota_consume(*, client: GatewayClient | None, records: int) -> None:
    """Count RECORDS against the client's daily quota; refuse (429) when it would be exceeded."""
    if client is None:
        return
    day = timezone.localdate()
    with transaction.atomic():
        usage, _created = GatewayQuotaUsage.objects.get_or_create(client=client, day=day)
        usage = GatewayQuotaUsage.objects.select_for_update().get(pk=usage.pk)
        if client.daily_quota and usage.used + records > client.daily_quota:
            raise GatewayRefused(
                "quota_exhausted",
                _("Daily quota of %(quota)s records exhausted (%(used)s used).")
                % {"quota": client.daily_quota, "used": usage.used},
                status=429,
            )
        GatewayQuotaUsage.objects.filter(pk=usage.pk).update(used=F("used") + records)


# --- operations --------------------------------------------------------------------------------


def _new_request_id() -> str:
    return uuid.uuid4().hex


def _cache_key(personal_id: str) -> str:
    return f"popgw:v1:{pii_hash(personal_id)}"


def _registry_call(fn: Callable[[], Any]) -> Any:
    """Run FN through the breaker; raise RegistryUnavailable when the circuit is open or FN fails transiently."""
    breaker = get_breaker()
    if not breaker.allow():
        raise RegistryUnavailable("circuit open: the population database failed repeatedly")
    try:
        result = fn()
    except RegistryUnavailable:
        breaker.failure()
        raise
    except RegistryError:
        breaker.success()  # the registry answered: it is up, the request was wrong
        raise
    breaker.success()
    return result


def _record_digest(records: Sequence[CitizenRecord | None]) -> str:
    return keyed_digest([dataclasses.asdict(r) if r is not None else None for r in records])


def gateway_lookup(*, caller: Caller, personal_id: str) -> LookupOutcome:
    """Look up one citizen by personal ID (with a purpose and a dossier or consent reference)."""
    caller.check(needs_reference=True)
    personal_id = clean_personal_id(personal_id)
    if id_problem(personal_id) is not None:
        raise GatewayRefused("invalid_personal_id", _("The personal ID number is not a valid 12-digit number."))
    quota_consume(client=caller.client, records=1)
    request_id = _new_request_id()
    subject = pii_hash(personal_id)
    request_digest = keyed_digest({"op": "lookup", "id": personal_id})
    cached = cache.get(_cache_key(personal_id)) if settings.GATEWAY_CACHE_SECONDS else None
    if cached is not None:
        record = CitizenRecord(**cached)
        message_log_append(
            caller=caller,
            operation="lookup-cached",
            request_id=request_id,
            outcome=GatewayMessage.Outcome.FOUND,
            request_digest=request_digest,
            response_digest=_record_digest([record]),
            subject_hash=subject,
        )
        return LookupOutcome(FOUND, request_id, record, cached=True)
    registry = get_population_registry()
    started = time.monotonic()
    status, record = UNAVAILABLE, None
    try:
        record = _registry_call(
            lambda: registry.lookup(personal_id, request_id=request_id, official=caller.acting_user)
        )
        status = FOUND if record is not None else NOT_FOUND
    except RegistryUnavailable as exc:
        logger.warning("population registry unavailable for request %s: %s", request_id, exc)
    except RegistryError as exc:
        logger.warning("population registry refused request %s: %s", request_id, exc)
        status = "refused"
    duration = round((time.monotonic() - started) * 1000)
    message_log_append(
        caller=caller,
        operation="lookup",
        request_id=request_id,
        outcome={FOUND: "found", NOT_FOUND: "not_found", UNAVAILABLE: "unavailable"}.get(status, "refused"),
        request_digest=request_digest,
        response_digest=_record_digest([record]) if status in (FOUND, NOT_FOUND) else "",
        subject_hash=subject,
        duration_ms=duration,
    )
    if record is not None and settings.GATEWAY_CACHE_SECONDS:
        cache.set(_cache_key(personal_id), dataclasses.asdict(record), settings.GATEWAY_CACHE_SECONDS)
    if status == "refused":
        return LookupOutcome(UNAVAILABLE, request_id)
    return LookupOutcome(status, request_id, record)


def _verdict_status(verdict: Verdict) -> str:
    if verdict.sub_reason == INVALID_INPUT:
        return INVALID
    if verdict.category == MATCHED:
        return VERIFIED
    if verdict.category == "id_not_found":
        return NOT_FOUND
    return MISMATCH


def gateway_verify(*, caller: Caller, personal_id: str, full_name: str, birth_date: str) -> VerifyOutcome:
    """Verify one record (ID + full name + date of birth); answer a per-field verdict."""
    caller.check(needs_reference=False)
    personal_id = clean_personal_id(personal_id)
    problem = id_problem(personal_id)
    if problem is not None:
        return VerifyOutcome(INVALID if problem == INVALID_INPUT else MISMATCH, "", Verdict(OTHER, problem))
    lookup_caller = dataclasses.replace(caller, consent_reference=caller.consent_reference or "verification")
    outcome = gateway_lookup(caller=lookup_caller, personal_id=personal_id)
    if outcome.status == UNAVAILABLE:
        return VerifyOutcome(UNAVAILABLE, outcome.request_id)
    verdict = classify(full_name=full_name, birth_date=birth_date, record=outcome.record)
    return VerifyOutcome(_verdict_status(verdict), outcome.request_id, verdict)


def gateway_lookup_many(*, caller: Caller, personal_ids: list[str]) -> dict[str, CitizenRecord]:
    """Look up many well-formed IDs with the bulk extension (one log entry per registry call).
    Raise RegistryUnavailable when the registry cannot answer (the caller retries later)."""
    caller.check(needs_reference=False)
    found: dict[str, CitizenRecord] = {}
    registry = get_population_registry()
    size = max(1, settings.POPULATION_REGISTRY_BULK_SIZE)
    for start in range(0, len(personal_ids), size):
        batch = personal_ids[start : start + size]
        request_id = _new_request_id()
        started = time.monotonic()
        outcome, answer = "unavailable", None
        try:
            answer = _registry_call(
                lambda b=batch, r=request_id: registry.lookup_bulk(b, request_id=r, official=caller.acting_user)
            )
            outcome = "found"
        except RegistryError as exc:
            outcome = "unavailable" if isinstance(exc, RegistryUnavailable) else "refused"
            raise RegistryUnavailable(str(exc)) from exc
        finally:
            message_log_append(
                caller=caller,
                operation="lookup-bulk",
                request_id=request_id,
                outcome=outcome,
                request_digest=keyed_digest({"op": "lookup-bulk", "ids": batch}),
                response_digest=keyed_digest(sorted(answer)) if answer is not None else "",
                record_count=len(batch),
                duration_ms=round((time.monotonic() - started) * 1000),
            )
        found.update(answer)
    return found


def gateway_verify_bulk(*, caller: Caller, items: Sequence[BulkItem]) -> list[VerifyOutcome]:
    """Verify many records; the registry is asked once per bulk batch. Unavailable answers every item."""
    caller.check(needs_reference=False)
    quota_consume(client=caller.client, records=len(items))
    cleaned = [clean_personal_id(item.personal_id) for item in items]
    wanted = sorted({pid for pid in cleaned if id_problem(pid) is None})
    try:
        found = gateway_lookup_many(caller=caller, personal_ids=wanted)
    except RegistryUnavailable:
        return [VerifyOutcome(UNAVAILABLE, "") for _ in items]
    outcomes = []
    for item, pid in zip(items, cleaned, strict=True):
        problem = id_problem(pid)
        if problem is not None:
            outcomes.append(
                VerifyOutcome(INVALID if problem == INVALID_INPUT else MISMATCH, "", Verdict(OTHER, problem))
            )
            continue
        verdict = classify(full_name=item.full_name, birth_date=item.birth_date, record=found.get(pid))
        outcomes.append(VerifyOutcome(_verdict_status(verdict), "", verdict))
    return outcomes
