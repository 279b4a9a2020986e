"""The one door through which a dossier changes state.

`dossier_transition(dossier_id=…, action=…, actor=…, **params)` locks the row, checks who may act
(role and agency, or the applicant), checks the action's conditions and the reason the law asks for,
runs the django-fsm transition, writes the event (with its clock effect: the ledger), recomputes the
legal clock from the ledger, closes and opens processing steps (for the process-control slip),
writes the audit record and the national-portal outbox message, all in one transaction; slips and
notifications start after commit. Two people acting on one dossier at once: the second waits for
the lock, then finds the state changed and gets a clear message.
"""

from __future__ import annotations

import datetime as dt
import logging
from dataclasses import dataclass, field
from functools import partial
from typing import TYPE_CHECKING, Any

from django.conf import settings
from django.db import connection, transaction
from django.db.models import OuterRef, Subquery
from django.utils import timezone
from django.utils.functional import Promise
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django_fsm import TransitionNotAllowed, can_proceed

from integrations.outbox import outbox_enqueue
from portal.audit import audit_record
from portal.errors import ApplicationError
from portal.people import person_name
from procedures import clock, deadlines
from procedures.models import (
    Agency,
    Department,
    Dossier,
    DossierCodeCounter,
    DossierEvent,
    DossierStep,
    Procedure,
    ProcedureStage,
    ResultBookCounter,
    RuleVersion,
    StaffProfile,
)
from procedures.queues import queue_counts_changed

if TYPE_CHECKING:
    from django.contrib.auth.models import AbstractBaseUser

logger = logging.getLogger(__name__)

NATIONAL_TOPIC = "national_portal.dossier"
S = Dossier.State
R = StaffProfile.Role
E = DossierEvent.Kind
C = DossierEvent.ClockEffect

APPLICANT = "applicant"
SYSTEM = "system"


@dataclass(frozen=True)
class Action:
    """What an action is: its transition, who may do it, what it needs, and what it does to the clock."""

    name: str
    label: Promise
    method: str
    event: str
    roles: frozenset[str]
    needs_reason: bool = False
    reason_label: Promise | None = None
    clock: str = ""
    # Processing officers may act only on dossiers assigned to them.
    officer_must_be_assigned: bool = False
    # The staff of the consulted agency act, not the deciding agency's.
    consulted_agency_acts: bool = False
    params: tuple[str, ...] = field(default_factory=tuple)
    # Narrower than the model transition's sources (assign and transfer share one transition).
    only_from: tuple[str, ...] = ()


def _a(name, label, method, event, roles, **kw) -> Action:
    return Action(name=name, label=label, method=method, event=event, roles=frozenset(roles), **kw)


