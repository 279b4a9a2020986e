"""Per-dossier facts, their contribution to the daily counters, and keeping both current.

A dossier's fact is recomputed from its own data (the dossier row, its clock ledger and payment
events, its documents, its result document, national-portal delivery and ratings). The fact keeps
the exact contribution it added to DailyAggregate, so a recomputation adds only the difference:
running it twice, or on a dossier that did not change, changes nothing.

`quality_refresh` (a periodic Celery task) finds the dossiers that changed since its watermark: new
DossierEvent rows by id, plus a time window that also catches late commits and the changes that
write no event (delivery to the national portal, a rendered result, a rating, a scanned document).
`quality_rebuild` recomputes everything and compares with what the refresh had kept.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections import Counter, defaultdict
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field

from django.apps import apps
from django.conf import settings
from django.db import connection, transaction
from django.db.models import Count, Max, Q
from django.db.models.functions import TruncDate
from django.utils import timezone

from integrations.models import OutboxMessage
from procedures import clock
from procedures.models import Dossier, DossierDocument, DossierEvent, OfficialDocument
from quality.indicators import COUNTERS
from quality.models import DailyAggregate, DossierFact, MonthlyAggregate, RefreshState

logger = logging.getLogger("quality")

NATIONAL_TOPIC = "national_portal.dossier"  # procedures.lifecycle.NATIONAL_TOPIC
ONLINE_CHANNELS = (Dossier.Channel.ONLINE, Dossier.Channel.NATIONAL_PORTAL)
E = DossierEvent.Kind
C = DossierEvent.ClockEffect
RUN_EFFECTS = (C.START, C.RESUME, C.RESTART)
HALT_EFFECTS = (C.PAUSE, C.STOP)

Key = tuple[dt.date, int, int]  # (day, agency id, procedure id)


def rating_model():
    """DossierRating (issue 8) when installed; None keeps the satisfaction indicator empty."""
    try:
        return apps.get_model("procedures", "DossierRating")
    except LookupError:
        return None


def local_day(moment: dt.datetime | None) -> dt.date | None:
    return timezone.localtime(moment).date() if moment is not None else None


@dataclass
class FactData:
    dossier_id: int
    agency_id: int
    procedure_id: int
    submitted_day: dt.date
    online: bool = False
    received_day: dt.date | None = None
    digitised: bool = False
    reused: bool = False
    synced: bool = False
    resolved_day: dt.date | None = None
    outcome: str = ""
    resolution_mdays: int = 0
    e_result: bool = False
    refused_day: dt.date | None = None
    withdrawn_day: dt.date | None = None
    stopped_day: dt.date | None = None
    paid_day: dt.date | None = None
    paid_online: bool = False
    ratings: list[tuple[dt.date, bool]] = field(default_factory=list)

    def contribution(self) -> dict[str, dict[str, int]]:
        """{ISO day: {counter: n}} (non-zero counters only)."""
        c: dict[dt.date, Counter] = defaultdict(Counter)
        c[self.submitted_day]["submitted"] += 1
        if self.online:
            c[self.submitted_day]["submitted_online"] += 1
        if self.received_day is not None:
            day = c[self.received_day]
            day["received"] += 1
            day["received_online"] += int(self.online)
            day["received_digitised"] += int(self.digitised)
            day["received_reused"] += int(self.reused)
            day["synced"] += int(self.synced)
        if self.resolved_day is not None:
            day = c[self.resolved_day]
            day["resolved"] += 1
            day[f"resolved_{self.outcome}"] += 1
            day["resolution_mdays"] += self.resolution_mdays
            day["e_result"] += int(self.e_result)
        for name, value in (("refused", self.refused_day), ("withdrawn", self.withdrawn_day)):
            if value is not None:
                c[value][name] += 1
        if self.stopped_day is not None:
            c[self.stopped_day]["stopped"] += 1
        if self.paid_day is not None:
            c[self.paid_day]["paid"] += 1
            c[self.paid_day]["paid_online"] += int(self.paid_online)
        for day, satisfied in self.ratings:
            c[day]["ratings"] += 1
            c[day]["ratings_satisfied"] += int(satisfied)
        return {
            day.isoformat(): {k: v for k, v in counts.items() if v}
            for day, counts in sorted(c.items())
            if any(counts.values())
        }


def outcome_of(*, issued: dt.datetime, due: dt.datetime | None) -> str:
    """early: issued on a day before the due day; on_time: by the due time; late: after it."""
    if due is None:
        return "on_time"
    if issued > due:
        return "late"
    if local_day(issued) < local_day(due):
        return "early"
    return "on_time"


def working_days_net(calendar, ledger: list[tuple[str, dt.datetime]], end: dt.datetime) -> float:
    """Working days during which the clock ran (start/resume/restart until pause/stop, or END)."""
    total = 0.0
    running: dt.datetime | None = None
    for effect, at in ledger:
        if effect in RUN_EFFECTS and running is None:
            running = at
        elif effect in HALT_EFFECTS and running is not None:
            total += max(clock.working_days_between(calendar, running, at), 0.0)
            running = None
    if running is not None and end > running:
        total += max(clock.working_days_between(calendar, running, end), 0.0)
    return total


def facts_compute(dossier_ids: Iterable[int]) -> dict[int, FactData]:
    """Compute the facts of DOSSIER_IDS from the source tables (a handful of queries per batch)."""
    ids = list(dossier_ids)
    if not ids:
        return {}
    dossiers = list(
        Dossier.objects.filter(pk__in=ids)
        .select_related("agency")
        .only(
            "pk", "code", "agency_id", "agency__working_hours", "procedure_id", "channel", "state",
            "submitted_at", "received_at", "due_at", "result_issued_at", "finished_at", "result_file",
        )
    )  # fmt: skip
    ledgers: dict[int, list[tuple[str, dt.datetime]]] = defaultdict(list)
    payments: dict[int, list[tuple[dt.datetime, bool]]] = defaultdict(list)
    for dossier_id, kind, effect, at, data in (
        DossierEvent.objects.filter(dossier_id__in=ids)
        .filter(~Q(clock_effect="") | Q(kind=E.PAYMENT_CONFIRMED))
        .order_by("dossier_id", "at", "id")
        .values_list("dossier_id", "kind", "clock_effect", "at", "data")
    ):
        if effect:
            ledgers[dossier_id].append((effect, at))
        if kind == E.PAYMENT_CONFIRMED:
            payments[dossier_id].append((at, bool((data or {}).get("online"))))
    sources: dict[int, set[str]] = defaultdict(set)
    for dossier_id, source in (
        DossierDocument.objects.filter(dossier_id__in=ids)
        .exclude(source=DossierDocument.Source.SUPPLEMENT)
        .values_list("dossier_id", "source")
        .distinct()
    ):
        sources[dossier_id].add(source)
    e_results = set(
        OfficialDocument.objects.filter(dossier_id__in=ids, kind=OfficialDocument.Kind.RESULT).values_list(
            "dossier_id", flat=True
        )
    )
    codes = {d.code: d.pk for d in dossiers if d.code}
    synced = {
        codes[key]
        for key in OutboxMessage.objects.filter(
            topic=NATIONAL_TOPIC, key__in=list(codes), state=OutboxMessage.State.DELIVERED
        )
        .values_list("key", flat=True)
        .distinct()
    }
    ratings: dict[int, list[tuple[dt.date, bool]]] = defaultdict(list)
    rating = rating_model()
    if rating is not None:
        for dossier_id, rated_at, score in (
            rating.objects.filter(dossier_id__in=ids)
            .order_by("rated_at", "pk")
            .values_list("dossier_id", "rated_at", "score")
        ):
            ratings[dossier_id].append((local_day(rated_at), score >= 2))
    calendars: dict[str, object] = {}
    result: dict[int, FactData] = {}
    for d in dossiers:
        fact = FactData(
            dossier_id=d.pk,
            agency_id=d.agency_id,
            procedure_id=d.procedure_id,
            submitted_day=local_day(d.submitted_at),
            online=d.channel in ONLINE_CHANNELS,
            received_day=local_day(d.received_at),
            digitised=bool(sources.get(d.pk)),
            reused=DossierDocument.Source.REUSED in sources.get(d.pk, ()),
            synced=d.pk in synced,
            ratings=ratings.get(d.pk, []),
        )
        if d.received_at is not None and d.result_issued_at is not None:
            fact.resolved_day = local_day(d.result_issued_at)
            fact.outcome = outcome_of(issued=d.result_issued_at, due=d.due_at)
            hours = d.agency.working_hours
            calendar = calendars.get(hours) or calendars.setdefault(hours, clock.calendar_load(working_hours=hours))
            days = working_days_net(calendar, ledgers.get(d.pk, []), d.result_issued_at)
            fact.resolution_mdays = round(days * 1000)
            fact.e_result = d.pk in e_results or bool(d.result_file)
        if d.state == Dossier.State.REFUSED:
            fact.refused_day = local_day(d.finished_at or d.submitted_at)
        elif d.state == Dossier.State.WITHDRAWN:
            fact.withdrawn_day = local_day(d.finished_at or d.submitted_at)
        elif d.state == Dossier.State.STOPPED:
            fact.stopped_day = local_day(d.finished_at or d.received_at or d.submitted_at)
        paid = payments.get(d.pk)
        if paid:
            fact.paid_day = local_day(paid[0][0])
            fact.paid_online = any(online for _at, online in paid)
        result[d.pk] = fact
    return result


# --- applying differences --------------------------------------------------------------------------


def _add(totals: dict[Key, Counter], agency_id: int, procedure_id: int, contribution: dict, sign: int) -> None:
    for day, counts in contribution.items():
        key = (dt.date.fromisoformat(day), agency_id, procedure_id)
        bucket = totals[key]
        for name, n in counts.items():
            bucket[name] += sign * n


def month_of(day: dt.date) -> dt.date:
    return day.replace(day=1)


def _upsert_deltas(deltas: dict[Key, Counter]) -> None:
    """Add DELTAS to the daily counters and to the monthly ones (one upsert per chunk of rows)."""
    months: dict[Key, Counter] = defaultdict(Counter)
    for (day, agency_id, procedure_id), counts in deltas.items():
        months[(month_of(day), agency_id, procedure_id)].update(counts)
    _upsert(DailyAggregate._meta.db_table, "day", deltas)
    _upsert(MonthlyAggregate._meta.db_table, "month", months)


def _upsert(table: str, key: str, deltas: dict[Key, Counter]) -> None:
    rows = [(k, c) for k, c in deltas.items() if any(c.values())]
    if not rows:
        return
    columns = ", ".join(COUNTERS)
    updates = ", ".join(f"{c} = {table}.{c} + EXCLUDED.{c}" for c in COUNTERS)
    placeholders = "(" + ", ".join(["%s"] * (3 + len(COUNTERS))) + ")"
    with connection.cursor() as cursor:
        for start in range(0, len(rows), 500):
            chunk = rows[start : start + 500]
            params: list = []
            for (day, agency_id, procedure_id), counts in chunk:
                params += [day, agency_id, procedure_id, *(counts.get(c, 0) for c in COUNTERS)]
            # nosemgrep: sql-built-from-strings  table/column names from code; values are parameters
            cursor.execute(
                f"INSERT INTO {table} ({key}, agency_id, procedure_id, {columns}) VALUES "  # noqa: S608  # nosec B608  # names from code
                + ", ".join([placeholders] * len(chunk))
                + f" ON CONFLICT ({key}, agency_id, procedure_id) DO UPDATE SET {updates}",  # nosec B608  # names from code
                params,
            )


FACT_FIELDS = [
    "agency", "procedure", "submitted_day", "online", "received_day", "digitised", "reused", "synced",
    "resolved_day", "outcome", "resolution_mdays", "e_result", "refused_day", "withdrawn_day", "stopped_day",
    "paid_day", "paid_online", "contribution", "computed_at",
]  # fmt: skip


def _fact_row(fact: FactData, contribution: dict, now) -> DossierFact:
    return DossierFact(
        dossier_id=fact.dossier_id,
        agency_id=fact.agency_id,
        procedure_id=fact.procedure_id,
        submitted_day=fact.submitted_day,
        online=fact.online,
        received_day=fact.received_day,
        digitised=fact.digitised,
        reused=fact.reused,
        synced=fact.synced,
        resolved_day=fact.resolved_day,
        outcome=fact.outcome,
        resolution_mdays=fact.resolution_mdays,
        e_result=fact.e_result,
        refused_day=fact.refused_day,
        withdrawn_day=fact.withdrawn_day,
        stopped_day=fact.stopped_day,
        paid_day=fact.paid_day,
        paid_online=fact.paid_online,
        contribution=contribution,
        computed_at=now,
    )


def facts_refresh(dossier_ids: Iterable[int], *, batch: int = 1000) -> int:
    """Recompute the facts of DOSSIER_IDS and add the differences to the daily counters (inside a transaction)."""
    ids = sorted(set(dossier_ids))
    now = timezone.now()
    changed = 0
    for start in range(0, len(ids), batch):
        chunk = ids[start : start + batch]
        new = facts_compute(chunk)
        old = {
            f["dossier_id"]: f
            for f in DossierFact.objects.filter(dossier_id__in=chunk).values(
                "dossier_id", "agency_id", "procedure_id", "contribution"
            )
        }
        deltas: dict[Key, Counter] = defaultdict(Counter)
        rows = []
        for dossier_id, fact in new.items():
            contribution = fact.contribution()
            before = old.get(dossier_id)
            if before is not None:
                if (before["contribution"], before["agency_id"], before["procedure_id"]) == (
                    contribution,
                    fact.agency_id,
                    fact.procedure_id,
                ):
                    rows.append(_fact_row(fact, contribution, now))
                    continue
                _add(deltas, before["agency_id"], before["procedure_id"], before["contribution"], -1)
            _add(deltas, fact.agency_id, fact.procedure_id, contribution, +1)
            rows.append(_fact_row(fact, contribution, now))
            changed += 1
        _upsert_deltas(deltas)
        DossierFact.objects.bulk_create(
            rows, update_conflicts=True, unique_fields=["dossier"], update_fields=FACT_FIELDS, batch_size=1000
        )
    return changed


def _state_locked() -> RefreshState:
    RefreshState.objects.get_or_create(pk=1)
    return RefreshState.objects.select_for_update().get(pk=1)


def dirty_dossiers(*, after_event_id: int, since: dt.datetime | None) -> tuple[set[int], int]:
    """Dossiers changed since the watermark, and the new event watermark."""
    events = DossierEvent.objects.filter(pk__gt=after_event_id)
    if since is not None:
        events = DossierEvent.objects.filter(Q(pk__gt=after_event_id) | Q(at__gte=since))
    found = events.aggregate(last=Max("pk"))["last"]
    ids = set(events.values_list("dossier_id", flat=True).distinct())
    if since is not None:
        keys = set(
            OutboxMessage.objects.filter(
                topic=NATIONAL_TOPIC, state=OutboxMessage.State.DELIVERED, delivered_at__gte=since
            ).values_list("key", flat=True)
        )
        if keys:
            ids |= set(Dossier.objects.filter(code__in=keys).values_list("pk", flat=True))
        ids |= set(
            OfficialDocument.objects.filter(kind=OfficialDocument.Kind.RESULT, rendered_at__gte=since).values_list(
                "dossier_id", flat=True
            )
        )
        ids |= set(DossierDocument.objects.filter(uploaded_at__gte=since).values_list("dossier_id", flat=True))
        rating = rating_model()
        if rating is not None:
            ids |= set(rating.objects.filter(updated_at__gte=since).values_list("dossier_id", flat=True))
    return ids, max(found or 0, after_event_id)


def quality_refresh(*, now: dt.datetime | None = None) -> dict[str, int]:
    """Bring the facts and daily counters up to date with what changed since the last run (idempotent)."""
    now = now or timezone.now()
    with transaction.atomic():
        state = _state_locked()
        since = None
        if state.last_run_at is not None:
            since = min(state.last_run_at, now) - dt.timedelta(seconds=settings.QUALITY_REFRESH_OVERLAP_SECONDS)
        ids, last_event = dirty_dossiers(after_event_id=state.last_event_id, since=since)
        changed = facts_refresh(ids)
        state.last_event_id = last_event
        state.last_run_at = now
        state.dossiers_refreshed += len(ids)
        state.save()
    return {"dossiers": len(ids), "changed": changed, "last_event_id": last_event}


# --- rebuild and recount ----------------------------------------------------------------------------


def table_totals(*, monthly: bool = False) -> dict[Key, Counter]:
    """The daily (or monthly) counters as stored (rows that are all zero left out)."""
    model, key = (MonthlyAggregate, "month") if monthly else (DailyAggregate, "day")
    result: dict[Key, Counter] = {}
    for row in model.objects.values(key, "agency_id", "procedure_id", *COUNTERS).iterator(chunk_size=5000):
        counts = Counter({c: row[c] for c in COUNTERS if row[c]})
        if counts:
            result[(row[key], row["agency_id"], row["procedure_id"])] = counts
    return result


def by_month(totals: dict[Key, Counter]) -> dict[Key, Counter]:
    """Daily totals rolled up to months (to compare with the monthly table)."""
    out: dict[Key, Counter] = defaultdict(Counter)
    for (day, agency_id, procedure_id), counts in totals.items():
        out[(month_of(day), agency_id, procedure_id)].update(counts)
    return {k: Counter({n: v for n, v in c.items() if v}) for k, c in out.items() if any(c.values())}


def _dossier_id_batches(batch: int) -> Iterator[list[int]]:
    last = 0
    while True:
        ids = list(Dossier.objects.filter(pk__gt=last).order_by("pk").values_list("pk", flat=True)[:batch])
        if not ids:
            return
        last = ids[-1]
        yield ids


def recount(*, batch: int = 2000, store: bool = False) -> dict[Key, Counter]:
    """Recount every counter from the dossiers themselves; with STORE, also replace every fact row."""
    totals: dict[Key, Counter] = defaultdict(Counter)
    now = timezone.now()
    for ids in _dossier_id_batches(batch):
        facts = facts_compute(ids)
        rows = []
        for fact in facts.values():
            contribution = fact.contribution()
            _add(totals, fact.agency_id, fact.procedure_id, contribution, +1)
            if store:
                rows.append(_fact_row(fact, contribution, now))
        if store:
            DossierFact.objects.bulk_create(
                rows, update_conflicts=True, unique_fields=["dossier"], update_fields=FACT_FIELDS, batch_size=1000
            )
    return {k: Counter({n: v for n, v in c.items() if v}) for k, c in totals.items() if any(c.values())}


def sql_recount() -> dict[Key, Counter]:
    """An independent count of the simple counters straight from the dossier table (SQL GROUP BY)."""
    tz = timezone.get_current_timezone()
    totals: dict[Key, Counter] = defaultdict(Counter)
    S = Dossier.State
    plans = [
        ("submitted", "submitted_at", Q()),
        ("received", "received_at", Q(received_at__isnull=False)),
        ("resolved", "result_issued_at", Q(received_at__isnull=False, result_issued_at__isnull=False)),
        ("refused", "finished_at", Q(state=S.REFUSED)),
        ("withdrawn", "finished_at", Q(state=S.WITHDRAWN)),
        ("stopped", "finished_at", Q(state=S.STOPPED)),
    ]
    for counter, column, condition in plans:
        rows = (
            Dossier.objects.filter(condition)
            .annotate(day=TruncDate(column, tzinfo=tz))
            .values("day", "agency_id", "procedure_id")
            .annotate(n=Count("id"))
        )
        for row in rows:
            totals[(row["day"], row["agency_id"], row["procedure_id"])][counter] += row["n"]
    return totals


def differences(a: dict[Key, Counter], b: dict[Key, Counter], counters: Iterable[str] = COUNTERS) -> list[str]:
    """Lines naming each (day, agency, procedure, counter) where A and B differ."""
    lines = []
    counters = list(counters)
    for key in sorted(set(a) | set(b)):
        left, right = a.get(key, Counter()), b.get(key, Counter())
        for name in counters:
            if left.get(name, 0) != right.get(name, 0):
                day, agency, procedure = key
                lines.append(
                    f"{day} agency={agency} procedure={procedure} {name}: {left.get(name, 0)} != {right.get(name, 0)}"
                )
    return lines


def grand_totals(totals: dict[Key, Counter]) -> Counter:
    out: Counter = Counter()
    for counts in totals.values():
        out.update(counts)
    return Counter({c: out.get(c, 0) for c in COUNTERS})


def quality_rebuild(*, batch: int = 2000) -> dict:
    """Recompute every fact and rewrite the daily counters; return what was kept before and the recount."""
    with transaction.atomic():
        state = _state_locked()
        started = timezone.now()
        last_event = DossierEvent.objects.aggregate(last=Max("pk"))["last"] or 0
        before = table_totals()
        counted = recount(batch=batch, store=True)
        # No stale fact can remain: a fact's dossier is a foreign key (deleting a dossier deletes its fact).
        DailyAggregate.objects.all().delete()
        DailyAggregate.objects.bulk_create(
            [
                DailyAggregate(day=day, agency_id=agency, procedure_id=procedure, **dict(counts))
                for (day, agency, procedure), counts in counted.items()
            ],
            batch_size=2000,
        )
        MonthlyAggregate.objects.all().delete()
        MonthlyAggregate.objects.bulk_create(
            [
                MonthlyAggregate(month=month, agency_id=agency, procedure_id=procedure, **dict(counts))
                for (month, agency, procedure), counts in by_month(counted).items()
            ],
            batch_size=2000,
        )
        state.last_event_id = last_event
        state.last_run_at = started
        state.last_rebuild_at = started
        state.save()
    return {"before": before, "recount": counted, "after": table_totals()}
