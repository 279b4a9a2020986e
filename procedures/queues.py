"""The staff workspace's queues: which dossiers each role works on, scoped by competence, keyset-paged.

A queue is a list of disjoint *branches*; each branch is a filter one index serves in (due_at, id)
order (dossier_queue_due, dossier_officer_due, dossier_consulted_due, dossier_received_by_due,
dossier_department_due, dossier_watch_due, dossier_agency_due). A page is read per branch with the
keyset condition and LIMIT, merged in Python, then the rows are loaded in one query, so page 1000
costs what page one costs. Dossiers without a due date (not yet received) come after the dated ones,
oldest first.

Scope follows competence (domain.md §1.2): the deciding agency, the agency consulted, and the unit
that received the dossier. Nothing here changes a dossier; reads of personal data are audited by
the views through selectors.personal_data_read.
"""

from __future__ import annotations

import datetime as dt
import heapq
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from django.core.cache import cache
from django.db import connection
from django.db.models import Q, QuerySet
from django.http import Http404
from django.utils import timezone
from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _

from portal.crypto import pii_hash
from procedures.models import Dossier, StaffProfile
from procedures.text import search_normalise

logger = logging.getLogger(__name__)
S = Dossier.State
R = StaffProfile.Role
PAGE_SIZE = 50
# Tab counts stop at this many (shown as "1000+"), so a backlog of 100,000 costs what 1,000 costs.
COUNT_CAP = 1000
# The columns a queue row shows (templates/workspace/_queue_results.html): nothing else is read, so
# personal data stays encrypted in the database and a page decodes 50 short rows, not 50 dossiers.
QUEUE_ROW_FIELDS = (
    "id",
    "code",
    "reference",
    "state",
    "stage_name",
    "applicant_name",
    "due_at",
    "watch",
    "clock_paused",
    "procedure__code",
    "procedure__name",
    "assigned_to__first_name",
    "assigned_to__last_name",
)
OPEN_STATES = [s for s in S.values if s not in Dossier.FINAL_STATES]


@dataclass(frozen=True)
class Queue:
    key: str
    label: Promise
    branches: Callable[[StaffProfile], list[Q]]
    hint: Promise | None = None
    bulk: tuple[str, ...] = ()


def _agency(p: StaffProfile) -> int:
    return p.agency_id


def _to_return(p: StaffProfile) -> list[Q]:
    # The unit that received the dossier hands the result back; without one, the deciding agency.
    return [
        Q(agency_id=p.agency_id, state=S.RESULT_READY, received_by_agency__isnull=True),
        Q(received_by_agency_id=p.agency_id, state=S.RESULT_READY),
    ]


def _department_or_agency(p: StaffProfile, state: str) -> list[Q]:
    if p.department_id:
        return [Q(department_id=p.department_id, state=state, agency_id=p.agency_id)]
    return [Q(agency_id=p.agency_id, state=state)]


def _overdue(p: StaffProfile) -> list[Q]:
    q = Q(agency_id=p.agency_id, watch=Dossier.Watch.OVERDUE, state__in=OPEN_STATES)
    if p.department_id and p.role == R.LEADER:
        q &= Q(department_id=p.department_id)
    return [q]


def _everything(p: StaffProfile) -> list[Q]:
    a = p.agency_id
    # Another agency's dossiers: while they wait for our opinion, and open ones we received for them.
    # (Each branch names its states so that its index, not the due_at index, serves it.)
    consulting = Q(consulted_agency_id=a, state=S.IN_CONSULTATION)
    return [
        Q(agency_id=a),
        consulting & ~Q(agency_id=a),
        Q(received_by_agency_id=a, state__in=OPEN_STATES) & ~Q(agency_id=a) & ~consulting,
    ]


