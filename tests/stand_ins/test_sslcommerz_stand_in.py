"""The SSLCommerz stand-in speaks the wire protocol of PAYMENTS.md §B1-§B4 / §C2."""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from tests.stand_ins.sslcommerz_server import SslcommerzStandIn
from tests.stand_ins.sslcommerz_vector import OFFICIAL_IPN, OFFICIAL_PASSWORD

INIT = "/gwprocess/v4/api.php"
VALIDATION = "/validator/api/validationserverAPI.php"
QUERY = "/validator/api/merchantTransIDvalidationAPI.php"


def verify_ipn(post: dict[str, str], store_password: str) -> tuple[bool, bool]:
    """An independent check, written from §B2's algorithm: (md5 ok, sha256 ok)."""
    keys = post["verify_key"].split(",")
    data = {k: post[k] for k in keys if k in post}

    def joined(password_hash: str) -> str:
        with_password = {**data, "store_passwd": password_hash}
        return "&".join(f"{k}={with_password[k]}" for k in sorted(with_password))

    md5 = hashlib.md5(joined(hashlib.md5(store_password.encode()).hexdigest()).encode()).hexdigest()  # noqa: S324
    sha = hashlib.sha256(joined(hashlib.sha256(store_password.encode()).hexdigest()).encode()).hexdigest()
    return (
        hmac.compare_digest(md5, post.get("verify_sign", "")),
        hmac.compare_digest(sha, post.get("verify_sign_sha2", "")),
    )


@pytest.fixture
def gateway() -> Iterator[SslcommerzStandIn]:
    with SslcommerzStandIn() as stand_in:
        yield stand_in


@pytest.fixture
def client(gateway: SslcommerzStandIn) -> Iterator[httpx.Client]:
    # Plain http on loopback: verify=False only skips loading a CA bundle (40 ms per client).
    with httpx.Client(base_url=gateway.url, timeout=5, verify=False) as http:  # noqa: S501
        yield http


def init_fields(gateway: SslcommerzStandIn, **overrides: str) -> dict[str, str]:
    fields = {
        "store_id": gateway.store_id,
        "store_passwd": gateway.store_password,
        "total_amount": "150.50",
        "currency": "BDT",
        "tran_id": "ORD-1001-A1",
        "success_url": "https://shop.test/pay/ok",
        "fail_url": "https://shop.test/pay/fail",
        "cancel_url": "https://shop.test/pay/cancel",
        "ipn_url": "https://shop.test/webhooks/sslcommerz",
        "cus_name": "Rahim Uddin",
        "cus_email": "rahim@example.com",
        "cus_add1": "House 1, Road 2",
        "cus_city": "Dhaka",
        "cus_postcode": "1207",
        "cus_country": "Bangladesh",
        "cus_phone": "01700000000",
        "shipping_method": "NO",
        "num_of_item": "2",
        "product_name": "Widget, Gadget",
        "product_category": "general",
        "product_profile": "general",
        "value_a": "order-1001",
    }
    fields.update(overrides)
    return fields


def creds(gateway: SslcommerzStandIn) -> dict[str, str]:
    return {"store_id": gateway.store_id, "store_passwd": gateway.store_password, "v": "1", "format": "json"}


def multipart(fields: dict[str, str]) -> list[tuple[str, tuple[None, str]]]:
    return [(name, (None, value)) for name, value in fields.items()]


def open_session(client: httpx.Client, gateway: SslcommerzStandIn, **overrides: str) -> str:
    answer = client.post(INIT, data=init_fields(gateway, **overrides)).json()
    assert answer["status"] == "SUCCESS", answer
    return str(answer["sessionkey"])


def paid(client: httpx.Client, gateway: SslcommerzStandIn, **overrides: str) -> dict[str, str]:
    return gateway.complete(open_session(client, gateway, **overrides))


def validate(client: httpx.Client, gateway: SslcommerzStandIn, val_id: str, method: str = "GET") -> Any:
    return client.request(method, VALIDATION, params={"val_id": val_id, **creds(gateway)}).json()