_ADMIN = R.ADMINISTRATOR
ACTIONS: dict[str, Action] = {
    a.name: a
    for a in [
        _a("receive", gettext_lazy("Receive"), "receive", E.RECEIVED, {R.RECEPTION_CLERK, _ADMIN}, clock=C.START),
        _a(
            "request_payment",
            gettext_lazy("Ask for payment"),
            "request_payment",
            E.PAYMENT_REQUESTED,
            {R.RECEPTION_CLERK, _ADMIN, SYSTEM},
        ),
        _a(
            "confirm_payment",
            gettext_lazy("Record the payment"),
            "confirm_payment",
            E.PAYMENT_CONFIRMED,
            {R.RECEPTION_CLERK, _ADMIN, SYSTEM},
            params=("payment_reference", "online"),
        ),
        _a(
            "request_supplement",
            gettext_lazy("Request a supplement"),
            "request_supplement",
            E.SUPPLEMENT_REQUESTED,
            {R.RECEPTION_CLERK, R.PROCESSING_OFFICER, R.LEADER, _ADMIN},
            reason_label=gettext_lazy("Note to the applicant"),
            officer_must_be_assigned=True,
            params=("items",),
        ),
        _a(
            "supplement",
            gettext_lazy("Submit the supplement"),
            "supplement",
            E.SUPPLEMENTED,
            {APPLICANT, R.RECEPTION_CLERK, _ADMIN},
            params=("documents",),
        ),
        _a(
            "accept_supplement",
            gettext_lazy("Accept the supplement"),
            "accept_supplement",
            E.SUPPLEMENT_ACCEPTED,
            {R.RECEPTION_CLERK, R.PROCESSING_OFFICER, R.LEADER, _ADMIN},
            officer_must_be_assigned=True,
        ),
        _a(
            "refuse",
            gettext_lazy("Refuse"),
            "refuse",
            E.REFUSED,
            {R.RECEPTION_CLERK, _ADMIN},
            needs_reason=True,
            reason_label=gettext_lazy("Reasons for refusal"),
        ),
        _a(
            "assign",
            gettext_lazy("Assign"),
            "assign",
            E.ASSIGNED,
            {R.LEADER, _ADMIN},
            params=("officer", "department"),
            only_from=(S.RECEIVED,),
        ),
        _a(
            "transfer",
            gettext_lazy("Transfer"),
            "assign",
            E.TRANSFERRED,
            {R.LEADER, R.PROCESSING_OFFICER, _ADMIN},
            officer_must_be_assigned=True,
            params=("officer", "department"),
            only_from=(S.IN_PROCESSING,),
        ),
        _a(
            "return_to_leader",
            gettext_lazy("Return to the leader"),
            "send_back_to_leader",
            E.SENT_BACK,
            {R.PROCESSING_OFFICER, _ADMIN},
            needs_reason=True,
            officer_must_be_assigned=True,
        ),
        _a(
            "consult",
            gettext_lazy("Ask another agency"),
            "consult",
            E.CONSULTATION_REQUESTED,
            {R.PROCESSING_OFFICER, R.LEADER, _ADMIN},
            needs_reason=True,
            reason_label=gettext_lazy("Question"),
            officer_must_be_assigned=True,
            params=("agency",),
        ),
        _a(
            "answer_consultation",
            gettext_lazy("Give the opinion"),
            "answer_consultation",
            E.CONSULTATION_ANSWERED,
            {R.PROCESSING_OFFICER, R.LEADER, _ADMIN},
            needs_reason=True,
            reason_label=gettext_lazy("Opinion"),
            consulted_agency_acts=True,
        ),
        _a(
            "forward_for_approval",
            gettext_lazy("Forward to the leader"),
            "forward_for_approval",
            E.FORWARDED,
            {R.PROCESSING_OFFICER, _ADMIN},
            officer_must_be_assigned=True,
        ),
        _a(
            "send_back",
            gettext_lazy("Send back to the officer"),
            "send_back",
            E.SENT_BACK,
            {R.LEADER, _ADMIN},
            needs_reason=True,
        ),
        _a("approve", gettext_lazy("Approve"), "approve", E.APPROVED, {R.LEADER, _ADMIN}),
        _a(
            "deny",
            gettext_lazy("Deny"),
            "deny",
            E.DENIED,
            {R.LEADER, _ADMIN},
            needs_reason=True,
            reason_label=gettext_lazy("Reasons for the denial"),
        ),
        _a("sign", gettext_lazy("Sign"), "sign", E.SIGNED, {R.SIGNING_AUTHORITY, _ADMIN}),
        _a(
            "issue",
            gettext_lazy("Number and issue"),
            "issue",
            E.ISSUED,
            {R.RECORDS_CLERK, _ADMIN},
            clock=C.STOP,
        ),
        _a(
            "return_result",
            gettext_lazy("Return the result"),
            "return_result",
            E.RETURNED,
            {R.RECEPTION_CLERK, R.RECORDS_CLERK, _ADMIN},
            params=("method",),
        ),
        _a(
            "withdraw",
            gettext_lazy("Withdraw the dossier"),
            "withdraw",
            E.WITHDRAWN,
            {APPLICANT, R.RECEPTION_CLERK, _ADMIN},
            reason_label=gettext_lazy("Reason (optional)"),
        ),
        _a(
            "stop",
            gettext_lazy("Stop processing"),
            "stop",
            E.STOPPED,
            {R.LEADER, _ADMIN},
            needs_reason=True,
            reason_label=gettext_lazy("Reasons for stopping"),
            clock=C.STOP,
        ),
        _a(
            "extend",
            gettext_lazy("Apologise and set a new date"),
            "",
            E.EXTENDED,
            {R.LEADER, _ADMIN},
            needs_reason=True,
            reason_label=gettext_lazy("Reason for the delay"),
            clock=C.EXTEND,
            params=("new_due",),
        ),
    ]
}

