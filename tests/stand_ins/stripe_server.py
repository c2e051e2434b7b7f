"""A small, stateful, test-only stand-in for the Stripe v1 API (PAYMENTS.md §C1).

It speaks the wire protocol stripe-python 16.x uses: form-encoded bodies with bracket keys, Bearer auth,
``Idempotency-Key`` replay, Stripe's error envelope and status codes, and ``object``-tagged JSON so the SDK
builds the right classes. State lives in memory; every emitted event is kept in ``events`` and can be turned
into a signed webhook delivery with :meth:`StripeStandIn.webhook` — delivering it is the test's job.

Served by the standard library's ``ThreadingHTTPServer`` on ``127.0.0.1`` with a free port::

    with StripeStandIn() as fake:
        client = stripe.StripeClient(fake.api_key, base_addresses={"api": fake.url})
"""

from __future__ import annotations

import base64
import binascii
import copy
import hashlib
import hmac
import json
import re
import secrets
import string
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from typing import Any, Self
from urllib.parse import parse_qsl, urlsplit

from stripe._api_version import _ApiVersion

API_VERSION: str = _ApiVersion.CURRENT
WEBHOOK_USER_AGENT = "Stripe/1.0 (+https://stripe.com/docs/webhooks)"
IDEMPOTENCY_MISMATCH = (
    "Keys for idempotent requests can only be used with the same parameters they were first used with. "
    "Try using a key other than '{key}' if you meant to execute a different request."
)
RETURN_URL_REQUIRED = (
    "A `return_url` must be specified because this Payment Intent is configured to automatically accept "
    "the payment methods enabled in the Dashboard, some of which may require a full page redirect to "
    "succeed. If you do not want to accept redirect-based payment methods, set "
    "`automatic_payment_methods[enabled]` to `true` and `automatic_payment_methods[allow_redirects]` to "
    "`never` when creating Setup Intents and Payment Intents."
)
MAX_AMOUNT = 99_999_999
# From this API version on, ``payment_method_types`` is no longer writable on PaymentIntents
# (docs.stripe.com/changelog/endive/2026-09-30); ``allowed_payment_method_types`` replaces it.
PAYMENT_METHOD_TYPES_REMOVED_IN = "2026-09-30"

# Test PaymentMethod ids (PAYMENTS.md §A4).
_CARD_BRANDS = {
    "pm_card_visa": ("visa", "4242"),
    "pm_card_visa_debit": ("visa", "5556"),
    "pm_card_mastercard": ("mastercard", "4444"),
    "pm_card_amex": ("amex", "8431"),
    "pm_card_discover": ("discover", "1117"),
}
_GENERIC = ("card_declined", "generic_decline", "Your card was declined.")
_INSUFFICIENT = ("card_declined", "insufficient_funds", "Your card has insufficient funds.")
_DECLINES: dict[str, tuple[str, str, str]] = {
    "pm_card_chargeDeclined": _GENERIC,
    "pm_card_visa_chargeDeclined": _GENERIC,
    "pm_card_chargeCustomerFail": _GENERIC,
    "pm_card_chargeDeclinedInsufficientFunds": _INSUFFICIENT,
    "pm_card_visa_chargeDeclinedInsufficientFunds": _INSUFFICIENT,
    "pm_card_chargeDeclinedFraudulent": ("card_declined", "fraudulent", "Your card was declined."),
    "pm_card_visa_chargeDeclinedFraudulent": ("card_declined", "fraudulent", "Your card was declined."),
    "pm_card_chargeDeclinedLostCard": ("card_declined", "lost_card", "Your card was declined."),
    "pm_card_visa_chargeDeclinedLostCard": ("card_declined", "lost_card", "Your card was declined."),
    "pm_card_chargeDeclinedStolenCard": ("card_declined", "stolen_card", "Your card was declined."),
    "pm_card_visa_chargeDeclinedStolenCard": ("card_declined", "stolen_card", "Your card was declined."),
    "pm_card_chargeDeclinedExpiredCard": ("expired_card", "expired_card", "Your card has expired."),
    "pm_card_chargeDeclinedIncorrectCvc": (
        "incorrect_cvc",
        "incorrect_cvc",
        "Your card's security code is incorrect.",
    ),
    "pm_card_chargeDeclinedProcessingError": (
        "processing_error",
        "processing_error",
        "An error occurred while processing your card. Try again in a little bit.",
    ),
}
_THREE_DS = {
    "pm_card_authenticationRequired",
    "pm_card_threeDSecure2Required",
    "pm_card_threeDSecureRequired",
}
_CONFIRMABLE = ("requires_confirmation", "requires_payment_method")
_CANCELABLE = ("requires_payment_method", "requires_capture", "requires_confirmation", "requires_action")
_CANCELLATION_REASONS = {"duplicate", "fraudulent", "requested_by_customer", "abandoned"}
_REFUND_REASONS = {"duplicate", "fraudulent", "requested_by_customer"}

# Parameters each endpoint accepts; anything else is rejected like Stripe does ("Received unknown
# parameter"), so a typo in the app shows up in tests. Accepted-but-unused ones are listed too.
_COMMON = {"expand"}
_PI_CREATE_PARAMS = _COMMON | {
    "amount", "currency", "automatic_payment_methods", "capture_method", "confirm", "confirmation_method",
    "customer", "description", "metadata", "payment_method", "payment_method_types", "receipt_email",
    "allowed_payment_method_types",
    "return_url", "setup_future_usage", "shipping", "statement_descriptor", "statement_descriptor_suffix",
    "payment_method_options", "payment_method_data", "payment_method_configuration", "off_session",
    "error_on_requires_action", "use_stripe_sdk", "mandate_data", "radar_options", "transfer_data",
    "transfer_group", "on_behalf_of", "application_fee_amount", "excluded_payment_method_types",
    "confirmation_token", "amount_details", "payment_details", "hooks",
}  # fmt: skip
_PI_UPDATE_PARAMS = _COMMON | {
    "amount", "currency", "description", "metadata", "payment_method", "receipt_email", "shipping",
    "statement_descriptor", "statement_descriptor_suffix", "setup_future_usage", "payment_method_options",
    "payment_method_types", "payment_method_data", "transfer_group", "customer",
    "allowed_payment_method_types",
}  # fmt: skip
_PI_CONFIRM_PARAMS = _COMMON | {
    "payment_method", "return_url", "receipt_email", "setup_future_usage", "shipping", "capture_method",
    "payment_method_options", "payment_method_data", "payment_method_types", "mandate_data", "off_session",
    "allowed_payment_method_types",
    "error_on_requires_action", "use_stripe_sdk", "radar_options", "confirmation_token", "client_secret",
}  # fmt: skip
_PI_CANCEL_PARAMS = _COMMON | {"cancellation_reason"}
_REFUND_CREATE_PARAMS = _COMMON | {
    "amount", "charge", "payment_intent", "reason", "metadata", "currency", "customer",
    "instructions_email", "origin", "refund_application_fee", "reverse_transfer",
}  # fmt: skip
_LIST_PARAMS = _COMMON | {"limit", "starting_after", "ending_before", "created"}
_RETRIEVE_PARAMS = _COMMON | {"client_secret"}