def query(client: httpx.Client, gateway: SslcommerzStandIn, **params: str) -> Any:
    return client.get(QUERY, params={**params, **creds(gateway)}).json()


# ----------------------------------------------------------------------------- signing


def test_signer_reproduces_the_official_vector_byte_for_byte() -> None:
    unsigned = {k: v for k, v in OFFICIAL_IPN.items() if not k.startswith("verify_")}
    signed = SslcommerzStandIn().sign(unsigned, OFFICIAL_PASSWORD)
    assert signed["verify_key"] == OFFICIAL_IPN["verify_key"]
    assert signed["verify_sign"] == OFFICIAL_IPN["verify_sign"]
    assert signed["verify_sign_sha2"] == OFFICIAL_IPN["verify_sign_sha2"]
    assert verify_ipn(OFFICIAL_IPN, OFFICIAL_PASSWORD) == (True, True)


def test_sign_uses_the_store_password_by_default_and_ignores_old_verify_fields() -> None:
    stand_in = SslcommerzStandIn(store_password="other@ssl")
    signed = stand_in.sign({"b": "2", "a": "1", "verify_sign": "stale"})
    assert signed["verify_key"] == "a,b"
    assert verify_ipn(signed, "other@ssl") == (True, True)
    assert verify_ipn(signed, OFFICIAL_PASSWORD) == (False, False)


# ----------------------------------------------------------------------------- session init


@pytest.mark.parametrize("encoding", ["urlencoded", "multipart"])
def test_session_init_succeeds_and_remembers_the_session(
    client: httpx.Client, gateway: SslcommerzStandIn, encoding: str
) -> None:
    fields = init_fields(gateway, total_amount="150.5")
    if encoding == "urlencoded":
        response = client.post(INIT, data=fields)
    else:
        response = client.post(INIT, files=multipart(fields))
    assert response.status_code == 200
    answer = response.json()
    assert answer["status"] == "SUCCESS"
    assert answer["failedreason"] == ""
    key = answer["sessionkey"]
    assert len(key) == 32
    assert key == key.upper()
    int(key, 16)
    assert answer["GatewayPageURL"] == f"{gateway.url}/EasyCheckOut/test{key}"
    assert answer["redirectGatewayURL"].startswith(gateway.url)
    assert answer["storeBanner"] == answer["storeLogo"] == ""
    assert answer["desc"] == []

    session = gateway.sessions[key]
    assert session is gateway.session_for("ORD-1001-A1")
    assert session.amount == "150.50"
    assert session.currency == "BDT"
    assert session.ipn_url == "https://shop.test/webhooks/sslcommerz"
    assert session.success_url == "https://shop.test/pay/ok"
    assert session.values == {"value_a": "order-1001", "value_b": "", "value_c": "", "value_d": ""}
    assert session.customer["cus_email"] == "rahim@example.com"
    assert session.transactions == []
    recorded = gateway.requests[-1]
    assert (recorded.method, recorded.path) == ("POST", INIT)
    assert recorded.form["product_name"] == "Widget, Gadget"
    assert recorded.content_type.startswith(
        "application/x-www-form-urlencoded" if encoding == "urlencoded" else "multipart/form-data"
    )


