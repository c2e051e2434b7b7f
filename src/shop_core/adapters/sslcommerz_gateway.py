"""The SSLCommerz v4 payment gateway, over plain httpx (PAYMENTS.md §B1-§B4).

Trust: the IPN and the browser redirects are hints. A payment only counts as succeeded after the
Order Validation API, called with a `val_id`, says VALID/VALIDATED for our `tran_id`; the amount
and currency it reports are what the domain compares with the order (and holds on a mismatch).
The IPN signature (md5, plus sha256 when sent) is checked as well, as defence in depth.

The store password travels in every request (form body or query string, as the gateway wants)
and is never put in an exception message; httpx's own request log line is redacted below.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
from collections.abc import Mapping
from decimal import Decimal, InvalidOperation
from typing import Any
from urllib.parse import parse_qs

import httpx

from shop_core.domain.orders import PaymentMethod
from shop_core.domain.payments import Outcome, Payment, Refund, RefundState
from shop_core.ports.payments import (
    BadWebhook,
    GatewayError,
    GatewayState,
    ProviderEvent,
    RefundAnswer,
    RefundRequest,
    Started,
    StartRequest,
)

INIT_PATH = "/gwprocess/v4/api.php"
VALIDATION_PATH = "/validator/api/validationserverAPI.php"
QUERY_PATH = "/validator/api/merchantTransIDvalidationAPI.php"
RETURN_PATH = "/api/payments/sslcommerz/return/"
IPN_PATH = "/api/payments/webhook/sslcommerz/"

MAX_IPN_BYTES = 64 * 1024
MAX_ID_LENGTH = 30  # tran_id and refund_trans_id
RISK_HOLD = "SSLCommerz risk_level 1: hold for review"
VALID = frozenset({"VALID", "VALIDATED"})
# Not-paid IPN/query statuses. A FAILED attempt stays live (the domain lets it still succeed); the
# others mean the customer left or the session timed out, so the attempt is over.
UNPAID: dict[str, Outcome] = {
    "FAILED": Outcome.FAILED,
    "CANCELLED": Outcome.CANCELLED,
    "UNATTEMPTED": Outcome.CANCELLED,
    "EXPIRED": Outcome.CANCELLED,
}
REFUND_STATES = {"refunded": RefundState.SUCCEEDED, "processing": RefundState.PENDING}
# The customer fields the gateway requires, their length limits and what to send when we lack one.
CUSTOMER_FIELDS: dict[str, tuple[str, int, str]] = {
    "cus_name": ("name", 50, "Customer"),
    "cus_email": ("email", 50, "customer@example.invalid"),
    "cus_phone": ("phone", 20, "N/A"),
    "cus_add1": ("line1", 50, "N/A"),
    "cus_city": ("city", 50, "N/A"),
    "cus_postcode": ("postal_code", 30, "0000"),
    "cus_country": ("country", 50, "Bangladesh"),
}


def _md5(text: str) -> str:
    return hashlib.md5(text.encode()).hexdigest()  # noqa: S324 - the gateway's protocol


def _sha256(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


def _same(expected: str, given: str) -> bool:
    return hmac.compare_digest(expected.encode(), given.encode())


def ipn_signature_ok(fields: Mapping[str, str], store_password: str) -> bool:
    """Whether an IPN's `verify_sign` (and `verify_sign_sha2`, when present) match (§B2).

    The signed string is the `verify_key` fields present (absent ones skipped, "" kept) plus
    `store_passwd` = hash(password), sorted, joined as raw `k=v` with `&`, then hashed.
    """
    verify_key, verify_sign = fields.get("verify_key"), fields.get("verify_sign")
    if not verify_key or not verify_sign:
        return False
    data = {k: fields[k] for k in verify_key.split(",") if k in fields}

    def joined(password_hash: str) -> str:
        signed = {**data, "store_passwd": password_hash}
        return "&".join(f"{k}={signed[k]}" for k in sorted(signed))

    if not _same(_md5(joined(_md5(store_password))), verify_sign):
        return False
    sha2 = fields.get("verify_sign_sha2")
    return sha2 is None or _same(_sha256(joined(_sha256(store_password))), sha2)


def _two_places(amount: int) -> str:
    return f"{Decimal(amount) / 100:.2f}"  # exact: hundredths → "12.50"


def _hundredths(raw: object) -> int:
    try:
        value = Decimal(str(raw)) * 100
    except InvalidOperation:
        raise GatewayError(f"SSLCommerz reported an unreadable amount {raw!r}.") from None
    if not value.is_finite() or value != value.to_integral_value():
        raise GatewayError(f"SSLCommerz reported an unreadable amount {raw!r}.")
    return int(value)


class _RedactStorePassword(logging.Filter):
    """httpx logs every request URL at INFO; the validator APIs carry `store_passwd` in it."""

    def filter(self, record: logging.LogRecord) -> bool:
        if isinstance(record.args, tuple) and any(
            isinstance(a, httpx.URL) and "store_passwd" in a.params for a in record.args
        ):
            record.args = tuple(
                a.copy_set_param("store_passwd", "***")
                if isinstance(a, httpx.URL) and "store_passwd" in a.params
                else a
                for a in record.args
            )
        return True


_httpx_logger = logging.getLogger("httpx")
if not any(isinstance(f, _RedactStorePassword) for f in _httpx_logger.filters):
    _httpx_logger.addFilter(_RedactStorePassword())


class SslcommerzGateway:
    gateway = PaymentMethod.SSLCOMMERZ

    def __init__(
        self,
        store_id: str,
        store_password: str,
        *,
        base_url: str,
        public_base_url: str,
        timeout: float = 20.0,
        client: httpx.AsyncClient | None = None,
    ) -> None:
        self._store_id = store_id
        self._password = store_password
        self._base = base_url.rstrip("/")
        self._public = public_base_url.rstrip("/")
        self._owns_client = client is None
        self._http = client or httpx.AsyncClient(timeout=timeout)

    async def aclose(self) -> None:
        if self._owns_client:
            await self._http.aclose()

    # ----------------------------------------------------------------- transport

    async def _call(self, method: str, path: str, params: dict[str, str]) -> dict[str, Any]:
        """One API call with our credentials; GatewayError for anything but a JSON object."""
        auth = {"store_id": self._store_id, "store_passwd": self._password}
        url = self._base + path
        try:
            if method == "POST":
                response = await self._http.post(url, data={**auth, **params})
            else:
                response = await self._http.get(url, params={**auth, **params, "v": "1", "format": "json"})
        except httpx.HTTPError as exc:
            # `from None`: the exception's request URL may carry the password.
            raise GatewayError(f"SSLCommerz could not be reached ({type(exc).__name__} on {path}).") from None
        if response.status_code != httpx.codes.OK:
            raise GatewayError(f"SSLCommerz answered HTTP {response.status_code} on {path}.")
        try:
            answer = response.json()
        except (json.JSONDecodeError, UnicodeDecodeError):
            raise GatewayError(f"SSLCommerz answered {path} with something other than JSON.") from None
        if not isinstance(answer, dict):
            raise GatewayError(f"SSLCommerz answered {path} with something other than a JSON object.")
        connect = answer.get("APIConnect")
        if connect is not None and connect != "DONE":
            raise GatewayError(f"SSLCommerz refused the call to {path} (APIConnect {connect}).")
        return answer

    # ----------------------------------------------------------------- payments

    async def start(self, request: StartRequest) -> Started:
        # A retry of the same attempt reuses the tran_id, but SSLCommerz opens a new session for
        # it: the caller should keep the first redirect_url rather than start again.
        tran_id = f"{request.order_number}-{request.attempt}"
        if len(tran_id) > MAX_ID_LENGTH:
            raise GatewayError(f"tran_id {tran_id!r} is longer than SSLCommerz's {MAX_ID_LENGTH} characters.")
        customer = {
            name: (str(getattr(request.customer, attr) or "").strip() or fallback)[:limit]
            for name, (attr, limit, fallback) in CUSTOMER_FIELDS.items()
        }
        return_url = self._public + RETURN_PATH
        answer = await self._call(
            "POST",
            INIT_PATH,
            {
                "total_amount": _two_places(request.amount),
                "currency": request.currency.upper(),
                "tran_id": tran_id,
                "success_url": return_url,
                "fail_url": return_url,
                "cancel_url": return_url,
                "ipn_url": self._public + IPN_PATH,
                **customer,
                "shipping_method": "NO",
                "num_of_item": str(max(request.item_count, 1)),
                "product_name": request.description[:255] or request.order_number,
                "product_category": "general",
                "product_profile": "general",
                "value_a": str(request.payment_id),
                "value_b": request.order_number,
            },
        )
        if answer.get("status") != "SUCCESS":
            # Bad credentials, an amount out of range, a field refused: nothing the customer can fix.
            raise GatewayError(
                f"SSLCommerz refused the session: {answer.get('failedreason') or 'no reason'}."
            )
        page = str(answer.get("GatewayPageURL") or "")
        # Only https is sent to a customer, unless the gateway itself is plain http (the stand-in).
        if not page.startswith("https://") and not (self._base.startswith("http://") and page):
            raise GatewayError("SSLCommerz gave no https GatewayPageURL.")
        return Started(reference=tran_id, redirect_url=page)

    async def _validated(
        self, val_id: str, tran_id: str, mismatch: type[Exception] = GatewayError
    ) -> GatewayState | None:
        """The Order Validation API's word on `val_id` (None: it knows no valid transaction)."""
        answer = await self._call("GET", VALIDATION_PATH, {"val_id": val_id})
        status = answer.get("status")
        if status not in VALID:
            return None
        if answer.get("tran_id") != tran_id:
            raise mismatch(f"val_id {val_id!r} belongs to another transaction than {tran_id!r}.")
        currency_type = str(answer.get("currency_type") or "")
        # Non-BDT payments are converted: amount/currency are BDT, currency_* what was asked (§B4).
        amount = answer.get("currency_amount") if currency_type else answer.get("amount")
        value_a = str(answer.get("value_a") or "")
        return GatewayState(
            reference=tran_id,
            outcome=Outcome.SUCCEEDED,
            amount=_hundredths(amount),
            currency=(currency_type or str(answer.get("currency") or "")).upper() or None,
            payment_id=int(value_a) if value_a.isascii() and value_a.isdigit() else None,
            hold_reason=RISK_HOLD if str(answer.get("risk_level")) == "1" else "",
            provider_data={"bank_tran_id": str(answer.get("bank_tran_id") or ""), "val_id": val_id},
        )

    async def fetch(self, payment: Payment) -> GatewayState:
        tran_id = payment.reference
        answer = await self._call("GET", QUERY_PATH, {"tran_id": tran_id})
        elements = answer.get("element")
        found = [e for e in elements if isinstance(e, dict)] if isinstance(elements, list) else []
        for element in found:
            if element.get("status") in VALID and element.get("val_id"):
                state = await self._validated(str(element["val_id"]), tran_id)
                if state is not None:
                    return state
        statuses = {str(e.get("status")) for e in found}
        # FAILED first: it keeps the payment live, should a later element of it still be paid.
        for status in ("FAILED", "CANCELLED", "UNATTEMPTED", "EXPIRED"):
            if status in statuses:
                error = next(str(e.get("error") or "") for e in found if e.get("status") == status)
                return GatewayState(reference=tran_id, outcome=UNPAID[status], failure=error or status)
        return GatewayState(reference=tran_id, outcome=Outcome.PENDING)  # PENDING, INVALID, nothing

    async def parse_webhook(self, body: bytes, headers: Mapping[str, str]) -> ProviderEvent | None:
        fields = _ipn_fields(body)
        if not ipn_signature_ok(fields, self._password):
            raise BadWebhook("The IPN signature does not check out.")
        signed = set(fields["verify_key"].split(","))
        if not {"tran_id", "status"} <= signed:
            raise BadWebhook("The IPN does not sign its tran_id and status.")
        if fields.get("store_id") != self._store_id:
            raise BadWebhook("The IPN is for another store.")
        tran_id, status = fields.get("tran_id", ""), fields.get("status", "")
        if not tran_id:
            raise BadWebhook("The IPN has no tran_id.")
        if status in VALID:
            val_id = fields.get("val_id", "")
            state = await self._validated(val_id, tran_id, BadWebhook) if val_id else None
            if state is None:
                raise BadWebhook(f"SSLCommerz does not confirm val_id {val_id!r} of {tran_id!r}.")
            return ProviderEvent(event_id=f"ipn:{val_id}", kind="payment", payment=state, type=status)
        if status in UNPAID:
            # No val_id to validate: the signature is all there is (a FAILED one changes little).
            state = GatewayState(
                reference=tran_id, outcome=UNPAID[status], failure=fields.get("error") or status
            )
            return ProviderEvent(
                event_id=f"ipn:{tran_id}:{status}", kind="payment", payment=state, type=status
            )
        raise BadWebhook(f"The IPN has an unknown status {status!r}.")

    # ----------------------------------------------------------------- refunds

    async def refund(self, request: RefundRequest) -> RefundAnswer:
        if request.currency.upper() != "BDT":
            # SSLCommerz refunds the BDT it settled, and refund_amount is read as BDT: 12.50 USD
            # would return 12.50 BDT. Such refunds are made in the merchant panel instead.
            raise GatewayError(f"SSLCommerz refunds only BDT here, not {request.currency}.")
        bank_tran_id = request.provider_data.get("bank_tran_id", "")
        if not bank_tran_id:
            raise GatewayError(f"Payment {request.payment_reference!r} has no bank_tran_id to refund.")
        answer = await self._call(
            "GET",
            QUERY_PATH,
            {
                "bank_tran_id": bank_tran_id,
                # Deterministic, so a retry of the same refund is the same refund at SSLCommerz.
                "refund_trans_id": f"R{request.refund_id}",
                "refund_amount": _two_places(request.amount),
                "refund_remarks": (request.reason.strip() or "Refund")[:255],
                "refe_id": str(request.refund_id),
            },
        )
        return _refund_answer(answer, {"success": RefundState.SUCCEEDED, "processing": RefundState.PENDING})

    async def refund_status(self, refund: Refund, payment: Payment) -> RefundAnswer:
        answer = await self._call("GET", QUERY_PATH, {"refund_ref_id": refund.reference})
        return _refund_answer(answer, {**REFUND_STATES, "cancelled": RefundState.FAILED})