_SEARCH_CLAUSE = re.compile(r"""(status|currency|customer|metadata\[['"]([^'"]+)['"]\]):['"]([^'"]*)['"]""")
_ALNUM = string.ascii_letters + string.digits


def _rand(n: int = 24) -> str:
    return "".join(secrets.choice(_ALNUM) for _ in range(n))


def _now() -> int:
    return int(time.time())


class ApiError(Exception):
    """An error answer: HTTP status, the ``error`` object, and whether idempotency may store it."""

    def __init__(self, status: int, error: dict[str, Any], *, store: bool = True) -> None:
        super().__init__(error.get("message"))
        self.status = status
        self.error = error
        self.store = store

    @property
    def body(self) -> dict[str, Any]:
        return {"error": self.error}


def _invalid(
    message: str, *, param: str | None = None, code: str | None = None, status: int = 400, store: bool = False
) -> ApiError:
    """A request error; by default a parameter-validation failure (which idempotency does not store)."""
    error: dict[str, Any] = {"type": "invalid_request_error", "message": message}
    if param is not None:
        error["param"] = param
    if code is not None:
        error["code"] = code
        error["doc_url"] = f"https://stripe.com/docs/error-codes/{code.replace('_', '-')}"
    return ApiError(status, error, store=store)


def _missing(kind: str, obj_id: str, param: str = "id") -> ApiError:
    return _invalid(
        f"No such {kind}: '{obj_id}'", param=param, code="resource_missing", status=404, store=True
    )


# ---------------------------------------------------------------------------------------------------------
# Form decoding


def _split_key(key: str) -> list[str]:
    match = re.fullmatch(r"([^\[\]]+)((?:\[[^\[\]]*\])*)", key)
    if match is None:
        raise _invalid(f"Invalid parameter name: {key}", code="parameter_unknown")
    return [match.group(1), *re.findall(r"\[([^\[\]]*)\]", match.group(2))]


def _listify(value: Any, *, under_metadata: bool = False) -> Any:
    if not isinstance(value, dict):
        return value
    converted = {k: _listify(v, under_metadata=under_metadata or k == "metadata") for k, v in value.items()}
    keys = list(converted)
    if not under_metadata and keys and all(k.isdigit() for k in keys):
        indices = sorted(int(k) for k in keys)
        if indices == list(range(len(indices))):
            return [converted[str(i)] for i in indices]
    return converted


def decode_form(raw: str) -> dict[str, Any]:
    """``a[b][c]=1&l[0]=x&l[]=y`` → ``{"a": {"b": {"c": "1"}}, "l": ["x", "y"]}`` (values stay strings)."""
    root: dict[str, Any] = {}
    for key, value in parse_qsl(raw, keep_blank_values=True):
        parts = _split_key(key)
        node = root
        for depth, part in enumerate(parts):
            name = part if part != "" else str(len(node))
            if depth == len(parts) - 1:
                if isinstance(node.get(name), dict):
                    raise _invalid(f"Invalid value for {parts[0]}: expected a hash.", param=key)
                node[name] = value
            else:
                child = node.setdefault(name, {})
                if not isinstance(child, dict):
                    raise _invalid(f"Invalid value for {parts[0]}: cannot mix a value and a hash.", param=key)
                node = child
    result = _listify(root)
    assert isinstance(result, dict)
    return result


# ---------------------------------------------------------------------------------------------------------
# Parameter helpers


def _check_known(params: dict[str, Any], allowed: set[str]) -> None:
    for name in params:
        if name not in allowed:
            raise _invalid(f"Received unknown parameter: {name}", param=name, code="parameter_unknown")


def _int_param(params: dict[str, Any], name: str, *, required: bool, minimum: int = 1) -> int | None:
    if params.get(name) in (None, ""):
        if required:
            raise _invalid(f"Missing required param: {name}.", param=name, code="parameter_missing")
        return None
    raw = params[name]
    if not isinstance(raw, str) or re.fullmatch(r"-?\d+", raw) is None:
        raise _invalid(f"Invalid integer: {raw}", param=name, code="parameter_invalid_integer")
    value = int(raw)
    if value < minimum:
        raise _invalid(
            f"This value must be greater than or equal to {minimum}.",
            param=name,
            code="parameter_invalid_integer",
        )
    if value > MAX_AMOUNT:
        raise _invalid(
            f"This value must be less than or equal to {MAX_AMOUNT}.",
            param=name,
            code="parameter_invalid_integer",
        )
    return value


def _str_param(params: dict[str, Any], name: str) -> str | None:
    value = params.get(name)
    if value is None or value == "":
        return None
    if not isinstance(value, str):
        raise _invalid(f"Invalid string: {value!r}", param=name, code="parameter_invalid_string")
    return value


def _currency_param(params: dict[str, Any], *, required: bool) -> str | None:
    currency = _str_param(params, "currency")
    if currency is None:
        if required:
            raise _invalid("Missing required param: currency.", param="currency", code="parameter_missing")
        return None
    if re.fullmatch(r"[A-Za-z]{3}", currency) is None:
        raise _invalid(f"Invalid currency: {currency.lower()}.", param="currency", code="invalid_currency")
    return currency.lower()


def _bool_param(params: dict[str, Any], name: str, value: Any) -> bool:
    if value in ("true", True):
        return True
    if value in ("false", False):
        return False
    raise _invalid(f"Invalid boolean: {value}", param=name, code="parameter_invalid_boolean")


def _choice(params: dict[str, Any], name: str, allowed: set[str]) -> str | None:
    value = _str_param(params, name)
    if value is not None and value not in allowed:
        options = ", ".join(f"`{v}`" for v in sorted(allowed))
        raise _invalid(
            f"Invalid {name}: must be one of {options}", param=name, code="parameter_invalid_string"
        )
    return value


def _metadata(params: dict[str, Any], current: dict[str, str] | None = None) -> dict[str, str]:
    result = dict(current or {})
    raw = params.get("metadata")
    if raw is None:
        return result
    if raw == "":
        return {}
    if not isinstance(raw, dict):
        raise _invalid("Invalid hash", param="metadata", code="parameter_invalid_string")
    for key, value in raw.items():
        if not isinstance(value, str):
            raise _invalid("Metadata values must be strings.", param=f"metadata[{key}]")
        if value == "":
            result.pop(key, None)
        else:
            result[key] = value
    return result


def _money(amount: int, currency: str) -> str:
    return f"{amount / 100:.2f} {currency}" if currency else f"{amount / 100:.2f}"


# ---------------------------------------------------------------------------------------------------------
# Records