@pytest.mark.parametrize(
    ("overrides", "reason"),
    [
        ({"store_passwd": "wrong"}, "Store Credential Error Or Store is De-active"),
        ({"store_id": "otherstore"}, "Store Credential Error Or Store is De-active"),
        ({"cus_email": ""}, "cus_email"),
        ({"product_profile": ""}, "product_profile"),
        ({"total_amount": "9.99"}, "total_amount"),
        ({"total_amount": "500000.01"}, "total_amount"),
        ({"total_amount": "ten"}, "total_amount"),
        ({"total_amount": "10.001"}, "total_amount"),
        ({"total_amount": "NaN"}, "total_amount"),
        ({"shipping_method": "YES"}, "ship_name"),
        ({"product_profile": "food"}, "product_profile"),
        ({"currency": "XXX"}, "currency"),
        ({"tran_id": "T" * 31}, "tran_id"),
    ],
)
@pytest.mark.parametrize("encoding", ["urlencoded", "multipart"])
def test_session_init_failures(
    client: httpx.Client, gateway: SslcommerzStandIn, overrides: dict[str, str], reason: str, encoding: str
) -> None:
    fields = init_fields(gateway, **overrides)
    if encoding == "urlencoded":
        response = client.post(INIT, data=fields)
    else:
        response = client.post(INIT, files=multipart(fields))
    assert response.status_code == 200
    answer = response.json()
    assert answer["status"] == "FAILED"
    assert reason in answer["failedreason"]
    if "Credential" not in reason:
        assert answer["failedreason"].startswith("Invalid Information")
    assert gateway.sessions == {}


def test_session_init_with_a_missing_field(client: httpx.Client, gateway: SslcommerzStandIn) -> None:
    fields = init_fields(gateway)
    del fields["cus_phone"]
    answer = client.post(INIT, data=fields).json()
    assert answer["status"] == "FAILED"
    assert "cus_phone" in answer["failedreason"]


def test_session_init_accepts_the_bdt_bounds_and_shipping_fields(
    client: httpx.Client, gateway: SslcommerzStandIn
) -> None:
    ship = {
        "ship_name": "R",
        "ship_add1": "A",
        "ship_city": "Dhaka",
        "ship_postcode": "1207",
        "ship_country": "BD",
    }
    open_session(client, gateway, total_amount="10.00")
    open_session(client, gateway, total_amount="500000")
    open_session(client, gateway, shipping_method="YES", **ship)
    assert sorted(s.amount for s in gateway.sessions.values()) == ["10.00", "150.50", "500000.00"]


# ----------------------------------------------------------------------------- IPN + validation


def test_complete_valid_then_validation_says_valid_then_validated(
    client: httpx.Client, gateway: SslcommerzStandIn
) -> None:
    key = open_session(client, gateway)
    ipn = gateway.complete(key)
    assert verify_ipn(ipn, gateway.store_password) == (True, True)
    assert ipn["status"] == "VALID"
    assert ipn["tran_id"] == "ORD-1001-A1"
    assert ipn["amount"] == ipn["currency_amount"] == "150.50"
    assert ipn["currency"] == ipn["currency_type"] == "BDT"
    assert ipn["store_id"] == gateway.store_id
    assert ipn["val_id"]
    assert ipn["bank_tran_id"]
    assert ipn["card_type"]
    assert ipn["value_a"] == "order-1001"
    assert (ipn["risk_level"], ipn["risk_title"]) == ("0", "Safe")
    assert gateway.sessions[key].transactions[0].val_id == ipn["val_id"]

    first = validate(client, gateway, ipn["val_id"])
    assert first["status"] == "VALID"
    assert first["APIConnect"] == "DONE"
    for name in (
        "tran_id",
        "val_id",
        "amount",
        "currency",
        "bank_tran_id",
        "currency_type",
        "currency_amount",
    ):
        assert first[name] == ipn[name], name
    assert first["value_a"] == "order-1001"
    assert first["risk_level"] == "0"
    assert first["validated_on"]
    second = validate(client, gateway, ipn["val_id"], method="POST")
    assert second["status"] == "VALIDATED"
    assert gateway.complete(key)["val_id"] != ipn["val_id"]


def test_validation_rejects_bad_credentials_and_unknown_ids(
    client: httpx.Client, gateway: SslcommerzStandIn
) -> None:
    ipn = paid(client, gateway)
    bad = client.get(VALIDATION, params={**creds(gateway), "val_id": ipn["val_id"], "store_passwd": "nope"})
    assert bad.status_code == 200
    assert bad.json() == {"status": "INVALID_TRANSACTION", "APIConnect": "INVALID_REQUEST"}
    assert validate(client, gateway, "nope") == {"status": "INVALID_TRANSACTION", "APIConnect": "DONE"}
    # a bad-credential call does not count as the first validation
    assert validate(client, gateway, ipn["val_id"])["status"] == "VALID"