QUEUES: dict[str, Queue] = {
    q.key: q
    for q in [
        Queue(
            "to_receive",
            _("New online dossiers to receive"),
            lambda p: [Q(agency_id=p.agency_id, state=S.SUBMITTED)],
            bulk=("receive",),
        ),
        Queue(
            "supplemented",
            _("Supplemented, to be checked"),
            lambda p: [Q(agency_id=p.agency_id, state=S.SUPPLEMENTED)],
        ),
        Queue("to_return", _("Results to hand back"), _to_return),
        Queue(
            "to_assign",
            _("To assign"),
            lambda p: [Q(agency_id=p.agency_id, state=S.RECEIVED)],
            bulk=("assign",),
        ),
        Queue(
            "awaiting_approval",
            _("Awaiting my approval"),
            lambda p: _department_or_agency(p, S.AWAITING_APPROVAL),
        ),
        Queue("overdue", _("Overdue in my unit"), _overdue),
        Queue("mine", _("Assigned to me"), lambda p: [Q(assigned_to_id=p.user_id, state=S.IN_PROCESSING)]),
        Queue("department", _("In my department"), lambda p: _department_or_agency(p, S.IN_PROCESSING)),
        Queue(
            "consultations",
            _("Sent to us for an opinion"),
            lambda p: [Q(consulted_agency_id=p.agency_id, state=S.IN_CONSULTATION)],
        ),
        Queue("to_sign", _("To sign"), lambda p: [Q(agency_id=p.agency_id, state=S.AWAITING_SIGNATURE)]),
        Queue("to_issue", _("To number and issue"), lambda p: [Q(agency_id=p.agency_id, state=S.AWAITING_ISSUE)]),
        Queue("all", _("All dossiers of the agency"), _everything, bulk=("receive", "assign")),
    ]
}

ROLE_QUEUES: dict[str, list[str]] = {
    R.RECEPTION_CLERK: ["to_receive", "supplemented", "to_return"],
    R.LEADER: ["to_assign", "awaiting_approval", "overdue", "consultations"],
    R.PROCESSING_OFFICER: ["mine", "department", "consultations"],
    R.SIGNING_AUTHORITY: ["to_sign"],
    R.RECORDS_CLERK: ["to_issue", "to_return"],
    R.ADMINISTRATOR: [
        "all",
        "to_receive",
        "supplemented",
        "to_assign",
        "awaiting_approval",
        "to_sign",
        "to_issue",
        "to_return",
        "overdue",
        "consultations",
    ],
}


def queues_for(profile: StaffProfile) -> list[Queue]:
    return [QUEUES[k] for k in ROLE_QUEUES.get(profile.role, [])]


def queue_for(profile: StaffProfile, key: str) -> Queue:
    """The queue KEY if the profile's role has it, else 404."""
    if key not in ROLE_QUEUES.get(profile.role, []):
        raise Http404
    return QUEUES[key]


# --- filters and search ---------------------------------------------------------------------


@dataclass
class QueueFilters:
    """What the user narrowed the queue to (all optional; parsed leniently, bad values ignored)."""

    procedure: int | None = None
    state: str = ""
    stage: str = ""
    due_from: dt.date | None = None
    due_to: dt.date | None = None
    overdue: bool = False
    q: str = ""
    national_id: str = ""  # only ever from a POST body
    errors: list[str] = field(default_factory=list)

    @property
    def active(self) -> bool:
        return bool(
            self.procedure or self.state or self.stage or self.due_from or self.due_to or self.overdue or self.q
        )

    @classmethod
    def from_query(cls, data, *, national_id: str = "") -> QueueFilters:
        f = cls()
        raw = (data.get("procedure") or "").strip()
        f.procedure = int(raw) if raw.isdigit() else None
        state = (data.get("state") or "").strip()
        f.state = state if state in S.values else ""
        f.stage = (data.get("stage") or "").strip()[:300]
        for name in ("due_from", "due_to"):
            raw = (data.get(name) or "").strip()
            if raw:
                try:
                    setattr(f, name, dt.date.fromisoformat(raw))
                except ValueError:
                    f.errors.append(name)
        f.overdue = (data.get("overdue") or "") in ("1", "on", "true")
        f.q = (data.get("q") or "").strip()[:100]
        f.national_id = "".join(ch for ch in (national_id or "") if ch.isalnum())[:20]
        return f


def _looks_like_code(text: str) -> bool:
    return any(ch.isdigit() for ch in text)


def _filtered(qs: QuerySet, f: QueueFilters) -> QuerySet:
    if f.procedure:
        qs = qs.filter(procedure_id=f.procedure)
    if f.state:
        qs = qs.filter(state=f.state)
    if f.stage:
        qs = qs.filter(stage_name=f.stage)
    tz = timezone.get_current_timezone()
    if f.due_from:
        qs = qs.filter(due_at__gte=dt.datetime.combine(f.due_from, dt.time.min, tzinfo=tz))
    if f.due_to:
        qs = qs.filter(due_at__lt=dt.datetime.combine(f.due_to + dt.timedelta(days=1), dt.time.min, tzinfo=tz))
    if f.overdue:
        qs = qs.filter(due_at__lt=timezone.now(), clock_paused=False)
    if f.q:
        if _looks_like_code(f.q):
            text = f.q.upper()
            qs = qs.filter(Q(code__startswith=text) | Q(reference=text))
        else:
            for word in search_normalise(f.q).split()[:6]:
                qs = qs.filter(applicant_name_search__contains=word)
    if f.national_id:
        qs = qs.filter(applicant_national_id_hash=pii_hash(f.national_id))
    return qs


