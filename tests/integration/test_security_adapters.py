"""The password hasher (argon2-cffi) and the token codec (PyJWT), against the real libraries."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import jwt
import pytest

from shop_core.adapters import jwt_codec
from shop_core.adapters.jwt_codec import ALGORITHM, JwtTokenCodec
from shop_core.domain.errors import AuthenticationFailed
from shop_core.domain.tokens import TokenClaims, TokenType
from tests.conftest import TEST_SECRET, fast_hasher

# --- argon2 --------------------------------------------------------------------------------


def test_argon2_hashes_verify_the_right_password_only() -> None:
    hasher = fast_hasher()
    hashed = hasher.hash("correct horse")
    assert hashed.startswith("$argon2id$")
    assert "correct horse" not in hashed
    assert hasher.verify(hashed, "correct horse") is True
    assert hasher.verify(hashed, "wrong horse") is False
    assert hasher.hash("correct horse") != hashed, "every hash is salted"


@pytest.mark.parametrize("stored", ["", "not-a-hash", "$argon2id$v=19$broken"])
def test_argon2_says_no_to_a_malformed_hash_instead_of_raising(stored: str) -> None:
    assert fast_hasher().verify(stored, "anything") is False


def test_argon2_verify_nothing_spends_a_verification_without_raising() -> None:
    fast_hasher().verify_nothing("anything")


# --- JWT -----------------------------------------------------------------------------------


def claims(token_type: TokenType = TokenType.REFRESH, **changes: object) -> TokenClaims:
    now = datetime.now(UTC).replace(microsecond=0)
    values: dict[str, object] = {
        "subject": 42,
        "token_type": token_type,
        "jti": uuid.uuid4().hex,
        "issued_at": now,
        "expires_at": now + timedelta(minutes=5),
        "family": uuid.uuid4().hex if token_type is TokenType.REFRESH else None,
    }
    values.update(changes)
    return TokenClaims(**values)  # type: ignore[arg-type]


@pytest.mark.parametrize("token_type", list(TokenType))
def test_claims_survive_a_round_trip(token_type: TokenType) -> None:
    codec = JwtTokenCodec(TEST_SECRET)
    original = claims(token_type)
    assert codec.decode(codec.encode(original)) == original


def test_an_expired_token_is_refused() -> None:
    codec = JwtTokenCodec(TEST_SECRET)
    past = datetime.now(UTC) - timedelta(hours=1)
    token = codec.encode(claims(issued_at=past, expires_at=past + timedelta(minutes=5)))
    with pytest.raises(AuthenticationFailed, match="invalid or expired"):
        codec.decode(token)


def test_a_remembered_token_is_refused_once_it_expires(monkeypatch: pytest.MonkeyPatch) -> None:
    codec = JwtTokenCodec(TEST_SECRET)
    original = claims(TokenType.ACCESS)
    token = codec.encode(original)
    assert codec.decode(token) == original  # verified, and remembered
    later = original.expires_at.timestamp() + 1
    monkeypatch.setattr(jwt_codec.time, "time", lambda: later)
    monkeypatch.setattr(jwt.api_jwt, "datetime", _FrozenDatetime(later))
    with pytest.raises(AuthenticationFailed, match="invalid or expired"):
        codec.decode(token)


def test_remembering_tokens_never_lets_a_forgery_through() -> None:
    codec = JwtTokenCodec(TEST_SECRET, remembered=2)
    genuine = [codec.encode(claims(TokenType.ACCESS)) for _ in range(3)]
    for token in genuine:
        codec.decode(token)
    head, payload, signature = genuine[0].split(".")
    forged = f"{head}.{payload}.{signature[:-2]}{'AA' if signature[-2:] != 'AA' else 'BB'}"
    with pytest.raises(AuthenticationFailed):
        codec.decode(forged)
    assert codec.decode(genuine[0]).subject == 42  # forgotten to make room, verified again


class _FrozenDatetime:
    """Stands in for `datetime` inside PyJWT: `now()` is a fixed moment."""

    def __init__(self, at: float) -> None:
        self._at = at

    def now(self, tz: object = None) -> datetime:
        return datetime.fromtimestamp(self._at, UTC)

    def __getattr__(self, name: str) -> object:
        return getattr(datetime, name)


def test_a_token_signed_with_another_secret_is_refused() -> None:
    token = JwtTokenCodec("another-secret-0123456789abcdef0123").encode(claims())
    with pytest.raises(AuthenticationFailed):
        JwtTokenCodec(TEST_SECRET).decode(token)


def payload(**changes: object) -> dict[str, object]:
    now = int(datetime.now(UTC).timestamp())
    values: dict[str, object] = {"sub": "42", "type": "access", "jti": "j", "iat": now, "exp": now + 60}
    values.update(changes)
    return {k: v for k, v in values.items() if v is not None}


@pytest.mark.parametrize(
    "make_token",
    [
        pytest.param(lambda: jwt.encode(payload(), key=None, algorithm="none"), id="alg-none"),
        pytest.param(lambda: jwt.encode(payload(), TEST_SECRET, algorithm="HS512"), id="other-algorithm"),
        pytest.param(lambda: jwt.encode(payload(jti=None), TEST_SECRET, algorithm=ALGORITHM), id="no-jti"),
        pytest.param(lambda: jwt.encode(payload(exp=None), TEST_SECRET, algorithm=ALGORITHM), id="no-expiry"),
        pytest.param(
            lambda: jwt.encode(payload(type="root"), TEST_SECRET, algorithm=ALGORITHM), id="unknown-type"
        ),
        pytest.param(
            lambda: jwt.encode(payload(sub="ada"), TEST_SECRET, algorithm=ALGORITHM), id="non-numeric-subject"
        ),
        pytest.param(lambda: "not.a.token", id="garbage"),
    ],
)
@pytest.mark.filterwarnings("ignore::jwt.warnings.InsecureKeyLengthWarning")
def test_a_token_we_did_not_issue_is_refused(make_token: Callable[[], str]) -> None:
    token = make_token()
    with pytest.raises(AuthenticationFailed):
        JwtTokenCodec(TEST_SECRET).decode(token)
