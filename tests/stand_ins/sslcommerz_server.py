"""A stateful, test-only stand-in for the SSLCommerz v4 gateway (PAYMENTS.md §B1-§B4, §C2).

It serves the session API, the order-validation API and the transaction query / refund API on
``127.0.0.1`` (free port) from a daemon thread, using only the standard library. Every answer is
HTTP 200 JSON with the error in the body, as on the real gateway.

The customer's visit to the hosted page is simulated by :meth:`SslcommerzStandIn.complete`, which
records the gateway-side transaction and returns the signed IPN fields. Delivering them to the app
under test (once, twice, never) is the test's job.
"""

from __future__ import annotations

import hashlib
import json
import secrets
import string
import threading
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal, InvalidOperation
from email.message import Message
from email.parser import BytesParser
from email.policy import HTTP
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from typing import Any
from urllib.parse import parse_qsl, urlsplit

INIT_PATH = "/gwprocess/v4/api.php"
VALIDATION_PATH = "/validator/api/validationserverAPI.php"
QUERY_PATH = "/validator/api/merchantTransIDvalidationAPI.php"
CHECKOUT_PREFIX = "/EasyCheckOut/test"

CREDENTIAL_ERROR = "Store Credential Error Or Store is De-active"
INVALID_INFORMATION = "Invalid Information"

BDT_MIN = Decimal("10.00")
BDT_MAX = Decimal("500000.00")
CENT = Decimal("0.01")
STORE_SHARE = Decimal("0.975")  # the gateway keeps 2.5 %: 10.00 -> store_amount 9.75, as in §B2a

REQUIRED_INIT_FIELDS: tuple[str, ...] = (
    "total_amount",
    "currency",
    "tran_id",
    "success_url",
    "fail_url",
    "cancel_url",
    "cus_name",
    "cus_email",
    "cus_add1",
    "cus_city",
    "cus_country",
    "cus_phone",
    "shipping_method",
    "num_of_item",
    "product_name",
    "product_category",
    "product_profile",
)
REQUIRED_SHIPPING_FIELDS: tuple[str, ...] = (
    "ship_name",
    "ship_add1",
    "ship_city",
    "ship_postcode",
    "ship_country",
)
SHIPPING_METHODS = frozenset({"YES", "NO", "COURIER", "SSLCOMMERZ_LOGISTIC"})
PRODUCT_PROFILES = frozenset(
    {
        "general",
        "physical-goods",
        "non-physical-goods",
        "airline-tickets",
        "travel-vertical",
        "telecom-vertical",
    }
)
OUTCOMES = frozenset({"VALID", "FAILED", "CANCELLED", "UNATTEMPTED", "EXPIRED"})
OUTCOME_ERRORS: dict[str, str] = {
    "VALID": "",
    "FAILED": "Declined by the issuer bank",
    "CANCELLED": "Cancelled by User",
    "UNATTEMPTED": "Customer did not choose to pay any channel",
    "EXPIRED": "Session expired",
}
RISK_TITLES: dict[str, str] = {"0": "Safe", "1": "Risky"}
REFUND_MODES = frozenset({"refunded", "processing"})
REFUND_SETTLED_STATUSES = frozenset({"refunded", "cancelled"})
VALUE_FIELDS: tuple[str, ...] = ("value_a", "value_b", "value_c", "value_d")
DATE_FORMAT = "%Y-%m-%d %H:%M:%S"
_ALNUM = string.ascii_letters + string.digits


def _md5(text: str) -> str:
    return hashlib.md5(text.encode()).hexdigest()  # noqa: S324 - the gateway's protocol, not our security