@dataclass
class Recorded:
    """One HTTP request the stand-in received (``status`` is filled in once it has been answered)."""

    method: str
    path: str
    headers: dict[str, str]
    body: bytes
    params: dict[str, Any]
    query: str = ""
    status: int | None = None

    @property
    def idempotency_key(self) -> str | None:
        return self.headers.get("idempotency-key")


@dataclass
class _Stored:
    fingerprint: str
    status: int
    body: dict[str, Any]
    request_id: str


@dataclass
class _Context:
    request_id: str | None
    idempotency_key: str | None
    method: str = "POST"
    stripe_version: str = API_VERSION


@dataclass
class _Failure:
    status: int
    should_retry: bool | None


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    stand_in: StripeStandIn


class _Handler(BaseHTTPRequestHandler):
    server: _Server
    server_version = "stripe-stand-in"
    sys_version = ""

    def log_message(self, format: str, *args: Any) -> None:
        """Silence the per-request log lines."""

    def do_GET(self) -> None:
        self._serve("GET")

    def do_POST(self) -> None:
        self._serve("POST")

    def do_DELETE(self) -> None:
        self._serve("DELETE")

    def _serve(self, method: str) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length) if length else b""
        headers = {k.lower(): v for k, v in self.headers.items()}
        status, body, extra = self.server.stand_in._handle(method, self.path, headers, raw)
        payload = json.dumps(body, indent=2).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(payload)))
        for name, value in extra.items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(payload)


Route = Callable[[dict[str, Any], _Context, str], dict[str, Any]]