# Which procedure stage (by its role) holds the dossier in each state, for steps and stage due dates.
STAGE_ROLE_FOR_STATE = {
    S.RECEIVED: ProcedureStage.Role.RECEPTION,
    S.IN_PROCESSING: ProcedureStage.Role.SPECIALIST,
    S.IN_CONSULTATION: ProcedureStage.Role.CONSULTATION,
    S.AWAITING_APPROVAL: ProcedureStage.Role.LEADER_APPROVAL,
    S.AWAITING_SIGNATURE: ProcedureStage.Role.SIGNING,
    S.AWAITING_ISSUE: ProcedureStage.Role.RECORDS,
    S.RESULT_READY: ProcedureStage.Role.RECEPTION,
}
RETURN_METHODS = {
    "counter": gettext_lazy("At the counter"),
    "postal": gettext_lazy("By public postal service"),
    "online": gettext_lazy("Online"),
}


# --- permissions -------------------------------------------------------------------------------


def _profile(user) -> StaffProfile | None:
    if user is None or not getattr(user, "is_authenticated", False):
        return None
    return StaffProfile.objects.select_related("agency", "department").filter(user=user).first()


def actor_may(action: Action, dossier: Dossier, actor, profile: StaffProfile | None) -> bool:
    """Whether ACTOR may do ACTION on DOSSIER (role, agency, assignment); state is checked separately."""
    if actor is None:
        return SYSTEM in action.roles
    if profile is None:
        return APPLICANT in action.roles and dossier.applicant_id == actor.pk
    if profile.role not in action.roles:
        return False
    if action.consulted_agency_acts:
        return dossier.consulted_agency_id == profile.agency_id
    if profile.agency_id != dossier.agency_id:
        return False
    if action.officer_must_be_assigned and profile.role == R.PROCESSING_OFFICER:
        return dossier.state != S.IN_PROCESSING or dossier.assigned_to_id == actor.pk
    return True


def allowed_actions(dossier: Dossier, actor) -> list[Action]:
    """The actions ACTOR may take on DOSSIER now (for buttons); the service re-checks everything."""
    profile = _profile(actor)
    result = []
    for action in ACTIONS.values():
        if not actor_may(action, dossier, actor, profile):
            continue
        if action.name == "extend":
            if _extend_problem(dossier, when=timezone.now()) is None:
                result.append(action)
            continue
        if action.name == "withdraw":
            if can_proceed(dossier.withdraw) or can_proceed(dossier.stop):
                result.append(action)
            continue
        if (
            action.name == "request_supplement"
            and profile is not None
            and profile.role == R.RECEPTION_CLERK
            and dossier.state == S.IN_PROCESSING
        ):
            continue
        if action.only_from and dossier.state not in action.only_from:
            continue
        if can_proceed(getattr(dossier, action.method)):
            result.append(action)
    return result


# --- helpers -----------------------------------------------------------------------------------