@pytest.mark.parametrize("style", ["get-query", "post-query", "post-urlencoded", "post-multipart"])
def test_validator_endpoints_accept_get_post_and_both_body_kinds(
    client: httpx.Client, gateway: SslcommerzStandIn, style: str
) -> None:
    ipn = paid(client, gateway)
    params = {"val_id": ipn["val_id"], **creds(gateway)}
    tran_params = {"tran_id": ipn["tran_id"], **creds(gateway)}
    if style == "get-query":
        answers = [client.get(VALIDATION, params=params), client.get(QUERY, params=tran_params)]
    elif style == "post-query":
        answers = [client.post(VALIDATION, params=params), client.post(QUERY, params=tran_params)]
    elif style == "post-urlencoded":
        answers = [client.post(VALIDATION, data=params), client.post(QUERY, data=tran_params)]
    else:
        answers = [
            client.post(VALIDATION, files=multipart(params)),
            client.post(QUERY, files=multipart(tran_params)),
        ]
    validation, by_tran_id = (a.json() for a in answers)
    assert validation["status"] == "VALID"
    assert by_tran_id["no_of_trans_found"] == 1
    assert by_tran_id["element"][0]["status"] == "VALIDATED"


def test_amount_mismatch_is_validly_signed_and_shows_in_validation(
    client: httpx.Client, gateway: SslcommerzStandIn
) -> None:
    key = open_session(client, gateway)
    ipn = gateway.complete(key, amount="15.05")
    assert verify_ipn(ipn, gateway.store_password) == (True, True)
    assert ipn["amount"] == "15.05"
    answer = validate(client, gateway, ipn["val_id"])
    assert answer["status"] == "VALID"
    assert answer["amount"] == answer["currency_amount"] == "15.05"
    assert gateway.sessions[key].amount == "150.50"


def test_currency_mismatch_and_foreign_currency_conversion(
    client: httpx.Client, gateway: SslcommerzStandIn
) -> None:
    usd = open_session(client, gateway, currency="USD", total_amount="12.00", tran_id="ORD-USD")
    answer = validate(client, gateway, gateway.complete(usd)["val_id"])
    assert (answer["currency"], answer["amount"]) == ("BDT", "1320.00")
    assert (answer["currency_type"], answer["currency_amount"]) == ("USD", "12.00")

    bdt = open_session(client, gateway)
    answer = validate(client, gateway, gateway.complete(bdt, currency="USD")["val_id"])
    assert (answer["currency_type"], answer["currency_amount"]) == ("USD", "150.50")


def test_tamper_changes_fields_after_signing(client: httpx.Client, gateway: SslcommerzStandIn) -> None:
    key = open_session(client, gateway)
    ipn = gateway.complete(key, tamper={"amount": "1.00"})
    assert ipn["amount"] == "1.00"
    assert verify_ipn(ipn, gateway.store_password) == (False, False)
    # the gateway itself recorded the real amount
    assert validate(client, gateway, ipn["val_id"])["amount"] == "150.50"


def test_sha2_can_be_left_out_and_risk_level_is_carried(
    client: httpx.Client, gateway: SslcommerzStandIn
) -> None:
    key = open_session(client, gateway)
    ipn = gateway.complete(key, risk_level="1", sha2=False)
    assert "verify_sign_sha2" not in ipn
    assert verify_ipn(ipn, gateway.store_password)[0]
    assert (ipn["risk_level"], ipn["risk_title"]) == ("1", "Risky")
    assert validate(client, gateway, ipn["val_id"])["risk_level"] == "1"