class StripeStandIn:
    """In-memory Stripe: PaymentIntents, Charges, Refunds and Events over HTTP on loopback."""

    def __init__(self, api_key: str = "sk_test_standin", webhook_secret: str | None = None) -> None:
        self.api_key = api_key
        self.webhook_secret = webhook_secret or f"whsec_standin_{_rand(32)}"
        self.events: list[dict[str, Any]] = []
        self.requests: list[Recorded] = []
        self._lock = threading.RLock()
        self._key_locks: dict[tuple[str, str], threading.Lock] = {}
        self._idempotent: dict[tuple[str, str], _Stored] = {}
        self._failures: list[_Failure] = []
        self._delays: list[float] = []
        self._pis: dict[str, dict[str, Any]] = {}
        self._charges: dict[str, dict[str, Any]] = {}
        self._refunds: dict[str, dict[str, Any]] = {}
        self._refund_mode = "succeeded"
        self._server: _Server | None = None
        self._thread: threading.Thread | None = None
        self._routes: list[tuple[str, re.Pattern[str], Route]] = [
            ("POST", re.compile(r"/v1/payment_intents"), self._create_pi),
            ("GET", re.compile(r"/v1/payment_intents"), self._list_pis),
            ("GET", re.compile(r"/v1/payment_intents/search"), self._search_pis),
            ("GET", re.compile(r"/v1/payment_intents/([^/]+)"), self._get_pi),
            ("POST", re.compile(r"/v1/payment_intents/([^/]+)"), self._update_pi),
            ("POST", re.compile(r"/v1/payment_intents/([^/]+)/confirm"), self._confirm_route),
            ("POST", re.compile(r"/v1/payment_intents/([^/]+)/cancel"), self._cancel_pi),
            ("POST", re.compile(r"/v1/refunds"), self._create_refund),
            ("GET", re.compile(r"/v1/refunds/([^/]+)"), self._get_refund),
            ("GET", re.compile(r"/v1/charges/([^/]+)"), self._get_charge),
            ("GET", re.compile(r"/v1/events"), self._list_events),
            ("GET", re.compile(r"/v1/events/([^/]+)"), self._get_event),
        ]

    # -- lifecycle -------------------------------------------------------------------------------------

    @property
    def url(self) -> str:
        if self._server is None:
            raise RuntimeError("StripeStandIn is not started")
        host, port = self._server.server_address[:2]
        return f"http://{host!s}:{port}"

    def start(self) -> None:
        if self._server is not None:
            return
        server = _Server(("127.0.0.1", 0), _Handler)
        server.stand_in = self
        self._server = server
        self._thread = threading.Thread(
            target=server.serve_forever, kwargs={"poll_interval": 0.05}, name="stripe-stand-in", daemon=True
        )
        self._thread.start()

    def stop(self) -> None:
        server, thread = self._server, self._thread
        self._server = self._thread = None
        if server is not None:
            server.shutdown()
            server.server_close()
        if thread is not None:
            thread.join(timeout=5)

    def __enter__(self) -> Self:
        self.start()
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()

    # -- test controls -----------------------------------------------------------------------------------

    def fail_next(self, count: int, status: int = 500, *, should_retry: bool | None = None) -> None:
        """Answer the next ``count`` POSTs with ``status`` before executing them (nothing is stored)."""
        with self._lock:
            self._failures.extend(_Failure(status, should_retry) for _ in range(count))

    def delay_next(self, seconds: float, count: int = 1) -> None:
        """Make the next ``count`` POSTs take ``seconds`` longer: they execute, then wait before their
        result is stored and sent (holding their idempotency key, so a same-key request waits too)."""
        with self._lock:
            self._delays.extend(seconds for _ in range(count))

    def payment_intent(self, pi_id: str) -> dict[str, Any]:
        with self._lock:
            return copy.deepcopy(self._pis[pi_id])

    def payment_intents(self) -> list[dict[str, Any]]:
        with self._lock:
            return copy.deepcopy(list(self._pis.values()))

    def charge(self, ch_id: str) -> dict[str, Any]:
        with self._lock:
            return copy.deepcopy(self._charges[ch_id])

    def refund(self, re_id: str) -> dict[str, Any]:
        with self._lock:
            return copy.deepcopy(self._refunds[re_id])

    def refunds(self) -> list[dict[str, Any]]:
        with self._lock:
            return copy.deepcopy(list(self._refunds.values()))

    def events_of(self, type_: str) -> list[dict[str, Any]]:
        """Copies of the emitted events of one type, oldest first."""
        with self._lock:
            return [copy.deepcopy(e) for e in self.events if e["type"] == type_]

    def pay(self, pi_id: str, payment_method: str = "pm_card_visa") -> dict[str, Any]:
        """What the customer's browser does with the client_secret: confirm with a test payment method.

        Returns the PaymentIntent, or the ``{"error": ...}`` body for a decline or a refused confirm.
        """
        ctx = _Context(request_id=f"req_{_rand(14)}", idempotency_key=None)
        with self._lock:
            if pi_id not in self._pis:
                raise KeyError(pi_id)
            try:
                return copy.deepcopy(self._confirm(pi_id, {"payment_method": payment_method}, ctx))
            except ApiError as exc:
                return copy.deepcopy(exc.body)

    def complete_action(self, pi_id: str, *, success: bool = True) -> dict[str, Any]:
        """Finish (or fail) the 3D Secure step of a ``requires_action`` PaymentIntent."""
        ctx = _Context(request_id=None, idempotency_key=None)
        with self._lock:
            pi = self._pis[pi_id]
            if pi["status"] != "requires_action":
                raise ValueError(f"{pi_id} is {pi['status']}, not requires_action")
            pi["next_action"] = None
            if success:
                self._succeed(pi, pi["payment_method"], ctx)
            else:
                error = {
                    "type": "invalid_request_error",
                    "code": "payment_intent_authentication_failure",
                    "message": "The provided PaymentMethod has failed authentication. You can provide "
                    "payment_method_data or a new PaymentMethod to attempt to fulfill this PaymentIntent "
                    "again.",
                    "payment_method": self._payment_method(pi["payment_method"]),
                }
                pi.update(status="requires_payment_method", payment_method=None, last_payment_error=error)
                self._emit("payment_intent.payment_failed", pi, ctx)
            return copy.deepcopy(pi)

    def set_refund_mode(self, status: str) -> None:
        if status not in ("succeeded", "pending"):
            raise ValueError("refund mode must be 'succeeded' or 'pending'")
        with self._lock:
            self._refund_mode = status

    def settle_refund(self, re_id: str, status: str = "succeeded") -> dict[str, Any]:
        """Move a pending refund to ``succeeded`` or ``failed`` and emit the matching events."""
        if status not in ("succeeded", "failed"):
            raise ValueError("status must be 'succeeded' or 'failed'")
        ctx = _Context(request_id=None, idempotency_key=None)
        with self._lock:
            refund = self._refunds[re_id]
            if refund["status"] != "pending":
                raise ValueError(f"{re_id} is {refund['status']}, not pending")
            charge = self._charges[refund["charge"]]
            refund["status"] = status
            if status == "failed":
                refund["failure_reason"] = "unknown"
                charge["amount_refunded"] -= refund["amount"]
                charge["refunded"] = charge["amount_refunded"] >= charge["amount"]
            self._emit("refund.updated", refund, ctx, previous={"status": "pending"})
            if status == "succeeded":
                self._emit("charge.refunded", charge, ctx)
            else:
                self._emit("refund.failed", refund, ctx)
            return copy.deepcopy(refund)

    # -- webhooks --------------------------------------------------------------------------------------

    def sign(
        self,
        payload: bytes,
        *,
        timestamp: int | None = None,
        secret: str | None = None,
        extra_v0: bool = False,
        second_v1_secret: str | None = None,
    ) -> str:
        """A ``Stripe-Signature`` header value for ``payload`` (same scheme as the SDK's signer)."""
        ts = _now() if timestamp is None else timestamp
        signed = f"{ts}.{payload.decode('utf-8')}".encode()

        def mac(key: str) -> str:
            return hmac.new(key.encode("utf-8"), signed, hashlib.sha256).hexdigest()

        parts = [f"t={ts}", f"v1={mac(secret or self.webhook_secret)}"]
        if second_v1_secret is not None:
            parts.append(f"v1={mac(second_v1_secret)}")
        if extra_v0:
            parts.append(f"v0={mac(f'whsec_v0_{_rand(16)}')}")
        return ",".join(parts)

    def webhook(
        self, event: dict[str, Any], *, timestamp: int | None = None, secret: str | None = None
    ) -> tuple[bytes, dict[str, str]]:
        """Body and headers of the POST Stripe would make to deliver ``event``."""
        body = json.dumps(event).encode()
        headers = {
            "Content-Type": "application/json; charset=utf-8",
            "Stripe-Signature": self.sign(body, timestamp=timestamp, secret=secret),
            "User-Agent": WEBHOOK_USER_AGENT,
        }
        return body, headers

    # -- HTTP dispatch ---------------------------------------------------------------------------------

    def _handle(
        self, method: str, target: str, headers: dict[str, str], raw: bytes
    ) -> tuple[int, dict[str, Any], dict[str, str]]:
        split = urlsplit(target)
        record = Recorded(method, split.path, headers, raw, {}, split.query)
        with self._lock:
            self.requests.append(record)
        request_id = f"req_{_rand(14)}"
        extra = {"Request-Id": request_id, "Stripe-Version": headers.get("stripe-version", API_VERSION)}
        try:
            status, body = self._answer(record, request_id, extra)
        except ApiError as exc:
            status, body = exc.status, exc.body
        except Exception as exc:  # noqa: BLE001 - a stand-in bug must surface as a readable 500, not a reset
            status, body = 500, {"error": {"type": "api_error", "message": f"Stand-in crashed: {exc!r}"}}
            extra["Stripe-Should-Retry"] = "false"
        record.status = status
        return status, body, extra

    def _answer(self, record: Recorded, request_id: str, extra: dict[str, str]) -> tuple[int, dict[str, Any]]:
        """Failure injection, auth, routing, then execution (through the idempotency layer for POSTs)."""
        method, path = record.method, record.path
        parse_error: ApiError | None = None
        try:
            record.params = decode_form(record.body.decode("utf-8") if method == "POST" else record.query)
        except ApiError as exc:
            parse_error = exc
        except UnicodeDecodeError:
            parse_error = _invalid("The request body is not valid UTF-8.")

        if method == "POST":
            with self._lock:
                failure = self._failures.pop(0) if self._failures else None
            if failure is not None:
                if failure.should_retry is not None:
                    extra["Stripe-Should-Retry"] = "true" if failure.should_retry else "false"
                raise ApiError(failure.status, _injected_error(failure.status))

        api_key = self._authenticate(record.headers.get("authorization"))
        handler, arg = self._route(method, path)
        if parse_error is not None:
            raise parse_error

        idem_key = record.headers.get("idempotency-key") if method == "POST" else None
        ctx = _Context(
            request_id=request_id,
            idempotency_key=idem_key,
            method=method,
            stripe_version=record.headers.get("stripe-version") or API_VERSION,
        )
        if idem_key is None:
            return self._execute(handler, record.params, ctx, arg)[:2]
        extra["Idempotency-Key"] = idem_key
        if len(idem_key) > 255:
            raise _invalid("Idempotency keys must be at most 255 characters long.", param="idempotency_key")
        return self._idempotent_execute((api_key, idem_key), record, (handler, arg), ctx, extra)

    def _idempotent_execute(
        self,
        slot: tuple[str, str],
        record: Recorded,
        route: tuple[Route, str],
        ctx: _Context,
        extra: dict[str, str],
    ) -> tuple[int, dict[str, Any]]:
        fingerprint = hashlib.sha256(
            b"\0".join([record.method.encode(), record.path.encode(), record.body])
        ).hexdigest()
        with self._lock:
            key_lock = self._key_locks.setdefault(slot, threading.Lock())
        with key_lock:  # concurrent requests with one key run one after the other
            with self._lock:
                stored = self._idempotent.get(slot)
            if stored is not None:
                if stored.fingerprint != fingerprint:
                    error = {"type": "idempotency_error", "message": IDEMPOTENCY_MISMATCH.format(key=slot[1])}
                    raise ApiError(400, error, store=False)
                extra["Idempotent-Replayed"] = "true"
                extra["Original-Request"] = stored.request_id
                return stored.status, copy.deepcopy(stored.body)
            status, body, store = self._execute(route[0], record.params, ctx, route[1])
            if store:
                with self._lock:
                    self._idempotent[slot] = _Stored(
                        fingerprint, status, copy.deepcopy(body), ctx.request_id or ""
                    )
            return status, body

    def _execute(
        self, handler: Route, params: dict[str, Any], ctx: _Context, arg: str
    ) -> tuple[int, dict[str, Any], bool]:
        try:
            return self._run(handler, params, ctx, arg)
        finally:
            with self._lock:
                delay = self._delays.pop(0) if self._delays and ctx.method == "POST" else 0.0
            if delay:
                time.sleep(delay)  # simulated latency, outside the state lock

    def _run(
        self, handler: Route, params: dict[str, Any], ctx: _Context, arg: str
    ) -> tuple[int, dict[str, Any], bool]:
        params = dict(params)
        expand = params.pop("expand", [])
        if isinstance(expand, str):
            expand = [expand]
        if not isinstance(expand, list) or not all(isinstance(e, str) for e in expand):
            err = _invalid("Invalid array", param="expand", code="parameter_invalid_string")
            return err.status, err.body, False
        with self._lock:
            try:
                body = copy.deepcopy(handler(params, ctx, arg))
            except ApiError as exc:
                return exc.status, exc.body, exc.store
            try:
                return 200, self._expand(body, expand), True
            except ApiError as exc:  # the request has executed by now, so its answer is stored
                return exc.status, exc.body, True

    def _authenticate(self, header: str | None) -> str:
        if not header:
            raise _invalid(
                "You did not provide an API key. You need to provide your API key in the Authorization "
                "header, using Bearer auth (e.g. 'Authorization: Bearer YOUR_SECRET_KEY'). See "
                "https://stripe.com/docs/api#authentication for details, or we can help at "
                "https://support.stripe.com/.",
                status=401,
            )
        scheme, _, value = header.strip().partition(" ")
        key = value.strip()
        if scheme.lower() == "basic":
            try:
                key = base64.b64decode(key, validate=True).decode("utf-8").partition(":")[0]
            except (binascii.Error, UnicodeDecodeError):
                key = ""
        elif scheme.lower() != "bearer":
            key = ""
        if not hmac.compare_digest(key.encode(), self.api_key.encode()):
            raise _invalid(f"Invalid API Key provided: {_mask(key)}", status=401)
        return key

    def _route(self, method: str, path: str) -> tuple[Route, str]:
        for route_method, pattern, handler in self._routes:
            match = pattern.fullmatch(path)
            if route_method == method and match is not None:
                return handler, match.group(1) if pattern.groups else ""
        raise _invalid(f"Unrecognized request URL ({method}: {path}).", status=404)

    # -- expansion -------------------------------------------------------------------------------------

    def _lookup(self, obj_id: str) -> dict[str, Any] | None:
        for prefix, table in (("pi_", self._pis), ("ch_", self._charges), ("re_", self._refunds)):
            if obj_id.startswith(prefix) and obj_id in table:
                return copy.deepcopy(table[obj_id])
        if obj_id.startswith("pm_"):
            return self._payment_method(obj_id)
        return None

    def _expand(self, obj: dict[str, Any], paths: list[str]) -> dict[str, Any]:
        for path in paths:
            self._expand_one(obj, path.split("."), path)
        return obj

    def _expand_one(self, obj: Any, parts: list[str], full: str) -> None:
        if isinstance(obj, list):
            for item in obj:
                self._expand_one(item, parts, full)
            return
        if not isinstance(obj, dict) or parts[0] not in obj:
            raise _invalid(f"This property cannot be expanded ({full}).", param="expand")
        head, rest = parts[0], parts[1:]
        if rest:
            self._expand_one(obj[head], rest, full)
            return
        value = obj[head]
        if value is None or isinstance(value, dict):
            return
        target = self._lookup(value) if isinstance(value, str) else None
        if target is None:
            raise _invalid(f"This property cannot be expanded ({full}).", param="expand")
        obj[head] = target

    # -- events ----------------------------------------------------------------------------------------

    def _emit(
        self, type_: str, obj: dict[str, Any], ctx: _Context, *, previous: dict[str, Any] | None = None
    ) -> dict[str, Any]:
        data: dict[str, Any] = {"object": copy.deepcopy(obj)}
        if previous is not None:
            data["previous_attributes"] = previous
        event = {
            "id": f"evt_{_rand()}",
            "object": "event",
            "api_version": API_VERSION,
            "created": _now(),
            "data": data,
            "livemode": False,
            "pending_webhooks": 1,
            "request": {"id": ctx.request_id, "idempotency_key": ctx.idempotency_key},
            "type": type_,
        }
        self.events.append(event)
        return event

    # -- PaymentIntents ----------------------------------------------------------------------------------

    def _get_pi_or_404(self, pi_id: str, param: str = "id") -> dict[str, Any]:
        pi = self._pis.get(pi_id)
        if pi is None:
            raise _missing("payment_intent", pi_id, param)
        return pi

    def _create_pi(self, params: dict[str, Any], ctx: _Context, _: str) -> dict[str, Any]:
        _check_known(params, _PI_CREATE_PARAMS)
        amount = _int_param(params, "amount", required=True)
        currency = _currency_param(params, required=True)
        capture_method = _choice(params, "capture_method", {"automatic", "automatic_async", "manual"})
        if capture_method == "manual":
            raise _invalid("The stand-in does not implement capture_method=manual.", param="capture_method")
        confirm = _bool_param(params, "confirm", params.get("confirm", "false"))
        apm, types = self._payment_method_config(params, ctx)
        payment_method = _str_param(params, "payment_method")
        if payment_method is not None:
            self._payment_method_or_error(payment_method)
        return_url = _str_param(params, "return_url")
        if return_url is not None and not confirm:
            raise _invalid("`return_url` can only be specified when `confirm` is true.", param="return_url")
        if confirm and payment_method is None:
            raise _missing_payment_method(store=False)
        if confirm and _needs_return_url(apm) and return_url is None:
            raise _invalid(RETURN_URL_REQUIRED, param="return_url")
        metadata = _metadata(params)
        pi_id = f"pi_{_rand()}"
        pi: dict[str, Any] = {
            "id": pi_id,
            "object": "payment_intent",
            "amount": amount,
            "allowed_payment_method_types": params.get("allowed_payment_method_types"),
            "amount_capturable": 0,
            "amount_received": 0,
            "automatic_payment_methods": apm,
            "canceled_at": None,
            "cancellation_reason": None,
            "capture_method": capture_method or "automatic",
            "client_secret": f"{pi_id}_secret_{_rand()}",
            "confirmation_method": "automatic",
            "created": _now(),
            "currency": currency,
            "customer": _str_param(params, "customer"),
            "description": _str_param(params, "description"),
            "last_payment_error": None,
            "latest_charge": None,
            "livemode": False,
            "metadata": metadata,
            "next_action": None,
            "payment_method": payment_method,
            "payment_method_types": types,
            "receipt_email": _str_param(params, "receipt_email"),
            "setup_future_usage": _str_param(params, "setup_future_usage"),
            "status": "requires_confirmation" if payment_method else "requires_payment_method",
        }
        # Validation is over: from here on the request has "executed" and its result is stored.
        self._pis[pi_id] = pi
        self._emit("payment_intent.created", pi, ctx)
        if confirm:
            confirm_params = {"payment_method": payment_method} if payment_method else {}
            if return_url is not None:
                confirm_params["return_url"] = return_url
            try:
                return self._confirm(pi_id, confirm_params, ctx)
            except ApiError as exc:
                exc.store = True
                raise
        return pi

    @classmethod
    def _payment_method_config(
        cls, params: dict[str, Any], ctx: _Context
    ) -> tuple[dict[str, Any] | None, list[str]]:
        """``automatic_payment_methods`` and ``payment_method_types`` of a new PaymentIntent."""
        _check_payment_method_types(params, ctx)
        name = "allowed_payment_method_types" if "allowed_payment_method_types" in params else None
        if name is None and "payment_method_types" in params:
            name = "payment_method_types"
        if name is None:
            return cls._automatic_payment_methods(params), ["card"]
        types = params[name]
        if not isinstance(types, list) or not types or not all(isinstance(t, str) for t in types):
            raise _invalid("Invalid array", param=name, code="parameter_invalid_string")
        for other in (
            "automatic_payment_methods",
            "excluded_payment_method_types",
            "payment_method_configuration",
        ):
            if other in params:
                raise _invalid(f"You may only specify one of these parameters: {other}, {name}.", param=other)
        return None, list(types)

    @staticmethod
    def _automatic_payment_methods(params: dict[str, Any]) -> dict[str, Any] | None:
        raw = params.get("automatic_payment_methods")
        if raw is None:
            # Since API version 2023-08-16 automatic payment methods are on unless types are given.
            return {"allow_redirects": "always", "enabled": True}
        if not isinstance(raw, dict):
            raise _invalid("Invalid hash", param="automatic_payment_methods")
        _check_known({f"automatic_payment_methods[{k}]": v for k, v in raw.items()}, {
            "automatic_payment_methods[enabled]", "automatic_payment_methods[allow_redirects]"
        })  # fmt: skip
        if "enabled" not in raw:
            raise _invalid(
                "Missing required param: automatic_payment_methods[enabled].",
                param="automatic_payment_methods[enabled]",
                code="parameter_missing",
            )
        enabled = _bool_param(params, "automatic_payment_methods[enabled]", raw["enabled"])
        redirects = raw.get("allow_redirects", "always")
        if redirects not in ("always", "never"):
            raise _invalid(
                f"Invalid automatic_payment_methods[allow_redirects]: {redirects}",
                param="automatic_payment_methods[allow_redirects]",
            )
        return {"allow_redirects": redirects, "enabled": enabled} if enabled else None

    def _list_pis(self, params: dict[str, Any], ctx: _Context, _: str) -> dict[str, Any]:
        _check_known(params, _LIST_PARAMS | {"customer"})
        items = sorted(self._pis.values(), key=lambda p: p["created"], reverse=True)
        customer = _str_param(params, "customer")
        if customer is not None:
            items = [p for p in items if p["customer"] == customer]
        return _page(items, params, "/v1/payment_intents")

    def _search_pis(self, params: dict[str, Any], ctx: _Context, _: str) -> dict[str, Any]:
        """A small subset of the search query language: ``field:'value'`` clauses joined by ``AND``,
        where field is ``status``, ``currency``, ``customer`` or ``metadata['key']``."""
        _check_known(params, _COMMON | {"query", "limit", "page"})
        query = _str_param(params, "query")
        if query is None:
            raise _invalid("Missing required param: query.", param="query", code="parameter_missing")
        clauses: list[tuple[str, str | None, str]] = []
        for clause in re.split(r"\s+AND\s+", query.strip()):
            match = _SEARCH_CLAUSE.fullmatch(clause)
            if match is None:
                raise _invalid(f"The stand-in cannot parse this search clause: {clause}", param="query")
            field_name = "metadata" if match.group(2) is not None else match.group(1)
            clauses.append((field_name, match.group(2), match.group(3)))

        def hit(pi: dict[str, Any]) -> bool:
            for field_name, meta_key, value in clauses:
                actual = pi["metadata"].get(meta_key or "") if field_name == "metadata" else pi[field_name]
                if actual != value:
                    return False
            return True

        limit = _int_param(params, "limit", required=False) or 10
        items = sorted((p for p in self._pis.values() if hit(p)), key=lambda p: p["created"], reverse=True)
        return {
            "object": "search_result",
            "data": items[:limit],
            "has_more": len(items) > limit,
            "next_page": None,
            "url": "/v1/payment_intents/search",
        }

    def _get_pi(self, params: dict[str, Any], ctx: _Context, pi_id: str) -> dict[str, Any]:
        _check_known(params, _RETRIEVE_PARAMS)
        return self._get_pi_or_404(pi_id)

    def _update_pi(self, params: dict[str, Any], ctx: _Context, pi_id: str) -> dict[str, Any]:
        _check_known(params, _PI_UPDATE_PARAMS)
        _check_payment_method_types(params, ctx)
        amount = _int_param(params, "amount", required=False)
        currency = _currency_param(params, required=False)
        payment_method = _str_param(params, "payment_method")
        if payment_method is not None:
            self._payment_method_or_error(payment_method)
        pi = self._get_pi_or_404(pi_id)
        if pi["status"] not in (*_CONFIRMABLE, "requires_action"):
            raise _unexpected_state(pi, "update", (*_CONFIRMABLE, "requires_action"))
        if amount is not None:
            pi["amount"] = amount
        if currency is not None:
            pi["currency"] = currency
        for name in ("description", "receipt_email"):
            if name in params:
                pi[name] = _str_param(params, name)
        pi["metadata"] = _metadata(params, pi["metadata"])
        if payment_method is not None:
            pi.update(payment_method=payment_method, status="requires_confirmation", next_action=None)
        return pi

    def _confirm_route(self, params: dict[str, Any], ctx: _Context, pi_id: str) -> dict[str, Any]:
        _check_known(params, _PI_CONFIRM_PARAMS)
        _check_payment_method_types(params, ctx)
        return self._confirm(pi_id, params, ctx)

    def _confirm(self, pi_id: str, params: dict[str, Any], ctx: _Context) -> dict[str, Any]:
        """The confirm state machine, shared by the HTTP route, ``confirm=true`` and :meth:`pay`."""
        pi = self._get_pi_or_404(pi_id)
        payment_method = _str_param(params, "payment_method") or pi["payment_method"]
        return_url = _str_param(params, "return_url")
        if payment_method is not None:
            self._payment_method_or_error(payment_method)
        if pi["status"] not in _CONFIRMABLE:
            raise _unexpected_state(pi, "confirm", _CONFIRMABLE)
        if payment_method is None:
            raise _missing_payment_method(store=True)
        if _needs_return_url(pi["automatic_payment_methods"]) and return_url is None:
            raise _invalid(RETURN_URL_REQUIRED, param="return_url")
        for name in ("receipt_email", "setup_future_usage"):
            if name in params:
                pi[name] = _str_param(params, name)
        pi["payment_method"] = payment_method
        pi["last_payment_error"] = None
        if payment_method in _DECLINES:
            self._decline(pi, payment_method, _DECLINES[payment_method], ctx)
        if payment_method in _THREE_DS:
            if return_url is not None:
                next_action: dict[str, Any] = {
                    "type": "redirect_to_url",
                    "redirect_to_url": {
                        "return_url": return_url,
                        "url": f"https://hooks.stripe.com/3d_secure_2/hosted?payment_intent={pi_id}",
                    },
                }
            else:
                next_action = {
                    "type": "use_stripe_sdk",
                    "use_stripe_sdk": {"type": "three_d_secure_redirect"},
                }
            pi.update(status="requires_action", next_action=next_action)
            self._emit("payment_intent.requires_action", pi, ctx)
            return pi
        self._succeed(pi, payment_method, ctx)
        return pi

    def _succeed(self, pi: dict[str, Any], payment_method: str, ctx: _Context) -> None:
        charge = self._new_charge(pi, payment_method, succeeded=True)
        pi.update(
            status="succeeded",
            amount_received=pi["amount"],
            latest_charge=charge["id"],
            next_action=None,
            last_payment_error=None,
        )
        self._emit("charge.succeeded", charge, ctx)
        self._emit("payment_intent.succeeded", pi, ctx)

    def _decline(
        self, pi: dict[str, Any], payment_method: str, decline: tuple[str, str, str], ctx: _Context
    ) -> None:
        code, decline_code, message = decline
        charge = self._new_charge(pi, payment_method, succeeded=False, failure=(code, message))
        error: dict[str, Any] = {
            "type": "card_error",
            "code": code,
            "decline_code": decline_code,
            "message": message,
            "charge": charge["id"],
            "doc_url": f"https://stripe.com/docs/error-codes/{code.replace('_', '-')}",
            "payment_method": self._payment_method(payment_method),
        }
        if code == "incorrect_cvc":
            error["param"] = "cvc"
        pi.update(
            status="requires_payment_method",
            payment_method=None,
            latest_charge=charge["id"],
            last_payment_error=copy.deepcopy(error),
        )
        self._emit("charge.failed", charge, ctx)
        self._emit("payment_intent.payment_failed", pi, ctx)
        error["payment_intent"] = copy.deepcopy(pi)
        raise ApiError(402, error, store=True)

    def _cancel_pi(self, params: dict[str, Any], ctx: _Context, pi_id: str) -> dict[str, Any]:
        _check_known(params, _PI_CANCEL_PARAMS)
        reason = _choice(params, "cancellation_reason", _CANCELLATION_REASONS)
        pi = self._get_pi_or_404(pi_id)
        if pi["status"] not in _CANCELABLE:
            raise _unexpected_state(pi, "cancel", _CANCELABLE)
        pi.update(status="canceled", cancellation_reason=reason, canceled_at=_now(), next_action=None)
        self._emit("payment_intent.canceled", pi, ctx)
        return pi

    # -- PaymentMethods and Charges ------------------------------------------------------------------------

    @staticmethod
    def _known_payment_method(pm_id: str) -> bool:
        return pm_id in _CARD_BRANDS or pm_id in _DECLINES or pm_id in _THREE_DS

    def _payment_method_or_error(self, pm_id: str) -> None:
        if not self._known_payment_method(pm_id):
            raise _invalid(
                f"No such PaymentMethod: '{pm_id}'",
                param="payment_method",
                code="resource_missing",
                store=True,
            )

    def _payment_method(self, pm_id: str) -> dict[str, Any]:
        brand, last4 = _CARD_BRANDS.get(pm_id, ("visa", "0002"))
        return {
            "id": pm_id,
            "object": "payment_method",
            "type": "card",
            "card": {"brand": brand, "last4": last4, "exp_month": 12, "exp_year": 2034, "country": "US"},
            "created": _now(),
            "livemode": False,
            "metadata": {},
        }

    def _new_charge(
        self,
        pi: dict[str, Any],
        payment_method: str,
        *,
        succeeded: bool,
        failure: tuple[str, str] | None = None,
    ) -> dict[str, Any]:
        charge = {
            "id": f"ch_{_rand()}",
            "object": "charge",
            "amount": pi["amount"],
            "amount_captured": pi["amount"] if succeeded else 0,
            "amount_refunded": 0,
            "balance_transaction": f"txn_{_rand()}" if succeeded else None,
            "captured": succeeded,
            "created": _now(),
            "currency": pi["currency"],
            "customer": pi["customer"],
            "description": pi["description"],
            "failure_code": failure[0] if failure else None,
            "failure_message": failure[1] if failure else None,
            "livemode": False,
            "metadata": copy.deepcopy(pi["metadata"]),
            "paid": succeeded,
            "payment_intent": pi["id"],
            "payment_method": payment_method,
            "receipt_email": pi["receipt_email"],
            "refunded": False,
            "status": "succeeded" if succeeded else "failed",
        }
        self._charges[charge["id"]] = charge
        return charge

    def _get_charge(self, params: dict[str, Any], ctx: _Context, ch_id: str) -> dict[str, Any]:
        _check_known(params, _COMMON)
        charge = self._charges.get(ch_id)
        if charge is None:
            raise _missing("charge", ch_id)
        return charge

    # -- Refunds -----------------------------------------------------------------------------------------

    def _create_refund(self, params: dict[str, Any], ctx: _Context, _: str) -> dict[str, Any]:
        _check_known(params, _REFUND_CREATE_PARAMS)
        amount = _int_param(params, "amount", required=False)
        reason = _choice(params, "reason", _REFUND_REASONS)
        pi_id, ch_id = _str_param(params, "payment_intent"), _str_param(params, "charge")
        if pi_id is None and ch_id is None:
            raise _invalid(
                "One of the following params should be provided for this request: payment_intent or charge.",
                code="parameter_missing",
            )
        if pi_id is not None and ch_id is not None:
            raise _invalid(
                "You may only specify one of these parameters: charge, payment_intent.", param="charge"
            )
        metadata = _metadata(params)
        if pi_id is not None:
            pi = self._get_pi_or_404(pi_id, param="payment_intent")
            charge = self._charges.get(pi["latest_charge"] or "")
            if pi["status"] != "succeeded" or charge is None or charge["status"] != "succeeded":
                raise _invalid(
                    f"This PaymentIntent ({pi_id}) does not have a successful charge to refund.",
                    param="payment_intent",
                    code="charge_not_refundable",
                    store=True,
                )
        else:
            assert ch_id is not None
            found = self._charges.get(ch_id)
            if found is None:
                raise _missing("charge", ch_id, param="charge")
            charge = found
            if charge["status"] != "succeeded":
                raise _invalid(
                    f"Charge {ch_id} has not succeeded and cannot be refunded.",
                    param="charge",
                    code="charge_not_refundable",
                    store=True,
                )
        remaining = charge["amount"] - charge["amount_refunded"]
        if remaining <= 0:
            raise _invalid(
                f"Charge {charge['id']} has already been refunded.",
                code="charge_already_refunded",
                store=True,
            )
        if amount is None:
            amount = remaining
        if amount > remaining:
            raise _invalid(
                f"Refund amount ({_money(amount, charge['currency'])}) is greater than unrefunded amount on "
                f"charge ({_money(remaining, charge['currency'])})",
                param="amount",
                code="amount_too_large",
                store=True,
            )
        refund = {
            "id": f"re_{_rand()}",
            "object": "refund",
            "amount": amount,
            "balance_transaction": f"txn_{_rand()}",
            "charge": charge["id"],
            "created": _now(),
            "currency": charge["currency"],
            "failure_reason": None,
            "metadata": metadata,
            "payment_intent": charge["payment_intent"],
            "reason": reason,
            "receipt_number": None,
            "status": self._refund_mode,
        }
        self._refunds[refund["id"]] = refund
        charge["amount_refunded"] += amount
        charge["refunded"] = charge["amount_refunded"] >= charge["amount"]
        self._emit("refund.created", refund, ctx)
        if refund["status"] == "succeeded":
            self._emit("charge.refunded", charge, ctx)
        return refund

    def _get_refund(self, params: dict[str, Any], ctx: _Context, re_id: str) -> dict[str, Any]:
        _check_known(params, _COMMON)
        refund = self._refunds.get(re_id)
        if refund is None:
            raise _missing("refund", re_id)
        return refund

    # -- Events --------------------------------------------------------------------------------------------

    def _list_events(self, params: dict[str, Any], ctx: _Context, _: str) -> dict[str, Any]:
        _check_known(params, _LIST_PARAMS | {"type", "types", "delivery_success"})
        items = list(reversed(self.events))
        type_ = _str_param(params, "type")
        types = params.get("types")
        if type_ is not None:
            items = [e for e in items if _type_matches(e["type"], type_)]
        if types is not None:
            if not isinstance(types, list):
                raise _invalid("Invalid array", param="types")
            items = [e for e in items if any(_type_matches(e["type"], t) for t in types)]
        return _page(items, params, "/v1/events")

    def _get_event(self, params: dict[str, Any], ctx: _Context, evt_id: str) -> dict[str, Any]:
        _check_known(params, _COMMON)
        for event in self.events:
            if event["id"] == evt_id:
                return event
        raise _missing("event", evt_id)