def _dossier_code_issue(*, agency_code: str, received_at) -> str:
    """Return the next code MX1X2.Y1Y2Y3.Z1Z2-YYMMDD-AAXXXX for the agency and local day (row-locked)."""
    from procedures.services import DOSSIER_CODE_RE

    day = timezone.localtime(received_at).date()
    last = _counter_next(DossierCodeCounter, agency_code=agency_code, day=day)
    sequence = str(last).zfill(settings.DOSSIER_CODE_MIN_SEQUENCE_DIGITS)
    code = f"{agency_code}-{day:%y%m%d}-{settings.DOSSIER_CODE_OWNER_DIGITS}{sequence}"
    if not DOSSIER_CODE_RE.match(code):
        raise ApplicationError(_("The agency's electronic identifier does not give a valid dossier code."))
    return code


def _result_number_issue(*, agency: Agency, at) -> str:
    year = timezone.localtime(at).year
    last = _counter_next(ResultBookCounter, agency_id=agency.pk, year=year)
    return settings.RESULT_NUMBER_FORMAT.format(seq=last, year=year, agency=agency.code)


def _counter_next(model, **key) -> int:
    """Add one to the counter row of KEY (created at 1 if missing) and return it, in one statement.

    INSERT ... ON CONFLICT DO UPDATE takes the row lock as SELECT ... FOR UPDATE did, so concurrent
    transactions still get consecutive numbers, each after the previous one commits.
    """
    table = connection.ops.quote_name(model._meta.db_table)
    columns = [model._meta.get_field(name).column for name in key]
    names = ", ".join(connection.ops.quote_name(c) for c in columns)
    last = connection.ops.quote_name("last")
    with connection.cursor() as cursor:
        # nosemgrep: sql-built-from-strings  table/column names from model _meta, quoted; values are parameters
        cursor.execute(
            f"INSERT INTO {table} ({names}, {last}) VALUES ({', '.join(['%s'] * len(key))}, 1) "  # noqa: S608  # nosec B608
            f"ON CONFLICT ({names}) DO UPDATE SET {last} = {table}.{last} + 1 RETURNING {last}",
            list(key.values()),
        )
        return cursor.fetchone()[0]


def _stage_for(dossier: Dossier, role: str) -> dict | None:
    version = dossier.procedure_version
    stages = version.snapshot.get("stages", []) if version is not None else []
    if not stages:
        stages = [
            {"order": s.order, "name": s.name, "role": s.role, "budget": s.budget}
            for s in dossier.procedure.stages.all()
        ]
    for stage in sorted(stages, key=lambda s: s.get("order") or 0):
        if stage.get("role") == role:
            return stage
    return None


def _unit_name(dossier: Dossier, agency: Agency | None = None) -> str:
    if agency is not None:
        return agency.name
    if dossier.department_id:
        return f"{dossier.department.name} – {dossier.agency.name}"
    return dossier.agency.name


def _steps_move(
    dossier: Dossier, *, now, actor, handler, calendar, agency: Agency | None = None, note: str = ""
) -> None:
    """Close the open step (with its outcome) and open the one for the dossier's new holder.

    The open step's id, due date and stage come with the locked dossier row (dossier_transition's query).
    """
    open_step_id, open_step_order = dossier.open_step_id, dossier.open_step_order
    if open_step_id is not None:
        DossierStep.objects.filter(pk=open_step_id).update(
            finished_at=now, outcome=_outcome(dossier.open_step_due_at, now)
        )
    role = STAGE_ROLE_FOR_STATE.get(S(dossier.state))
    if role is None or dossier.is_final:
        dossier.stage_order, dossier.stage_name, dossier.stage_due_at = None, "", None
        return
    stage = _stage_for(dossier, role) or {}
    started = now
    source = dossier.procedure_version or dossier.procedure
    if (
        role == ProcedureStage.Role.SPECIALIST
        and source.cutoff_applies_to == Procedure.CutoffAppliesTo.TRANSFER
        and source.cutoff_time is not None
        and timezone.localtime(now).time() >= source.cutoff_time
        and (open_step_id is None or open_step_order != stage.get("order"))
    ):
        # Received after the cut-off: the transfer counts from the next working day's opening.
        next_day = calendar.add_working_days(timezone.localtime(now).date(), 1)
        started = dt.datetime.combine(next_day, calendar.office_day[0], tzinfo=deadlines.VN)
    budget = stage.get("budget")
    due = None
    if budget not in (None, ""):
        budget = float(budget)
        if source.time_limit_hours is not None and source.time_limit_days is None:
            due = calendar.from_hour_coordinate(calendar.hour_coordinate(started) + budget * 60)
        else:
            due = clock.add_working_days_at(calendar, started, budget)
    name = stage.get("name") or str(S(dossier.state).label)
    DossierStep.objects.create(
        dossier=dossier,
        stage_order=stage.get("order"),
        stage_name=name,
        unit_name=_unit_name(dossier, agency),
        handler=handler,
        given_by=actor,
        started_at=started,
        due_at=due,
        note=note[:500],
    )
    dossier.stage_order, dossier.stage_name, dossier.stage_due_at = stage.get("order"), name, due