# --- keyset pages ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Cursor:
    """Position after the last row shown: (due_at, id); due_at None for the undated tail."""

    due_at: dt.datetime | None
    id: int

    def encode(self) -> str:
        if self.due_at is None:
            return f"n.{self.id}"
        return f"{round(self.due_at.timestamp() * 1_000_000)}.{self.id}"

    @classmethod
    def decode(cls, text: str | None) -> Cursor | None:
        head, _sep, tail = (text or "").partition(".")
        if not tail.isdigit():
            return None
        if head == "n":
            return cls(None, int(tail))
        if not head.lstrip("-").isdigit():
            return None
        try:
            return cls(dt.datetime.fromtimestamp(int(head) / 1_000_000, tz=dt.UTC), int(tail))
        except (OverflowError, ValueError, OSError):
            return None


@dataclass
class QueuePage:
    rows: list[Dossier]
    next_cursor: str | None
    first: bool


def branch_querysets(qs: QuerySet, after: Cursor | None, limit: int) -> tuple[QuerySet | None, QuerySet]:
    """The two keyset reads of one branch: dated rows by (due_at, id), then undated rows by id."""
    dated = None
    if after is None or after.due_at is not None:
        dated = qs.filter(due_at__isnull=False)
        if after is not None:
            dated = dated.filter(due_at__gte=after.due_at).exclude(due_at=after.due_at, id__lte=after.id)
        dated = dated.order_by("due_at", "id").values_list("due_at", "id")[:limit]
    undated = qs.filter(due_at__isnull=True)
    if after is not None and after.due_at is None:
        undated = undated.filter(id__gt=after.id)
    return dated, undated.order_by("id").values_list("due_at", "id")


def _branch_keys(qs: QuerySet, after: Cursor | None, limit: int) -> list[tuple]:
    """(due_at, id) of the next LIMIT rows of one branch, dated rows first, then undated by id."""
    dated, undated = branch_querysets(qs, after, limit)
    keys: list[tuple] = list(dated) if dated is not None else []
    if len(keys) < limit:
        keys += list(undated[: limit - len(keys)])
    return keys


def _sort_key(key: tuple) -> tuple:
    due, pk = key
    return (due is None, due or dt.datetime.min.replace(tzinfo=dt.UTC), pk)


def queue_keys(
    *, profile: StaffProfile, queue: Queue, filters: QueueFilters, after: Cursor | None, size: int = PAGE_SIZE
) -> list[tuple]:
    """The bare keyset query: (due_at, id) of the page's rows plus one (to know a next page exists)."""
    merged = heapq.merge(
        *(
            _branch_keys(_filtered(Dossier.objects.filter(branch), filters), after, size + 1)
            for branch in queue.branches(profile)
        ),
        key=_sort_key,
    )
    return [k for _i, k in zip(range(size + 1), merged, strict=False)]


def queue_page(
    *, profile: StaffProfile, queue: Queue, filters: QueueFilters, after: Cursor | None, size: int = PAGE_SIZE
) -> QueuePage:
    keys = queue_keys(profile=profile, queue=queue, filters=filters, after=after, size=size)
    more = len(keys) > size
    keys = keys[:size]
    by_id = {
        d.pk: d
        for d in Dossier.objects.filter(pk__in=[pk for _due, pk in keys])
        .order_by()
        .select_related("procedure", "assigned_to")
        .only(*QUEUE_ROW_FIELDS)
    }
    rows = [by_id[pk] for _due, pk in keys if pk in by_id]
    next_cursor = Cursor(*keys[-1]).encode() if more and keys else None
    return QueuePage(rows=rows, next_cursor=next_cursor, first=after is None)


def count_queryset(branch: Q, filters: QueueFilters, limit: int) -> QuerySet:
    """At most LIMIT ids of a branch, unordered (the model's default ordering would sort them all)."""
    return _filtered(Dossier.objects.filter(branch), filters).order_by().values("pk")[:limit]


def queue_count(*, profile: StaffProfile, queue: Queue, filters: QueueFilters | None = None) -> int:
    """How many dossiers the queue holds, counted up to COUNT_CAP (+1 means "more than COUNT_CAP")."""
    return queue_counts(profile=profile, queues=[queue], filters=filters)[0]


