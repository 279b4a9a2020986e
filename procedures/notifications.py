"""Notifications: the applicant on each state change (email and SMS), staff about deadlines (email).

Every message is a NotificationLog row with a unique key, so a retried task never sends twice:

1. the row is created (or found) and claimed in one short transaction (status "sending"); a row
   already sent, or being sent by another worker within NOTIFY_SEND_LEASE_SECONDS, is left alone;
2. the message is sent outside the transaction;
3. the outcome (sent / failed with the error) is written. A failure raises, so the Celery task is
   retried, and the next attempt claims the row again.

Only a worker killed between steps 2 and 3 can leave a row "sending"; after the lease it is sent
again (at-least-once in that one case; it is visible in the admin as a second attempt).
"""

from __future__ import annotations

import datetime as dt
import logging
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.core.mail import EmailMultiAlternatives
from django.db import IntegrityError, transaction
from django.template.loader import render_to_string, select_template
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.translation import gettext as _
from django.utils.translation import pgettext

from procedures.models import Dossier, DossierEvent, NotificationLog, NotificationPreference
from procedures.sms import SmsError, mask_email, mask_phone, sms_backend, sms_text

logger = logging.getLogger("procedures.notifications")

DEFAULT_LANGUAGE = "vi"


class NotificationFailed(OSError):
    """A message could not be sent now; an OSError so that the follow-up task retries it."""


def notification_preference(user) -> NotificationPreference | None:
    if user is None:
        return None
    return NotificationPreference.objects.filter(user=user).first()


def notification_language(user) -> str:
    """The language a user reads messages in: their stored preference, else Vietnamese."""
    pref = notification_preference(user)
    supported = {code for code, _name in settings.LANGUAGES}
    if pref is not None and pref.language in supported:
        return pref.language
    return DEFAULT_LANGUAGE


def notification_language_set(*, user, language: str) -> NotificationPreference:
    """Store USER's language for messages (called when a signed-in user chooses a language)."""
    supported = {code for code, _name in settings.LANGUAGES}
    if language not in supported:
        from portal.errors import ApplicationError

        raise ApplicationError(_("Choose a supported language."), extra={"field": "language"})
    pref, _created = NotificationPreference.objects.update_or_create(user=user, defaults={"language": language})
    return pref


def local_text(moment: dt.datetime | None) -> str:
    if moment is None:
        return ""
    return timezone.localtime(moment).strftime("%H:%M %d/%m/%Y")


def site_url(path: str) -> str:
    return settings.SITE_URL.rstrip("/") + path


# --- claim, send, record ---------------------------------------------------------------------------


@dataclass
class Message:
    key: str
    kind: str
    dossier: Dossier
    channel: str
    address: str  # the real address; only the masked form is stored
    language: str
    subject: str
    text: str
    html: str = ""
    event: DossierEvent | None = None
    recipient_user: Any = None
    data: dict | None = None


def _masked(channel: str, address: str) -> str:
    return mask_email(address) if channel == NotificationLog.Channel.EMAIL else mask_phone(address)


def _claim(message: Message, *, skip_reason: str = "") -> NotificationLog | None:
    """Create or find the log row and claim it for sending; None when there is nothing to send."""
    lease = dt.timedelta(seconds=settings.NOTIFY_SEND_LEASE_SECONDS)
    now = timezone.now()
    defaults = {
        "kind": message.kind,
        "dossier": message.dossier,
        "event": message.event,
        "channel": message.channel,
        "recipient_user": message.recipient_user,
        "recipient": _masked(message.channel, message.address) if message.address else "",
        "language": message.language,
        "subject": message.subject[:300],
        "data": message.data or {},
    }
    with transaction.atomic():
        try:
            with transaction.atomic():
                log, _created = NotificationLog.objects.get_or_create(key=message.key, defaults=defaults)
        except IntegrityError:  # another worker created it in the meantime
            log = NotificationLog.objects.get(key=message.key)
        log = NotificationLog.objects.select_for_update().get(pk=log.pk)
        if log.status in (NotificationLog.Status.SENT, NotificationLog.Status.SKIPPED):
            return None
        if log.status == NotificationLog.Status.SENDING and log.claimed_at and now - log.claimed_at < lease:
            return None
        if skip_reason:
            log.status, log.error = NotificationLog.Status.SKIPPED, skip_reason
            log.save(update_fields=["status", "error"])
            return None
        log.status = NotificationLog.Status.SENDING
        log.claimed_at = now
        log.attempts += 1
        log.save(update_fields=["status", "claimed_at", "attempts"])
    return log