def _type_matches(event_type: str, pattern: str) -> bool:
    if pattern.endswith(".*"):
        return event_type.startswith(pattern[:-1])
    return event_type == pattern


def _page(items: list[dict[str, Any]], params: dict[str, Any], url: str) -> dict[str, Any]:
    """One page of a newest-first list, honouring ``limit``, ``starting_after`` and ``ending_before``."""
    limit = _int_param(params, "limit", required=False) or 10
    if limit > 100:
        raise _invalid("This value must be less than or equal to 100.", param="limit")
    ids = [item["id"] for item in items]
    after, before = _str_param(params, "starting_after"), _str_param(params, "ending_before")
    for cursor, param in ((after, "starting_after"), (before, "ending_before")):
        if cursor is not None and cursor not in ids:
            raise _invalid(f"No such object: '{cursor}'", param=param, code="resource_missing")
    if after is not None:
        window = items[ids.index(after) + 1 :]
        page, has_more = window[:limit], len(window) > limit
    elif before is not None:
        window = items[: ids.index(before)]
        page, has_more = window[-limit:], len(window) > limit
    else:
        page, has_more = items[:limit], len(items) > limit
    return {"object": "list", "data": page, "has_more": has_more, "url": url}


def _check_payment_method_types(params: dict[str, Any], ctx: _Context) -> None:
    """Refuse ``payment_method_types`` on API versions that removed it, as Stripe does."""
    if "payment_method_types" in params and ctx.stripe_version[:10] >= PAYMENT_METHOD_TYPES_REMOVED_IN:
        raise _invalid(
            f"`payment_method_types` is no longer supported on API version {ctx.stripe_version}. Use "
            "`allowed_payment_method_types`, `excluded_payment_method_types` or dynamic payment methods.",
            param="payment_method_types",
            code="payment_method_types_no_longer_supported",
        )
    if "allowed_payment_method_types" in params and "payment_method_types" in params:
        raise _invalid(
            "You may only specify one of these parameters: allowed_payment_method_types, "
            "payment_method_types.",
            param="payment_method_types",
        )