def queue_counts(*, profile: StaffProfile, queues: list[Queue], filters: QueueFilters | None = None) -> list[int]:
    """Each queue's size, capped as queue_count caps it, read in ONE statement (one round trip).

    Each branch is its own LIMIT-capped subquery (the same index read as count_queryset's):
    SELECT (SELECT COUNT(*) FROM (<branch 1> LIMIT 1001) s), (SELECT COUNT(*) ...), ...
    """
    f = filters or QueueFilters()
    parts: list[str] = []
    params: list = []
    shape: list[int] = []
    for queue in queues:
        branches = queue.branches(profile)
        shape.append(len(branches))
        for branch in branches:
            sql, branch_params = count_queryset(branch, f, COUNT_CAP + 1).query.sql_with_params()
            # (SQL compiled by the ORM, values passed as parameters: nothing from the request is spliced.)
            parts.append(f"(SELECT COUNT(*) FROM ({sql}) AS s{len(parts)})")  # noqa: S608  # nosec B608  # ORM-compiled SQL, values as parameters
            params.extend(branch_params)
    if not parts:
        return []
    with connection.cursor() as cursor:
        # nosemgrep: sql-built-from-strings  ORM-compiled subqueries, values are parameters
        cursor.execute("SELECT " + ", ".join(parts), params)
        values = list(cursor.fetchone())
    counts = []
    for n in shape:
        counts.append(min(COUNT_CAP + 1, sum(values[:n])))
        values = values[n:]
    return counts


# Tab counts are cached briefly per (agency, department, user, role), under a generation number per
# agency: every transition makes the counts of the agencies that see the dossier stale after it
# commits (procedures.lifecycle calls queue_counts_changed), so the next page recounts. Changes made
# outside the lifecycle (new submissions, the deadline watch) show within TAB_COUNTS_TTL seconds.
# With several processes the cache must be shared (CACHE_URL, a Redis cache) for the bump to reach all.
TAB_COUNTS_TTL = 20


def _generation_key(agency_id: int) -> str:
    return f"workspace:queue-counts:generation:{agency_id}"


def queue_counts_changed(dossier: Dossier) -> None:
    """Make the cached tab counts of every agency that sees DOSSIER stale (after a transition commits).

    A dossier is seen by its deciding agency, the agency consulted and the unit that received it
    (staff_scope); the last two are only ever set, never cleared, so the dossier's current values
    name every agency whose tabs may have changed.
    """
    for agency_id in {dossier.agency_id, dossier.consulted_agency_id, dossier.received_by_agency_id} - {None}:
        key = _generation_key(agency_id)
        try:
            try:
                cache.incr(key)
            except ValueError:  # not in the cache yet (or evicted): any new value makes older keys unused
                cache.set(key, time.time_ns(), timeout=None)
        except Exception:  # a cache outage must not fail a committed transition; the TTL bounds the staleness
            logger.warning("workspace tab counts: cache unavailable, counts of agency %s may lag", agency_id)


def tab_counts(*, profile: StaffProfile) -> list[tuple[Queue, int]]:
    """The profile's queues with their capped sizes (as the tabs show them), cached as described above."""
    available = queues_for(profile)
    try:
        generation = cache.get(_generation_key(profile.agency_id), 0)
        key = (
            f"workspace:queue-counts:{profile.agency_id}:{generation}:{profile.department_id}:"
            f"{profile.user_id}:{profile.role}"
        )
        counts = cache.get(key)
    except Exception:  # cache unavailable: count, as without a cache
        logger.warning("workspace tab counts: cache unavailable, counting")
        key, counts = None, None
    if counts is None or len(counts) != len(available):
        counts = queue_counts(profile=profile, queues=available)
        if key is not None:
            try:
                cache.set(key, counts, timeout=TAB_COUNTS_TTL)
            except Exception:
                logger.warning("workspace tab counts: cache unavailable, not kept")
    return list(zip(available, counts, strict=True))


# --- one dossier ----------------------------------------------------------------------------


def staff_scope(profile: StaffProfile) -> Q:
    """Every dossier the profile's agency may see: decides it, was consulted on it, or received it."""
    a = profile.agency_id
    return Q(agency_id=a) | Q(consulted_agency_id=a) | Q(received_by_agency_id=a)


def dossier_for_workspace(*, profile: StaffProfile, pk: int) -> Dossier:
    """The dossier with what its page shows, or 404 when it is outside the profile's scope."""
    dossier = (
        Dossier.objects.filter(staff_scope(profile), pk=pk)
        .select_related(
            "procedure",
            "procedure_version",
            "agency",
            "received_by_agency",
            "consulted_agency",
            "department",
            "assigned_to",
            "received_by",
        )
        .first()
    )
    if dossier is None:
        raise Http404
    return dossier