def _finish(log: NotificationLog, *, error: str = "", permanent: bool = False) -> None:
    if error:
        log.status = NotificationLog.Status.SKIPPED if permanent else NotificationLog.Status.FAILED
        log.error = error[:2000]
        log.save(update_fields=["status", "error"])
    else:
        log.status, log.error, log.sent_at = NotificationLog.Status.SENT, "", timezone.now()
        log.save(update_fields=["status", "error", "sent_at"])


def deliver(message: Message, *, skip_reason: str = "") -> bool:
    """Send MESSAGE once; return whether it was sent by this call. Raises NotificationFailed to retry."""
    log = _claim(message, skip_reason=skip_reason)
    if log is None:
        return False
    try:
        if message.channel == NotificationLog.Channel.EMAIL:
            mail = EmailMultiAlternatives(
                subject=message.subject,
                body=message.text,
                from_email=settings.NOTIFY_FROM_EMAIL,
                to=[message.address],
                headers={"X-Portal-Notification": message.key},
            )
            if message.html:
                mail.attach_alternative(message.html, "text/html")
            mail.send(fail_silently=False)
        else:
            provider_id = sms_backend().send(to=message.address, text=message.text, reference=message.key)
            log.data = {**log.data, "provider_id": provider_id}
            log.save(update_fields=["data"])
    except SmsError as exc:
        _finish(log, error=str(exc), permanent=exc.permanent)
        if exc.permanent:
            logger.warning("notification %s not sent: %s", message.key, exc)
            return False
        raise NotificationFailed(str(exc)) from exc
    except OSError as exc:  # SMTP and socket errors
        _finish(log, error=f"{type(exc).__name__}: {exc}")
        raise NotificationFailed(str(exc)) from exc
    _finish(log)
    return True


# --- the applicant, on each state change ------------------------------------------------------------


def _state_label(state: str) -> str:
    try:
        return str(Dossier.State(state).label)
    except ValueError:
        return state


def _applicant_context(dossier: Dossier, event: DossierEvent) -> dict[str, Any]:
    return {
        "dossier": dossier,
        "event": event,
        "code": dossier.code or dossier.reference,
        "reference": dossier.reference,
        "applicant_name": dossier.applicant_name,
        "procedure_name": dossier.procedure.name,
        "agency_name": dossier.agency.name,
        "state_label": _state_label(event.to_state),
        "due_at": local_text(dossier.due_at) if not dossier.clock_paused else "",
        "clock_paused": dossier.clock_paused,
        "original_due_at": local_text(dossier.original_due_at) if dossier.extended else "",
        "supplement_items": list(dossier.supplement_items or []),
        "reason": event.reason,
        "link": site_url(reverse("procedures:dossier-detail", args=[dossier.reference])),
        "portal_name": settings.PORTAL_NAME,
    }


