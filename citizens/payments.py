"""Paying a dossier's fees online through the payment adapter; the signed callback confirms the payment once."""

from __future__ import annotations

import hashlib
import logging
import secrets
import time
from typing import TYPE_CHECKING

from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from citizens.models import Payment, PaymentCallbackNonce
from integrations.payment import get_payment_provider
from integrations.payment.base import PaymentError
from portal.audit import audit_record
from portal.errors import ApplicationError
from procedures.models import Dossier, ProcedureFee

if TYPE_CHECKING:
    from django.contrib.auth.models import AbstractBaseUser

logger = logging.getLogger("citizens.payments")

T = ProcedureFee.Timing
# Which fees fall due in each phase of a dossier that is in fee_due (resume_state says where it came from).
PHASE_TIMINGS = {
    Dossier.State.SUBMITTED: (T.ONLINE_BEFORE_SUBMISSION, T.AT_RECEIPT),
    Dossier.State.RESULT_READY: (T.AT_RESULT,),
}


def _fee_items(dossier: Dossier, timings) -> list[dict]:
    day = timezone.localdate()
    return [
        {"name": fee.name, "name_en": fee.name_en, "amount_vnd": fee.amount_vnd, "timing": fee.timing}
        for fee in dossier.procedure.fees.all()
        if fee.amount_vnd and fee.timing in timings and fee.is_effective_on(day)
    ]


def supplement_fees_due(dossier: Dossier) -> list[dict]:
    """Fees collected "at supplement" (HinhThucThu 2) still to pay before a supplement answer is accepted.

    Our reading (decision 0064): they fall due when a supplement is requested, are paid online before the
    applicant's answer is taken, and once per dossier (a second supplement request does not charge again).
    """
    if dossier.state != Dossier.State.SUPPLEMENT_REQUESTED:
        return []
    items = _fee_items(dossier, (T.AT_SUPPLEMENT,))
    if not items or dossier.payments.filter(timing="supplement", status=Payment.Status.PAID).exists():
        return []
    return items


def fees_due(dossier: Dossier) -> tuple[list[dict], int, str]:
    """Return (items, total VND, timing key) of the fees due now for DOSSIER (empty if none)."""
    if dossier.state == Dossier.State.SUPPLEMENT_REQUESTED:
        items = supplement_fees_due(dossier)
        return items, sum(i["amount_vnd"] for i in items), ("supplement" if items else "")
    if dossier.state != Dossier.State.FEE_DUE:
        return [], 0, ""
    phase = dossier.resume_state or Dossier.State.SUBMITTED
    items = _fee_items(dossier, PHASE_TIMINGS.get(phase, ()))
    return (
        items,
        sum(i["amount_vnd"] for i in items),
        ("result" if phase == Dossier.State.RESULT_READY else "submission"),
    )


def payment_start(*, dossier: Dossier, user: AbstractBaseUser, return_url: str, callback_url: str) -> str:
    """Open a payment for the fees due now; return the provider's page to send the payer to."""
    items, total, timing = fees_due(dossier)
    if not total:
        raise ApplicationError(_("No fee is due for this dossier now."), status=409)
    order_id = f"{dossier.reference}-{secrets.token_hex(4).upper()}"
    with transaction.atomic():
        payment = Payment.objects.create(
            dossier=dossier, order_id=order_id, amount_vnd=total, timing=timing, items=items, created_by=user
        )
        audit_record(action="citizens.payment_started", actor=user, obj=payment, data={"amount": total})
    try:
        order = get_payment_provider().order_create(
            order_id=order_id,
            amount_vnd=total,
            description=_("Fees for dossier %(reference)s") % {"reference": dossier.reference},
            return_url=return_url,
            callback_url=callback_url,
        )
    except PaymentError as exc:
        Payment.objects.filter(pk=payment.pk).update(status=Payment.Status.FAILED, failure="provider unavailable")
        raise ApplicationError(str(exc), status=503) from exc
    return order.pay_url


class CallbackRefused(Exception):
    """A callback that must not be acted upon (forged, replayed, unknown, inconsistent)."""


def payment_callback(*, body: bytes, signature: str) -> Payment:
    """Handle a signed callback; the same callback twice counts once; forged or replayed ones are refused."""
    try:
        callback = get_payment_provider().callback_parse(body=body, signature=signature)
    except ValueError as exc:
        raise CallbackRefused(str(exc)) from exc
    if abs(time.time() - callback.timestamp) > settings.PAYMENT_CALLBACK_MAX_AGE_SECONDS:
        raise CallbackRefused("stale callback (replay)")
    body_sha = hashlib.sha256(body).hexdigest()
    with transaction.atomic():
        try:
            with transaction.atomic():
                PaymentCallbackNonce.objects.create(nonce=callback.nonce, body_sha256=body_sha)
        except IntegrityError:
            seen = PaymentCallbackNonce.objects.get(nonce=callback.nonce)
            if seen.body_sha256 != body_sha:
                raise CallbackRefused("nonce reused with another body (replay)") from None
        payment = Payment.objects.select_for_update().filter(order_id=callback.order_id).first()
        if payment is None:
            raise CallbackRefused("unknown order")
        if callback.amount_vnd != payment.amount_vnd:
            raise CallbackRefused("amount differs from the order")
        Payment.objects.filter(pk=payment.pk).update(callbacks=payment.callbacks + 1)
        payment.callbacks += 1
        if payment.status != Payment.Status.PENDING:
            return payment  # a callback received again counts once
        if callback.status == "paid":
            _payment_paid(payment, callback.transaction_id)
        else:
            payment.status = Payment.Status.FAILED
            payment.failure = callback.reason[:200]
            payment.save(update_fields=["status", "failure"])
            audit_record(action="citizens.payment_failed", obj=payment, data={"reason": payment.failure})
    return payment


def _payment_paid(payment: Payment, transaction_id: str) -> None:
    from procedures.lifecycle import dossier_transition

    now = timezone.now()
    payment.status = Payment.Status.PAID
    payment.provider_reference = transaction_id[:80]
    payment.paid_at = now
    payment.receipt_number = f"BL-{now:%Y%m%d}-{payment.pk:06d}"
    payment.save(update_fields=["status", "provider_reference", "paid_at", "receipt_number"])
    audit_record(
        action="citizens.payment_paid",
        obj=payment,
        data={"amount": payment.amount_vnd, "reference": payment.provider_reference, "receipt": payment.receipt_number},
    )
    dossier = Dossier.objects.get(pk=payment.dossier_id)
    if dossier.state == Dossier.State.FEE_DUE:
        dossier_transition(
            dossier_id=dossier.pk,
            action="confirm_payment",
            actor=None,
            payment_reference=payment.provider_reference,
            online=True,
        )