@pytest.mark.parametrize(
    ("outcome", "error"),
    [
        ("FAILED", "Declined"),
        ("CANCELLED", "Cancelled by User"),
        ("UNATTEMPTED", "did not choose"),
        ("EXPIRED", "expired"),
    ],
)
def test_unsuccessful_outcomes(
    client: httpx.Client, gateway: SslcommerzStandIn, outcome: str, error: str
) -> None:
    key = open_session(client, gateway)
    ipn = gateway.complete(key, outcome)
    assert verify_ipn(ipn, gateway.store_password) == (True, True)
    assert ipn["status"] == outcome
    assert ipn["val_id"] == ""
    assert ipn["bank_tran_id"] == ""
    assert error in ipn["error"]
    assert validate(client, gateway, ipn["val_id"])["status"] == "INVALID_TRANSACTION"
    element = query(client, gateway, tran_id=ipn["tran_id"])["element"][0]
    assert element["status"] == outcome


def test_complete_rejects_unknown_outcomes_and_sessions(gateway: SslcommerzStandIn) -> None:
    with pytest.raises(ValueError, match="outcome"):
        gateway.complete("X", "PAID")
    with pytest.raises(KeyError):
        gateway.complete("0" * 32)
    with pytest.raises(KeyError):
        gateway.session_for("nope")


# ----------------------------------------------------------------------------- transaction query


def test_query_by_tran_id(client: httpx.Client, gateway: SslcommerzStandIn) -> None:
    assert query(client, gateway, tran_id="NOPE-1") == {
        "APIConnect": "DONE",
        "no_of_trans_found": 0,
        "element": [{"tran_id": "NOPE-1", "status": "INVALID"}],
    }
    key = open_session(client, gateway)
    pending = query(client, gateway, tran_id="ORD-1001-A1")
    assert pending["no_of_trans_found"] == 1
    assert pending["element"][0]["status"] == "PENDING"

    ipn = gateway.complete(key)
    found = query(client, gateway, tran_id="ORD-1001-A1")
    assert found["APIConnect"] == "DONE"
    assert found["no_of_trans_found"] == 1
    element = found["element"][0]
    assert element["status"] == "VALID"
    for name in ("tran_id", "val_id", "amount", "currency", "bank_tran_id", "tran_date", "risk_level"):
        assert element[name] == ipn[name], name
    validate(client, gateway, ipn["val_id"])
    assert query(client, gateway, tran_id="ORD-1001-A1")["element"][0]["status"] == "VALIDATED"


def test_query_by_sessionkey_and_bad_credentials(client: httpx.Client, gateway: SslcommerzStandIn) -> None:
    key = open_session(client, gateway)
    assert query(client, gateway, sessionkey=key)["status"] == "PENDING"
    ipn = gateway.complete(key)
    answer = query(client, gateway, sessionkey=key)
    assert (answer["APIConnect"], answer["status"], answer["sessionkey"]) == ("DONE", "VALID", key)
    assert answer["val_id"] == ipn["val_id"]
    assert query(client, gateway, sessionkey="F" * 32)["status"] == "INVALID"
    bad = client.get(QUERY, params={**creds(gateway), "tran_id": "ORD-1001-A1", "store_id": "x"})
    assert bad.json() == {"APIConnect": "INVALID_REQUEST"}


# ----------------------------------------------------------------------------- refunds


def refund(
    client: httpx.Client, gateway: SslcommerzStandIn, bank_tran_id: str, amount: str, trans_id: str | None
) -> Any:
    params = {"bank_tran_id": bank_tran_id, "refund_amount": amount, "refund_remarks": "customer request"}
    if trans_id is not None:
        params["refund_trans_id"] = trans_id
    return query(client, gateway, **params)