def _outcome(due, finished) -> str:
    if due is None:
        return DossierStep.Outcome.ON_TIME
    if finished > due:
        return DossierStep.Outcome.LATE
    if timezone.localtime(finished).date() < timezone.localtime(due).date():
        return DossierStep.Outcome.EARLY
    return DossierStep.Outcome.ON_TIME


def _extend_problem(dossier: Dossier, *, when, new_due=None) -> str | None:
    """Why the appointment cannot be rescheduled now (None when it can)."""
    if dossier.state not in Dossier.CLOCK_STATES:
        return _("The appointment can be rescheduled only while the dossier is being processed.")
    if dossier.clock_paused or dossier.due_at is None:
        return _("The clock is paused; there is no appointment to reschedule.")
    rule = _rule_of(dossier)
    used = dossier.events.filter(clock_effect=C.EXTEND).count()
    if used >= rule.max_extensions:
        return _("The appointment has already been rescheduled once; the law allows it only once.")
    calendar = clock.agency_calendar(dossier.agency)
    latest = clock.add_working_days_at(calendar, dossier.due_at, -rule.extension_notice_working_days)
    if when > latest:
        return _(
            "The apology must be sent at least %(days)s working day(s) before the deadline (%(latest)s at the latest)."
        ) % {
            "days": rule.extension_notice_working_days,
            "latest": timezone.localtime(latest).strftime("%H:%M %d/%m/%Y"),
        }
    if new_due is not None and new_due <= dossier.due_at:
        return _("The new appointment must be later than the current one (%(due)s).") % {
            "due": timezone.localtime(dossier.due_at).strftime("%H:%M %d/%m/%Y")
        }
    return None


def _rule_of(dossier: Dossier) -> RuleVersion:
    rule = RuleVersion.objects.filter(code=dossier.rule_version).first() if dossier.rule_version else None
    return rule or RuleVersion.in_force(timezone.localdate())


def _iso(value):
    return timezone.localtime(value).isoformat() if value else None


def national_payload(dossier: Dossier, *, actor, note: str, at, profile: StaffProfile | None = None) -> dict:
    if profile is None and actor is not None:
        profile = getattr(actor, "staff_profile", None)
    return {
        "dossier_code": dossier.code,
        "procedure_code": dossier.procedure.code,
        "procedure_name": dossier.procedure.name,
        "sector_code": dossier.procedure.sector_code,
        "sector_name": dossier.procedure.sector,
        "applicant_name": dossier.applicant_name,
        "applicant_kind": dossier.applicant_kind,
        "applicant_id": dossier.organisation_tax_code or dossier.applicant_national_id,
        "applicant_email": dossier.applicant_email,
        "applicant_phone": dossier.applicant_phone,
        "summary": dossier.request_summary[:500],
        "agency_name": dossier.agency.name,
        "status": dossier.national_status,
        "changed_at": _iso(at),
        "received_at": _iso(dossier.received_at),
        "due_at": _iso(dossier.due_at),
        "returned_at": _iso(dossier.returned_at),
        "actor_name": (person_name(actor) if profile is None else _staff_name(actor)) if actor is not None else "",
        "actor_title": profile.title if profile else "",
        "department": profile.agency.name if profile else "",
        "note": note,
    }