def applicant_messages(event: DossierEvent) -> list[tuple[Message, str]]:
    """The messages (and a skip reason, if any) to send the applicant about EVENT, in their language."""
    dossier = event.dossier
    language = notification_language(dossier.applicant)
    pref = notification_preference(dossier.applicant)
    kind = event.kind
    with translation.override(language):
        context = _applicant_context(dossier, event)
        subject = _("Dossier %(code)s: %(state)s") % {"code": context["code"], "state": context["state_label"]}
        text = select_template([f"notifications/{kind}.txt", "notifications/default.txt"]).render(context)
        html = select_template([f"notifications/{kind}.html", "notifications/default.html"]).render(context)
        sms = render_to_string("notifications/sms.txt", context).strip()
    out: list[tuple[Message, str]] = []
    email = dossier.applicant_email or getattr(dossier.applicant, "email", "")
    skip = ""
    if not email:
        skip = "no email address"
    elif pref is not None and not pref.email_enabled:
        skip = "email turned off by the recipient"
    out.append(
        (
            Message(
                key=f"event-{event.pk}-email",
                kind=NotificationLog.Kind.STATE_CHANGE,
                dossier=dossier,
                event=event,
                channel=NotificationLog.Channel.EMAIL,
                address=email,
                language=language,
                subject=subject,
                text=text,
                html=html,
                recipient_user=dossier.applicant,
            ),
            skip,
        )
    )
    if settings.NOTIFY_SMS_ENABLED:
        skip = ""
        if not dossier.applicant_phone:
            skip = "no phone number"
        elif pref is not None and not pref.sms_enabled:
            skip = "SMS turned off by the recipient"
        out.append(
            (
                Message(
                    key=f"event-{event.pk}-sms",
                    kind=NotificationLog.Kind.STATE_CHANGE,
                    dossier=dossier,
                    event=event,
                    channel=NotificationLog.Channel.SMS,
                    address=dossier.applicant_phone,
                    language=language,
                    subject=subject,
                    text=sms_text(sms),
                    recipient_user=dossier.applicant,
                ),
                skip,
            )
        )
    return out


def notify_event(*, event_id: int) -> None:
    """Tell the applicant about a state change (each channel once, however often this runs)."""
    event = (
        DossierEvent.objects.select_related("dossier", "dossier__procedure", "dossier__agency", "dossier__applicant")
        .filter(pk=event_id)
        .first()
    )
    if event is None:
        return
    if event.from_state == event.to_state and event.kind != DossierEvent.Kind.EXTENDED:
        return  # an internal hand-over (assignment, transfer): not a change the applicant sees
    failures = []
    for message, skip in applicant_messages(event):
        try:
            deliver(message, skip_reason=skip)
        except NotificationFailed as exc:
            failures.append(exc)  # try the other channel first, then let the task retry
    if failures:
        raise failures[0]


# --- staff, about deadlines (the watch) ---------------------------------------------------------


def staff_message(
    *,
    key: str,
    kind: str,
    dossier: Dossier,
    user,
    context: dict[str, Any],
) -> tuple[Message, str]:
    language = notification_language(user)
    with translation.override(language):
        ctx = {**context, "recipient_name": user.get_full_name() or user.get_username()}
        if kind == NotificationLog.Kind.OVERDUE:
            subject = _("Overdue: dossier %(code)s was due %(due)s") % {"code": ctx["code"], "due": ctx["due_at"]}
        else:
            subject = _("Due soon: dossier %(code)s is due %(due)s") % {"code": ctx["code"], "due": ctx["due_at"]}
        if kind == NotificationLog.Kind.OVERDUE:
            ctx["watch_label"] = pgettext("deadline watch", "Overdue")
        else:
            ctx["watch_label"] = pgettext("deadline watch", "Due soon")
        text = render_to_string(f"notifications/watch_{kind}.txt", ctx)
        html = render_to_string(f"notifications/watch_{kind}.html", ctx)
    skip = "" if user.email else "no email address"
    pref = notification_preference(user)
    if not skip and pref is not None and not pref.email_enabled:
        skip = "email turned off by the recipient"
    return (
        Message(
            key=key,
            kind=kind,
            dossier=dossier,
            channel=NotificationLog.Channel.EMAIL,
            address=user.email,
            language=language,
            subject=subject,
            text=text,
            html=html,
            recipient_user=user,
            data={k: context[k] for k in ("due_at", "apology_by") if context.get(k)},
        ),
        skip,
    )