def test_refund_initiate_is_idempotent_by_refund_trans_id(
    client: httpx.Client, gateway: SslcommerzStandIn
) -> None:
    ipn = paid(client, gateway)
    first = refund(client, gateway, ipn["bank_tran_id"], "100.00", "RF-1")
    assert first["APIConnect"] == "DONE"
    assert first["status"] == "success"
    assert first["errorReason"] == ""
    assert first["bank_tran_id"] == ipn["bank_tran_id"]
    assert first["trans_id"] == ipn["tran_id"]
    assert first["refund_ref_id"]
    again = refund(client, gateway, ipn["bank_tran_id"], "100.00", "RF-1")
    assert again == first
    assert len(gateway.refunds) == 1
    status = query(client, gateway, refund_ref_id=first["refund_ref_id"])
    assert status["status"] == "refunded"
    assert status["APIConnect"] == "DONE"
    assert status["tran_id"] == ipn["tran_id"]
    assert status["initiated_on"]
    assert status["refunded_on"]


def test_over_refund_and_missing_refund_trans_id_fail(
    client: httpx.Client, gateway: SslcommerzStandIn
) -> None:
    ipn = paid(client, gateway)
    missing = refund(client, gateway, ipn["bank_tran_id"], "10.00", None)
    assert missing["status"] == "failed"
    assert "refund_trans_id" in missing["errorReason"]
    assert refund(client, gateway, ipn["bank_tran_id"], "100.00", "RF-1")["status"] == "success"
    over = refund(client, gateway, ipn["bank_tran_id"], "50.51", "RF-2")
    assert over["status"] == "failed"
    assert over["errorReason"]
    assert over["refund_ref_id"] == ""
    assert refund(client, gateway, ipn["bank_tran_id"], "50.50", "RF-3")["status"] == "success"
    unknown = refund(client, gateway, "no-such-bank-tran", "1.00", "RF-4")
    assert unknown["status"] == "failed"
    assert query(client, gateway, refund_ref_id="nope")["status"] == "failed"


def test_processing_refund_until_settled(client: httpx.Client, gateway: SslcommerzStandIn) -> None:
    ipn = paid(client, gateway)
    gateway.set_refund_mode("processing")
    started = refund(client, gateway, ipn["bank_tran_id"], "150.50", "RF-1")
    assert started["status"] == "processing"
    ref = started["refund_ref_id"]
    status = query(client, gateway, refund_ref_id=ref)
    assert status["status"] == "processing"
    assert status["refunded_on"] == ""
    assert refund(client, gateway, ipn["bank_tran_id"], "150.50", "RF-1")["status"] == "processing"
    gateway.settle_refund(ref)
    assert query(client, gateway, refund_ref_id=ref)["status"] == "refunded"
    assert refund(client, gateway, ipn["bank_tran_id"], "150.50", "RF-1")["status"] == "success"


def test_cancelled_refund_frees_the_amount(client: httpx.Client, gateway: SslcommerzStandIn) -> None:
    ipn = paid(client, gateway)
    gateway.set_refund_mode("processing")
    ref = refund(client, gateway, ipn["bank_tran_id"], "150.50", "RF-1")["refund_ref_id"]
    assert refund(client, gateway, ipn["bank_tran_id"], "1.00", "RF-2")["status"] == "failed"
    gateway.settle_refund(ref, "cancelled")
    assert query(client, gateway, refund_ref_id=ref)["status"] == "cancelled"
    gateway.set_refund_mode("refunded")
    assert refund(client, gateway, ipn["bank_tran_id"], "150.50", "RF-3")["status"] == "success"
    with pytest.raises(ValueError, match="refund mode"):
        gateway.set_refund_mode("instant")
    with pytest.raises(ValueError, match="status"):
        gateway.settle_refund(ref, "processing")


def test_every_request_is_recorded(client: httpx.Client, gateway: SslcommerzStandIn) -> None:
    client.post(VALIDATION, params={"val_id": "q"}, data={"store_id": "form"})
    recorded = gateway.requests[-1]
    assert (recorded.method, recorded.path) == ("POST", VALIDATION)
    assert recorded.query == {"val_id": "q"}
    assert recorded.form == {"store_id": "form"}
    assert recorded.params == {"val_id": "q", "store_id": "form"}
    gateway.reset()
    assert gateway.requests == []