def _needs_return_url(apm: dict[str, Any] | None) -> bool:
    return bool(apm and apm["enabled"] and apm["allow_redirects"] != "never")


def _missing_payment_method(*, store: bool) -> ApiError:
    return _invalid(
        "You cannot confirm this PaymentIntent because it's missing a payment method. You can either "
        "update the PaymentIntent with a payment method and then confirm it again, or confirm it "
        "again directly with a payment method.",
        param="payment_method",
        code="payment_intent_unexpected_state",
        store=store,
    )


def _unexpected_state(pi: dict[str, Any], action: str, allowed: tuple[str, ...]) -> ApiError:
    past = {"confirm": "confirmed", "cancel": "canceled", "update": "updated"}[action]
    error = _invalid(
        f"You cannot {action} this PaymentIntent because it has a status of {pi['status']}. Only a "
        f"PaymentIntent with one of the following statuses may be {past}: {', '.join(allowed)}.",
        code="payment_intent_unexpected_state",
        store=True,
    )
    error.error["payment_intent"] = copy.deepcopy(pi)
    return error


def _injected_error(status: int) -> dict[str, Any]:
    """The ``error`` object of an injected failure."""
    if status == 409:
        error = {
            "type": "invalid_request_error",
            "code": "lock_timeout",
            "message": "This object cannot be accessed right now because another API request or Stripe "
            "process is currently accessing it.",
        }
    elif status == 429:
        error = {
            "type": "invalid_request_error",
            "code": "rate_limit",
            "message": "Too many requests hit the API too quickly.",
        }
    else:
        error = {"type": "api_error", "message": "An unknown error occurred (injected by the stand-in)."}
    return error


def _mask(key: str) -> str:
    if len(key) <= 8:
        return "*" * len(key)
    prefix = key[: key.index("_", key.index("_") + 1) + 1] if key.count("_") >= 2 else key[:3]
    return prefix + "*" * max(len(key) - len(prefix) - 4, 0) + key[-4:]