def _staff_name(user) -> str:
    return f"{user.last_name} {user.first_name}".strip() or user.get_username()


# --- the service -------------------------------------------------------------------------------

# What _steps_move needs of the dossier's open processing step, read with the locked dossier row.
_OPEN_STEP = {"open_step_id": "pk", "open_step_due_at": "due_at", "open_step_order": "stage_order"}


def dossier_transition(
    *, dossier_id: int, action: str, actor: AbstractBaseUser | None, reason: str = "", **params: Any
) -> Dossier:
    """Do ACTION on the dossier as ACTOR (None: the system). Raises ApplicationError with a clear message."""
    spec = ACTIONS.get(action)
    if spec is None:
        raise ApplicationError(_("Unknown action."), status=400)
    reason = (reason or "").strip()
    with transaction.atomic():
        profile = _profile(actor)
        open_steps = DossierStep.objects.filter(dossier=OuterRef("pk"), finished_at__isnull=True).order_by(
            "-started_at", "-id"
        )
        dossier = (
            Dossier.objects.select_for_update(of=("self",))
            .select_related("procedure", "agency", "procedure_version", "department")
            .annotate(**{alias: Subquery(open_steps.values(name)[:1]) for alias, name in _OPEN_STEP.items()})
            .filter(pk=dossier_id)
            .first()
        )
        if dossier is None or not _may_see(dossier, actor, profile):
            raise ApplicationError(_("Dossier not found."), status=404)
        if not actor_may(spec, dossier, actor, profile):
            raise ApplicationError(
                _("You may not %(action)s this dossier.") % {"action": str(spec.label).lower()}, status=403
            )
        if spec.needs_reason and not reason:
            raise ApplicationError(
                _("%(field)s: this field is required.") % {"field": spec.reason_label or _("Reason")},
                extra={"field": "reason"},
            )
        now = timezone.now()
        from_state = dossier.state
        data: dict[str, Any] = {}
        clock_effect = spec.clock
        new_due = None
        try:
            clock_effect, new_due = _apply(spec, dossier, actor, profile, reason, params, now, data)
        except TransitionNotAllowed:
            clock_effect = None
        if clock_effect is None:
            raise ApplicationError(
                _("“%(action)s” is not possible now: dossier %(code)s is in the state “%(state)s”.")
                % {"action": spec.label, "code": dossier.code or dossier.reference, "state": S(dossier.state).label},
                status=409,
            )
        event = DossierEvent.objects.create(
            dossier=dossier,
            kind=spec.event,
            from_state=from_state,
            to_state=dossier.state,
            actor=actor,
            reason=reason,
            at=now,
            clock_effect=clock_effect,
            clock_new_due=new_due,
            data=data,
        )
        calendar = clock.agency_calendar(dossier.agency)
        if clock_effect or dossier.received_at is not None:
            clock.dossier_clock_apply(dossier, calendar=calendar)
            if dossier.due_at is not None:
                event_data = {"due_at": dossier.due_at.isoformat(), "paused": dossier.clock_paused}
                data.update(event_data)
        if from_state != dossier.state or spec.event in (E.TRANSFERRED, E.ASSIGNED):
            holder = dossier.assigned_to if dossier.state == S.IN_PROCESSING else None
            consulted = dossier.consulted_agency if dossier.state == S.IN_CONSULTATION else None
            _steps_move(dossier, now=now, actor=actor, handler=holder, calendar=calendar, agency=consulted, note=reason)
        if dossier.watch and (dossier.is_final or dossier.clock_paused or spec.event == E.EXTENDED):
            dossier.watch = Dossier.Watch.NONE
        dossier.save()
        audit_record(
            action=f"dossier.{spec.name}",
            actor=actor,
            obj=dossier,
            data={"from": from_state, "to": dossier.state, "event": event.pk, **({"reason": reason} if reason else {})},
        )
        if dossier.code:
            outbox_enqueue(
                topic=NATIONAL_TOPIC,
                key=dossier.code,
                payload=national_payload(dossier, actor=actor, note=str(spec.label), at=now, profile=profile),
                event_id=f"event-{event.pk}",
            )
        event_pk = event.pk
        transaction.on_commit(lambda: _after_commit(event_pk))
        transaction.on_commit(partial(queue_counts_changed, dossier))  # the workspace's cached tab counts
    return dossier