def _refund_answer(answer: Mapping[str, Any], states: Mapping[str, RefundState]) -> RefundAnswer:
    """The refund's state; GatewayError for `failed` (the refund did not happen) or anything else."""
    status, reference = str(answer.get("status") or ""), str(answer.get("refund_ref_id") or "")
    if status in states and reference:
        failure = "cancelled by SSLCommerz" if states[status] is RefundState.FAILED else ""
        return RefundAnswer(reference=reference, state=states[status], failure=failure)
    reason = str(answer.get("errorReason") or "") or status or "no answer"
    raise GatewayError(f"SSLCommerz refused the refund: {reason}.")


def _ipn_fields(body: bytes) -> dict[str, str]:
    """The IPN's urlencoded form, one value per key (BadWebhook for anything odd)."""
    if len(body) > MAX_IPN_BYTES:
        raise BadWebhook("The IPN body is too large.")
    try:
        parsed = parse_qs(body.decode(), keep_blank_values=True, errors="strict", max_num_fields=200)
    except (UnicodeDecodeError, ValueError):
        raise BadWebhook("The IPN body is not a UTF-8 urlencoded form.") from None
    if any(len(set(values)) > 1 for values in parsed.values()):
        raise BadWebhook("The IPN repeats a field with different values.")
    return {key: values[0] for key, values in parsed.items()}
