"""The IPN signature check against the official vector of PAYMENTS.md §B2a."""

from __future__ import annotations

import pytest

from shop_core.adapters.sslcommerz_gateway import ipn_signature_ok
from tests.stand_ins.sslcommerz_vector import OFFICIAL_IPN
from tests.stand_ins.sslcommerz_vector import OFFICIAL_PASSWORD as PASSWORD

SIGNED = [k for k in OFFICIAL_IPN["verify_key"].split(",") if k in OFFICIAL_IPN]


def test_the_official_vector_passes() -> None:
    assert ipn_signature_ok(OFFICIAL_IPN, PASSWORD) is True


def test_every_verify_key_field_is_in_the_vector() -> None:
    assert len(SIGNED) == 25  # so the parametrisation below covers every signed field


@pytest.mark.parametrize("key", [*SIGNED, "verify_sign", "verify_sign_sha2"])
def test_changing_any_signed_field_fails(key: str) -> None:
    changed = {**OFFICIAL_IPN, key: OFFICIAL_IPN[key] + "0"}
    assert ipn_signature_ok(changed, PASSWORD) is False


@pytest.mark.parametrize("key", ["amount", "risk_level", "status"])
def test_blanking_a_signed_field_fails(key: str) -> None:
    assert ipn_signature_ok({**OFFICIAL_IPN, key: ""}, PASSWORD) is False


def test_an_unsigned_field_does_not_matter() -> None:
    assert ipn_signature_ok({**OFFICIAL_IPN, "card_sub_brand": "Classic"}, PASSWORD) is True


def test_the_wrong_password_fails() -> None:
    assert ipn_signature_ok(OFFICIAL_IPN, "test_testemi@ss1") is False
    assert ipn_signature_ok(OFFICIAL_IPN, "") is False


def test_md5_alone_passes_when_sha2_is_absent() -> None:
    without_sha2 = {k: v for k, v in OFFICIAL_IPN.items() if k != "verify_sign_sha2"}
    assert ipn_signature_ok(without_sha2, PASSWORD) is True


def test_a_wrong_sha2_fails_even_with_a_right_md5() -> None:
    assert ipn_signature_ok({**OFFICIAL_IPN, "verify_sign_sha2": "0" * 64}, PASSWORD) is False
    assert ipn_signature_ok({**OFFICIAL_IPN, "verify_sign_sha2": ""}, PASSWORD) is False


def test_a_wrong_md5_fails_even_with_a_right_sha2() -> None:
    assert ipn_signature_ok({**OFFICIAL_IPN, "verify_sign": "0" * 32}, PASSWORD) is False


@pytest.mark.parametrize("key", ["verify_key", "verify_sign"])
def test_a_missing_verify_field_fails(key: str) -> None:
    assert ipn_signature_ok({k: v for k, v in OFFICIAL_IPN.items() if k != key}, PASSWORD) is False
    assert ipn_signature_ok({**OFFICIAL_IPN, key: ""}, PASSWORD) is False


def test_a_verify_key_field_that_is_absent_is_skipped() -> None:
    # PHP isset(): a listed key missing from the post is left out of the signed string, not "".
    # The vector lists card_sub_brand nowhere; listing an absent key must not change the result.
    listed = {**OFFICIAL_IPN, "verify_key": OFFICIAL_IPN["verify_key"] + ",card_sub_brand"}
    assert ipn_signature_ok(listed, PASSWORD) is True


def test_a_non_ascii_signature_is_refused_not_raised() -> None:
    assert ipn_signature_ok({**OFFICIAL_IPN, "verify_sign": "é" * 32}, PASSWORD) is False