def _may_see(dossier: Dossier, actor, profile: StaffProfile | None) -> bool:
    if actor is None:
        return True
    if profile is None:
        return dossier.applicant_id == actor.pk
    return profile.agency_id in (dossier.agency_id, dossier.consulted_agency_id, dossier.received_by_agency_id)


def _staff_of(user_id, agency: Agency, roles) -> StaffProfile:
    found = (
        StaffProfile.objects.select_related("user", "department")
        .filter(user_id=user_id, agency=agency, role__in=roles)
        .first()
    )
    if found is None:
        raise ApplicationError(_("Choose a processing officer of this agency."), extra={"field": "officer"})
    return found


def _apply(spec, dossier: Dossier, actor, profile, reason, params, now, data) -> tuple[str, Any] | tuple[None, None]:
    """Run the transition of SPEC with its checks; return (clock effect, new due) or (None, None) if not allowed."""
    name = spec.name
    clock_effect = spec.clock
    new_due = None
    if name == "receive":
        if not can_proceed(dossier.receive):
            return None, None
        version = dossier.procedure_version
        source = version or dossier.procedure
        if source.time_limit_days is None and source.time_limit_hours is None:
            raise ApplicationError(_("The time limit of this procedure is not configured; the due date cannot be set."))
        code = _dossier_code_issue(agency_code=dossier.agency.code, received_at=now)
        dossier.receive(code=code, at=now, by=actor)
        dossier.rule_version = RuleVersion.in_force(timezone.localtime(now).date()).code
        data["code"] = code
    elif name == "request_supplement":
        items = [str(i).strip() for i in (params.get("items") or []) if str(i).strip()]
        if not items:
            raise ApplicationError(
                _("List what the applicant must add or correct (at least one item)."), extra={"field": "items"}
            )
        if profile is not None and profile.role == R.RECEPTION_CLERK and dossier.state == S.IN_PROCESSING:
            return None, None
        if not can_proceed(dossier.request_supplement):
            return None, None
        clock_running = dossier.received_at is not None and not dossier.clock_paused
        dossier.request_supplement(items=items)
        clock_effect = C.PAUSE if clock_running else ""
        data["items"] = items
    elif name == "accept_supplement":
        if not can_proceed(dossier.accept_supplement):
            return None, None
        resume_to = dossier.resume_state
        dossier.accept_supplement()
        if dossier.received_at is not None and resume_to != S.SUBMITTED and dossier.clock_paused:
            source = dossier.procedure_version or dossier.procedure
            clock_effect = C.RESTART if source.on_supplement == Procedure.OnSupplement.RESTART else C.RESUME
        else:
            clock_effect = ""
    elif name == "supplement":
        if not can_proceed(dossier.supplement):
            return None, None
        dossier.supplement()
        data["documents"] = list(params.get("documents") or [])
    elif name in ("assign", "transfer"):
        if spec.only_from and dossier.state not in spec.only_from:
            return None, None
        officer_id = params.get("officer")
        department = params.get("department")
        if not officer_id:
            raise ApplicationError(_("Choose a processing officer of this agency."), extra={"field": "officer"})
        officer_profile = _staff_of(getattr(officer_id, "pk", officer_id), dossier.agency, [R.PROCESSING_OFFICER])
        if department is not None and not isinstance(department, Department):
            department = Department.objects.filter(pk=department, agency=dossier.agency).first()
            if department is None:
                raise ApplicationError(_("Choose a department of this agency."), extra={"field": "department"})
        if not can_proceed(dossier.assign):
            return None, None
        dossier.assign(officer=officer_profile.user, department=department or officer_profile.department)
        data["officer"] = officer_profile.user_id
        data["department"] = dossier.department_id
    elif name == "consult":
        agency = params.get("agency")
        if agency is not None and not isinstance(agency, Agency):
            agency = Agency.objects.filter(pk=agency).first()
        if agency is None or agency.pk == dossier.agency_id:
            raise ApplicationError(_("Choose another agency to consult."), extra={"field": "agency"})
        if not can_proceed(dossier.consult):
            return None, None
        dossier.consult(agency=agency)
        data["agency"] = agency.code
    elif name == "refuse":
        if not can_proceed(dossier.refuse):
            return None, None
        dossier.refuse(reason=reason, at=now)
    elif name == "deny":
        if not can_proceed(dossier.deny):
            return None, None
        dossier.deny(reason=reason)
    elif name == "sign":
        if not can_proceed(dossier.sign):
            return None, None
        dossier.sign(at=now, by=actor)
    elif name == "issue":
        if not can_proceed(dossier.issue):
            return None, None
        number = _result_number_issue(agency=dossier.agency, at=now)
        dossier.issue(number=number, at=now)
        data["number"] = number
    elif name == "return_result":
        method = params.get("method") or ""
        if method not in RETURN_METHODS:
            raise ApplicationError(
                _("Say how the result was handed over: %(choices)s.")
                % {"choices": ", ".join(str(v) for v in RETURN_METHODS.values())},
                extra={"field": "method"},
            )
        if not can_proceed(dossier.return_result):
            return None, None
        dossier.return_result(at=now, how=method)
        data["method"] = method
    elif name == "withdraw":
        if can_proceed(dossier.withdraw):
            dossier.withdraw(reason=reason, at=now)
            clock_effect = ""
        elif can_proceed(dossier.stop):
            # After receipt, a withdrawal request stops processing with a stop notice (Circular 03/2025 Art. 7).
            dossier.stop(reason=reason or _("At the applicant's request"), at=now)
            clock_effect = C.STOP if not dossier.clock_paused else ""
            data["stop_notice"] = True
        else:
            return None, None
    elif name == "stop":
        if not can_proceed(dossier.stop):
            return None, None
        was_paused = dossier.clock_paused
        dossier.stop(reason=reason, at=now)
        clock_effect = C.STOP if not was_paused else ""
    elif name == "extend":
        new_due = params.get("new_due")
        if not isinstance(new_due, dt.datetime):
            raise ApplicationError(_("Give the new appointment (date and time)."), extra={"field": "new_due"})
        if timezone.is_naive(new_due):
            new_due = timezone.make_aware(new_due)
        problem = _extend_problem(dossier, when=now, new_due=new_due)
        if problem:
            raise ApplicationError(problem, status=409)
        data["previous_due"] = dossier.due_at.isoformat()
    elif name == "confirm_payment":
        if not can_proceed(dossier.confirm_payment):
            return None, None
        dossier.confirm_payment()
        data["payment_reference"] = str(params.get("payment_reference") or "")
        data["online"] = bool(params.get("online"))
    else:
        method = getattr(dossier, spec.method)
        if not can_proceed(method):
            return None, None
        method()
    if clock_effect == C.STOP and (dossier.received_at is None or dossier.clock_paused):
        clock_effect = ""
    return clock_effect, new_due


def _after_commit(event_pk: int) -> None:
    from procedures.tasks import dossier_event_followup_task

    try:
        dossier_event_followup_task.delay(event_pk)
    except Exception:  # broker down: the periodic sweep renders and notifies what is missing
        logger.warning("could not queue the follow-up of dossier event %s", event_pk)