def _sha256(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


def _now() -> str:
    return datetime.now().strftime(DATE_FORMAT)  # the gateway sends naive local time (Dhaka)


def _random_alnum(length: int) -> str:
    return "".join(secrets.choice(_ALNUM) for _ in range(length))


def _money(value: Decimal) -> str:
    return f"{value.quantize(CENT):.2f}"


def _parse_money(raw: str) -> Decimal | None:
    """A finite decimal with at most two places, or None."""
    try:
        value = Decimal(raw.strip())
    except InvalidOperation:
        return None
    if not value.is_finite() or value.as_tuple().exponent < -2:  # type: ignore[operator]
        return None
    return value


@dataclass(frozen=True)
class Recorded:
    """One request the stand-in received."""

    method: str
    path: str
    query: dict[str, str]
    form: dict[str, str]
    content_type: str

    @property
    def params(self) -> dict[str, str]:
        """Query-string and body parameters together (the body wins)."""
        return {**self.query, **self.form}


@dataclass
class Refund:
    refund_ref_id: str
    refund_trans_id: str
    bank_tran_id: str
    tran_id: str
    amount: Decimal
    remarks: str
    refe_id: str
    status: str  # refunded | processing | cancelled
    initiated_on: str
    refunded_on: str = ""


@dataclass
class Transaction:
    """One finished attempt on the hosted page, as the gateway recorded it."""

    status: str  # VALID | FAILED | CANCELLED | UNATTEMPTED | EXPIRED
    tran_id: str
    val_id: str
    bank_tran_id: str
    tran_date: str
    amount: str  # in BDT, 2 dp
    currency: str  # always BDT
    currency_type: str  # as the customer paid
    currency_amount: str
    currency_rate: str
    store_amount: str
    risk_level: str
    risk_title: str
    error: str
    card: dict[str, str]
    values: dict[str, str]
    validations: int = 0
    validated_on: str = ""

    @property
    def reported_status(self) -> str:
        """VALID turns into VALIDATED once the validation API has been called."""
        return "VALIDATED" if self.status == "VALID" and self.validations else self.status

    def fields(self, store_id: str) -> dict[str, str]:
        """The transaction's field set, shared by the IPN and the query answers (unsigned)."""
        return {
            "tran_id": self.tran_id,
            "val_id": self.val_id,
            "amount": self.amount,
            "card_type": self.card["card_type"],
            "store_amount": self.store_amount,
            "card_no": self.card["card_no"],
            "bank_tran_id": self.bank_tran_id,
            "status": self.status,
            "tran_date": self.tran_date,
            "error": self.error,
            "currency": self.currency,
            "card_issuer": self.card["card_issuer"],
            "card_brand": self.card["card_brand"],
            "card_sub_brand": self.card["card_sub_brand"],
            "card_issuer_country": self.card["card_issuer_country"],
            "card_issuer_country_code": self.card["card_issuer_country_code"],
            "store_id": store_id,
            "currency_type": self.currency_type,
            "currency_amount": self.currency_amount,
            "currency_rate": self.currency_rate,
            "base_fair": "0.00",
            **self.values,
            "risk_level": self.risk_level,
            "risk_title": self.risk_title,
        }


@dataclass
class Session:
    """A session created by ``POST /gwprocess/v4/api.php``."""

    sessionkey: str
    tran_id: str
    amount: str  # as the merchant sent it, 2 dp, in `currency`
    currency: str
    ipn_url: str
    success_url: str
    fail_url: str
    cancel_url: str
    values: dict[str, str]  # value_a..value_d ("" when not sent)
    customer: dict[str, str]  # every cus_* field sent
    params: dict[str, str]  # every field sent
    created_on: str
    transactions: list[Transaction] = field(default_factory=list)


_CARD_VALID: dict[str, str] = {
    "card_type": "VISA-Dutch Bangla",
    "card_no": "418117XXXXXX6675",
    "card_issuer": "TRUST BANK, LTD.",
    "card_brand": "VISA",
    "card_sub_brand": "Classic",
    "card_issuer_country": "Bangladesh",
    "card_issuer_country_code": "BD",
}
_CARD_NONE: dict[str, str] = dict.fromkeys(_CARD_VALID, "")


class SslcommerzStandIn:
    """The SSLCommerz v4 fake. ``url`` is the base URL to configure as ``SSLCOMMERZ_BASE_URL``."""

    def __init__(self, store_id: str = "teststore", store_password: str = "teststore@ssl") -> None:
        self.store_id = store_id
        self.store_password = store_password
        # BDT per unit of each accepted currency; amounts in other currencies are converted (§B4).
        self.currency_rates: dict[str, Decimal] = {
            "BDT": Decimal("1.0000"),
            "USD": Decimal("110.0000"),
            "EUR": Decimal("120.0000"),
            "GBP": Decimal("140.0000"),
        }
        self.requests: list[Recorded] = []
        self.sessions: dict[str, Session] = {}
        self.refunds: dict[str, Refund] = {}  # by refund_ref_id
        self.refund_mode = "refunded"
        self._lock = threading.RLock()
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    # ----------------------------------------------------------------- lifecycle

    @property
    def url(self) -> str:
        if self._server is None:
            raise RuntimeError("the SSLCommerz stand-in is not running")
        host, port = self._server.server_address[:2]
        return f"http://{host!s}:{port}"

    def start(self) -> None:
        if self._server is not None:
            return
        server = ThreadingHTTPServer(("127.0.0.1", 0), _make_handler(self))
        server.daemon_threads = True
        thread = threading.Thread(
            target=server.serve_forever,
            kwargs={"poll_interval": 0.02},
            name="sslcommerz-stand-in",
            daemon=True,
        )
        thread.start()
        self._server, self._thread = server, thread

    def stop(self) -> None:
        server, thread = self._server, self._thread
        if server is None:
            return
        server.shutdown()
        server.server_close()
        if thread is not None:
            thread.join(timeout=5)
        self._server = self._thread = None

    def __enter__(self) -> SslcommerzStandIn:
        self.start()
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()

    # ----------------------------------------------------------------- test controls

    def reset(self) -> None:
        """Forget requests, sessions and refunds, and go back to the ``refunded`` refund mode."""
        with self._lock:
            self.requests.clear()
            self.sessions.clear()
            self.refunds.clear()
            self.refund_mode = "refunded"

    def session_for(self, tran_id: str) -> Session:
        """The latest session created for ``tran_id`` (KeyError when none)."""
        with self._lock:
            for session in reversed(self.sessions.values()):
                if session.tran_id == tran_id:
                    return session
        raise KeyError(tran_id)

    def transaction(self, val_id: str) -> Transaction:
        """The VALID transaction with this ``val_id`` (KeyError when none)."""
        with self._lock:
            found = self._by_val_id(val_id)
        if found is None:
            raise KeyError(val_id)
        return found

    def sign(self, fields: dict[str, str], store_password: str | None = None) -> dict[str, str]:
        """A copy of ``fields`` with ``verify_key``, ``verify_sign`` and ``verify_sign_sha2`` set (§B2)."""
        password = self.store_password if store_password is None else store_password
        signed = {k: v for k, v in fields.items() if not k.startswith("verify_")}
        keys = sorted(signed)

        def joined(password_hash: str) -> str:
            data = {**signed, "store_passwd": password_hash}
            return "&".join(f"{k}={data[k]}" for k in sorted(data))

        return {
            **signed,
            "verify_key": ",".join(keys),
            "verify_sign": _md5(joined(_md5(password))),
            "verify_sign_sha2": _sha256(joined(_sha256(password))),
        }

    def complete(
        self,
        sessionkey: str,
        outcome: str = "VALID",
        *,
        risk_level: str = "0",
        amount: str | None = None,
        currency: str | None = None,
        tamper: dict[str, str] | None = None,
        sha2: bool = True,
    ) -> dict[str, str]:
        """Finish the session on the "hosted page" and return the signed IPN form fields.

        ``amount``/``currency`` make the recorded transaction (and so the IPN and the validation
        answer) differ from the session; the IPN is still validly signed. ``tamper`` overwrites IPN
        fields after signing. ``sha2=False`` leaves out ``verify_sign_sha2``.
        """
        if outcome not in OUTCOMES:
            raise ValueError(f"outcome must be one of {sorted(OUTCOMES)}, not {outcome!r}")
        with self._lock:
            session = self.sessions[sessionkey]
            paid_currency = (currency or session.currency).upper()
            paid_amount = Decimal(amount if amount is not None else session.amount)
            rate = self.currency_rates.get(paid_currency, Decimal("1.0000"))
            bdt_amount = paid_amount * rate
            valid = outcome == "VALID"
            stamp = datetime.now().strftime("%y%m%d%H%M%S")
            txn = Transaction(
                status=outcome,
                tran_id=session.tran_id,
                val_id=f"{stamp}{secrets.randbelow(1000):03d}{_random_alnum(12)}" if valid else "",
                bank_tran_id=f"{stamp}{_random_alnum(15)}" if valid else "",
                tran_date=_now(),
                amount=_money(bdt_amount),
                currency="BDT",
                currency_type=paid_currency,
                currency_amount=_money(paid_amount),
                currency_rate=f"{rate:.4f}",
                store_amount=_money(bdt_amount * STORE_SHARE) if valid else "0.00",
                risk_level=risk_level,
                risk_title=RISK_TITLES.get(risk_level, "Risky"),
                error=OUTCOME_ERRORS[outcome],
                card=dict(_CARD_VALID if valid else _CARD_NONE),
                values=dict(session.values),
            )
            session.transactions.append(txn)
            ipn = self.sign(txn.fields(self.store_id))
        if not sha2:
            del ipn["verify_sign_sha2"]
        if tamper:
            ipn.update(tamper)
        return ipn

    def set_refund_mode(self, mode: str) -> None:
        """``refunded``: refunds finish at once. ``processing``: they wait for :meth:`settle_refund`."""
        if mode not in REFUND_MODES:
            raise ValueError(f"refund mode must be one of {sorted(REFUND_MODES)}, not {mode!r}")
        with self._lock:
            self.refund_mode = mode

    def settle_refund(self, refund_ref_id: str, status: str = "refunded") -> None:
        """Move a processing refund to ``refunded`` or ``cancelled`` (a cancelled one frees its amount)."""
        if status not in REFUND_SETTLED_STATUSES:
            raise ValueError(f"status must be one of {sorted(REFUND_SETTLED_STATUSES)}, not {status!r}")
        with self._lock:
            refund = self.refunds[refund_ref_id]
            refund.status = status
            refund.refunded_on = _now() if status == "refunded" else ""

    # ----------------------------------------------------------------- HTTP dispatch

    def _handle(
        self, method: str, raw_path: str, content_type: str, body: bytes
    ) -> tuple[int, dict[str, Any]]:
        parts = urlsplit(raw_path)
        query = dict(parse_qsl(parts.query, keep_blank_values=True))
        form = _parse_body(content_type, body)
        with self._lock:
            self.requests.append(Recorded(method, parts.path, query, form, content_type))
            if parts.path == INIT_PATH and method == "POST":
                return 200, self._init_session(form)
            params = {**query, **form}
            if parts.path == VALIDATION_PATH:
                return 200, self._validate(params)
            if parts.path == QUERY_PATH:
                return 200, self._query(params)
            if parts.path.startswith(CHECKOUT_PREFIX) and method == "GET":
                key = parts.path.removeprefix(CHECKOUT_PREFIX)
                known = key in self.sessions
                return 200, {"status": "SUCCESS" if known else "FAILED", "sessionkey": key}
        return 404, {"status": "FAILED", "failedreason": f"Unknown route: {method} {parts.path}"}

    def _credentials_ok(self, params: dict[str, str]) -> bool:
        return params.get("store_id") == self.store_id and params.get("store_passwd") == self.store_password

    def _init_session(self, params: dict[str, str]) -> dict[str, Any]:
        if not self._credentials_ok(params):
            return {"status": "FAILED", "failedreason": CREDENTIAL_ERROR}
        problem = self._init_problem(params)
        if problem:
            return {"status": "FAILED", "failedreason": f"{INVALID_INFORMATION}: {problem}"}
        sessionkey = secrets.token_hex(16).upper()
        amount = _parse_money(params["total_amount"])
        assert amount is not None  # checked by _init_problem
        self.sessions[sessionkey] = Session(
            sessionkey=sessionkey,
            tran_id=params["tran_id"],
            amount=_money(amount),
            currency=params["currency"].upper(),
            ipn_url=params.get("ipn_url", ""),
            success_url=params["success_url"],
            fail_url=params["fail_url"],
            cancel_url=params["cancel_url"],
            values={k: params.get(k, "") for k in VALUE_FIELDS},
            customer={k: v for k, v in params.items() if k.startswith("cus_")},
            params=dict(params),
            created_on=_now(),
        )
        base = self.url
        return {
            "status": "SUCCESS",
            "failedreason": "",
            "sessionkey": sessionkey,
            "gw": {},
            "redirectGatewayURL": f"{base}/gwprocess/v4/bankgw/indexhtml.php?Q=REDIRECT&SESSIONKEY="
            + sessionkey,
            "directPaymentURLBank": "",
            "directPaymentURLCard": "",
            "directPaymentURL": "",
            "redirectGatewayURLFailed": "",
            "GatewayPageURL": f"{base}{CHECKOUT_PREFIX}{sessionkey}",
            "storeBanner": "",
            "storeLogo": "",
            "store_name": self.store_id,
            "desc": [],
            "is_direct_pay_enable": "0",
        }

    def _init_problem(self, params: dict[str, str]) -> str:
        """Why the session request is invalid, or ""."""
        return _missing_init_field(params) or _bad_init_format(params) or self._bad_init_amount(params)

    def _bad_init_amount(self, params: dict[str, str]) -> str:
        rate = self.currency_rates.get(params["currency"].upper())
        if rate is None:
            return f"'currency' {params['currency']!r} is not supported"
        amount = _parse_money(params["total_amount"])
        if amount is None:
            return "'total_amount' must be a decimal number with at most 2 decimal places"
        if not BDT_MIN <= amount * rate <= BDT_MAX:
            return "'total_amount' must be from 10.00 BDT to 500000.00 BDT"
        return ""

    def _by_val_id(self, val_id: str) -> Transaction | None:
        for session in self.sessions.values():
            for txn in session.transactions:
                if txn.val_id and txn.val_id == val_id:
                    return txn
        return None

    def _by_bank_tran_id(self, bank_tran_id: str) -> Transaction | None:
        for session in self.sessions.values():
            for txn in session.transactions:
                if txn.bank_tran_id and txn.bank_tran_id == bank_tran_id:
                    return txn
        return None

    def _validate(self, params: dict[str, str]) -> dict[str, Any]:
        if not self._credentials_ok(params):
            return {"status": "INVALID_TRANSACTION", "APIConnect": "INVALID_REQUEST"}
        txn = self._by_val_id(params.get("val_id", ""))
        if txn is None or txn.status != "VALID":
            return {"status": "INVALID_TRANSACTION", "APIConnect": "DONE"}
        status = txn.reported_status
        txn.validations += 1
        if not txn.validated_on:
            txn.validated_on = _now()
        fields = txn.fields(self.store_id)
        fields.pop("store_id")
        return {
            **fields,
            "status": status,
            "emi_instalment": "0",
            "emi_amount": "0.00",
            "emi_description": "",
            "emi_issuer": "",
            "account_details": "",
            "discount_amount": "0.00",
            "discount_percentage": "0",
            "discount_remarks": "",
            "APIConnect": "DONE",
            "validated_on": txn.validated_on,
            "gw_version": "",
        }

    def _query(self, params: dict[str, str]) -> dict[str, Any]:
        if not self._credentials_ok(params):
            return {"APIConnect": "INVALID_REQUEST"}
        if "refund_ref_id" in params:
            return self._refund_status(params["refund_ref_id"])
        if "bank_tran_id" in params:
            return self._refund_initiate(params)
        if "sessionkey" in params:
            return self._session_query(params["sessionkey"])
        if "tran_id" in params:
            return self._tran_id_query(params["tran_id"])
        return {
            "APIConnect": "INVALID_REQUEST",
            "errorReason": "sessionkey, tran_id, bank_tran_id or refund_ref_id",
        }

    def _query_element(self, txn: Transaction) -> dict[str, str]:
        element = txn.fields(self.store_id)
        element.pop("store_id")
        element["status"] = txn.reported_status
        element["validated_on"] = txn.validated_on
        return element

    def _session_query(self, sessionkey: str) -> dict[str, Any]:
        session = self.sessions.get(sessionkey)
        if session is None:
            return {"APIConnect": "DONE", "status": "INVALID", "sessionkey": sessionkey}
        if not session.transactions:
            return {
                "APIConnect": "DONE",
                "status": "PENDING",
                "sessionkey": sessionkey,
                "tran_id": session.tran_id,
                "val_id": "",
                "amount": session.amount,
                "currency": session.currency,
                **session.values,
            }
        return {
            "APIConnect": "DONE",
            "sessionkey": sessionkey,
            **self._query_element(session.transactions[-1]),
        }

    def _tran_id_query(self, tran_id: str) -> dict[str, Any]:
        elements: list[dict[str, str]] = []
        for session in self.sessions.values():
            if session.tran_id != tran_id:
                continue
            if not session.transactions:
                elements.append(
                    {
                        "status": "PENDING",
                        "tran_id": tran_id,
                        "val_id": "",
                        "amount": session.amount,
                        "currency": session.currency,
                        "tran_date": session.created_on,
                        "error": "",
                        **session.values,
                    }
                )
            elements.extend(self._query_element(txn) for txn in session.transactions)
        if not elements:
            return {
                "APIConnect": "DONE",
                "no_of_trans_found": 0,
                "element": [{"tran_id": tran_id, "status": "INVALID"}],
            }
        return {"APIConnect": "DONE", "no_of_trans_found": len(elements), "element": elements}

    def _refund_status(self, refund_ref_id: str) -> dict[str, Any]:
        refund = self.refunds.get(refund_ref_id)
        if refund is None:
            return {
                "APIConnect": "DONE",
                "bank_tran_id": "",
                "tran_id": "",
                "refund_ref_id": refund_ref_id,
                "initiated_on": "",
                "refunded_on": "",
                "status": "failed",
                "errorReason": "Invalid refund_ref_id",
            }
        return {
            "APIConnect": "DONE",
            "bank_tran_id": refund.bank_tran_id,
            "tran_id": refund.tran_id,
            "refund_ref_id": refund.refund_ref_id,
            "initiated_on": refund.initiated_on,
            "refunded_on": refund.refunded_on,
            "status": refund.status,
            "errorReason": "",
        }

    def _refund_initiate(self, params: dict[str, str]) -> dict[str, Any]:
        bank_tran_id = params.get("bank_tran_id", "")
        txn = self._by_bank_tran_id(bank_tran_id)
        try:
            status, refund_ref_id, error = self._start_refund(params, bank_tran_id, txn)
        except _RefundRejected as rejected:
            status, refund_ref_id, error = "failed", "", str(rejected)
        return {
            "APIConnect": "DONE",
            "bank_tran_id": bank_tran_id,
            "trans_id": txn.tran_id if txn else "",
            "refund_ref_id": refund_ref_id,
            "status": status,
            "errorReason": error,
        }

    def _start_refund(
        self, params: dict[str, str], bank_tran_id: str, txn: Transaction | None
    ) -> tuple[str, str, str]:
        """(status, refund_ref_id, errorReason) of a refund request; raises _RefundRejected."""
        if txn is None or txn.status != "VALID":
            raise _RefundRejected("Invalid bank_tran_id")
        refund_trans_id = params.get("refund_trans_id", "").strip()
        if not refund_trans_id:
            raise _RefundRejected("refund_trans_id is required")
        if len(refund_trans_id) > 30:
            raise _RefundRejected("refund_trans_id must be at most 30 characters")
        earlier = next((r for r in self.refunds.values() if r.refund_trans_id == refund_trans_id), None)
        if earlier is not None:
            if earlier.bank_tran_id != bank_tran_id:
                raise _RefundRejected("refund_trans_id already used for another transaction")
            return _initiate_status(earlier)
        amount = _parse_money(params.get("refund_amount", ""))
        if amount is None or amount <= 0:
            raise _RefundRejected("refund_amount must be a positive decimal with at most 2 places")
        remarks = params.get("refund_remarks", "").strip()
        if not remarks:
            raise _RefundRejected("refund_remarks is required")
        refunds = [r for r in self.refunds.values() if r.bank_tran_id == bank_tran_id]
        already = sum((r.amount for r in refunds if r.status != "cancelled"), Decimal(0))
        if already + amount > Decimal(txn.amount):
            raise _RefundRejected("Refund amount exceeds the refundable amount")
        processing = self.refund_mode == "processing"
        now = _now()
        refund = Refund(
            refund_ref_id=f"RF{secrets.token_hex(8).upper()}",
            refund_trans_id=refund_trans_id,
            bank_tran_id=bank_tran_id,
            tran_id=txn.tran_id,
            amount=amount,
            remarks=remarks,
            refe_id=params.get("refe_id", ""),
            status="processing" if processing else "refunded",
            initiated_on=now,
            refunded_on="" if processing else now,
        )
        self.refunds[refund.refund_ref_id] = refund
        return _initiate_status(refund)


class _RefundRejected(Exception):
    """A refund request the gateway answers with status "failed"."""


def _missing_init_field(params: dict[str, str]) -> str:
    required = REQUIRED_INIT_FIELDS
    if params.get("shipping_method", "").strip().upper() == "YES":
        required += REQUIRED_SHIPPING_FIELDS
    for name in required:
        if not params.get(name, "").strip():
            return f"'{name}' is required"
    return ""


def _bad_init_format(params: dict[str, str]) -> str:
    if params["shipping_method"].strip().upper() not in SHIPPING_METHODS:
        return "'shipping_method' must be YES, NO, Courier or SSLCOMMERZ_LOGISTIC"
    if not params["num_of_item"].strip().isdigit():
        return "'num_of_item' must be a whole number"
    if params["product_profile"] not in PRODUCT_PROFILES:
        return f"'product_profile' must be one of {', '.join(sorted(PRODUCT_PROFILES))}"
    if len(params["tran_id"]) > 30:
        return "'tran_id' must be at most 30 characters"
    return ""


def _initiate_status(refund: Refund) -> tuple[str, str, str]:
    """(status, refund_ref_id, errorReason) of a refund-initiate answer for an existing refund."""
    if refund.status == "refunded":
        return "success", refund.refund_ref_id, ""
    if refund.status == "processing":
        return "processing", refund.refund_ref_id, ""
    return "failed", refund.refund_ref_id, "Refund was cancelled"


def _parse_body(content_type: str, body: bytes) -> dict[str, str]:
    """Form fields of an urlencoded or multipart/form-data body (anything else: none)."""
    media_type = content_type.split(";", 1)[0].strip().lower()
    if not body:
        return {}
    if media_type == "application/x-www-form-urlencoded":
        return dict(parse_qsl(body.decode("utf-8", "replace"), keep_blank_values=True))
    if media_type == "multipart/form-data":
        head = f"Content-Type: {content_type}\r\nMIME-Version: 1.0\r\n\r\n".encode()
        message = BytesParser(policy=HTTP).parsebytes(head + body)
        fields: dict[str, str] = {}
        if not message.is_multipart():
            return fields
        for part in message.get_payload():
            if not isinstance(part, Message):
                continue
            name = part.get_param("name", header="content-disposition")
            if not isinstance(name, str):
                continue
            payload = part.get_payload(decode=True)
            raw = payload if isinstance(payload, bytes) else b""
            fields[name] = raw.decode(part.get_content_charset() or "utf-8", "replace")
        return fields
    return {}


def _make_handler(stand_in: SslcommerzStandIn) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        server_version = "SslcommerzStandIn/1.0"

        def _serve(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length) if length else b""
            content_type = self.headers.get("Content-Type", "")
            status, answer = stand_in._handle(self.command, self.path, content_type, body)
            data = json.dumps(answer).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        do_GET = _serve  # noqa: N815 - BaseHTTPRequestHandler's naming
        do_POST = _serve  # noqa: N815

        def log_message(self, format: str, *args: Any) -> None:
            return

    return Handler
