"""Refresh (rotation, reuse detection), logout, and which bearer tokens the API refuses."""

from __future__ import annotations

import base64
import json
import warnings
from datetime import timedelta

import jwt
import pytest
from jwt.warnings import InsecureKeyLengthWarning

from tests.conftest import TEST_SECRET
from tests.http.conftest import (
    Account,
    Client,
    assert_error,
    bearer,
    craft_token,
    deactivate,
    login,
    logout,
    new_account,
    profile,
    refresh,
)

# --- refresh -----------------------------------------------------------------------------------


@pytest.mark.parametrize("path", ["/api/auth/refresh/", "/api/auth/refresh"])
async def test_refresh_answers_a_new_pair(client: Client, account: Account, path: str) -> None:
    response = await client.post(path, json={"refresh": account.refresh})

    assert response.status_code == 200, response.text
    body = response.json()
    assert {"access", "refresh"} <= set(body)
    assert body["access"] != account.access
    assert body["refresh"] != account.refresh
    claims = jwt.decode(body["refresh"], TEST_SECRET, algorithms=["HS256"])
    first = jwt.decode(account.refresh, TEST_SECRET, algorithms=["HS256"])
    assert claims["fam"] == first["fam"]
    assert claims["sub"] == str(account.id)
    me = await profile(client, body["access"])
    assert me.status_code == 200
    assert me.json()["id"] == account.id


async def test_refresh_token_rotates(client: Client, account: Account) -> None:
    rotated = (await refresh(client, account.refresh)).json()

    again = await refresh(client, account.refresh)

    assert_error(again, 401, "not_authenticated")
    assert again.headers["WWW-Authenticate"] == "Bearer"
    assert "access" not in again.json()
    assert rotated["refresh"] != account.refresh


async def test_a_chain_of_rotations_keeps_working(client: Client, account: Account) -> None:
    token = account.refresh
    for _ in range(3):
        response = await refresh(client, token)
        assert response.status_code == 200, response.text
        token = response.json()["refresh"]

    assert (await profile(client, response.json()["access"])).status_code == 200


async def test_reusing_a_rotated_refresh_token_revokes_the_whole_family(
    client: Client, account: Account
) -> None:
    newest = (await refresh(client, account.refresh)).json()

    stolen = await refresh(client, account.refresh)

    assert_error(stolen, 401)
    assert_error(await refresh(client, newest["refresh"]), 401)


async def test_family_revocation_spares_other_logins(client: Client, account: Account) -> None:
    other_session = (await login(client, account.email)).json()
    await refresh(client, account.refresh)
    await refresh(client, account.refresh)

    assert (await refresh(client, other_session["refresh"])).status_code == 200


async def test_refresh_with_an_access_token_is_401(client: Client, account: Account) -> None:
    assert_error(await refresh(client, account.access), 401)
    assert (await refresh(client, account.refresh)).status_code == 200


@pytest.mark.parametrize(
    "token",
    ["garbage", "a.b.c", "eyJhbGciOiJIUzI1NiJ9.e30.", "x" * 4096],
)
async def test_refresh_with_garbage_is_401(client: Client, token: str) -> None:
    assert_error(await refresh(client, token), 401)


async def test_refresh_with_a_forged_refresh_token_is_401(client: Client, account: Account) -> None:
    family = jwt.decode(account.refresh, TEST_SECRET, algorithms=["HS256"])["fam"]
    forged = craft_token(
        account.id, "refresh", secret="another-secret-of-the-right-length-0123456789", fam=family
    )
    expired = craft_token(account.id, "refresh", lifetime=timedelta(seconds=-60), fam=family)
    unknown_family = craft_token(account.id, "refresh")

    for token in (forged, expired, unknown_family):
        assert_error(await refresh(client, token), 401)
    assert (await refresh(client, account.refresh)).status_code == 200


@pytest.mark.parametrize("body", [{}, {"refresh": ""}, {"refresh": 1}, {"refresh": "x", "access": "y"}])
async def test_malformed_refresh_body_is_400(client: Client, body: dict[str, object]) -> None:
    assert_error(await client.post("/api/auth/refresh/", json=body), 400, "invalid")


async def test_refresh_after_the_user_is_deactivated_is_401(client: Client, account: Account) -> None:
    await deactivate(client, account.email)

    assert_error(await refresh(client, account.refresh), 401)


# --- logout ------------------------------------------------------------------------------------


@pytest.mark.parametrize("path", ["/api/auth/logout/", "/api/auth/logout"])
async def test_logout_revokes_both_tokens_at_once(client: Client, account: Account, path: str) -> None:
    response = await client.post(path, json={"refresh": account.refresh}, headers=account.headers)

    assert response.status_code == 204, response.text
    assert response.content == b""
    assert_error(await profile(client, account.access), 401)
    assert_error(await refresh(client, account.refresh), 401)


async def test_logout_ends_the_session_after_rotations_too(client: Client, account: Account) -> None:
    pair = (await refresh(client, account.refresh)).json()

    assert (await logout(client, pair["access"], pair["refresh"])).status_code == 204

    assert_error(await profile(client, pair["access"]), 401)
    assert_error(await refresh(client, pair["refresh"]), 401)


async def test_logout_leaves_other_sessions_alone(client: Client, account: Account) -> None:
    other = (await login(client, account.email)).json()

    await logout(client, account.access, account.refresh)

    assert (await profile(client, other["access"])).status_code == 200
    assert (await refresh(client, other["refresh"])).status_code == 200


async def test_logout_twice_is_401(client: Client, account: Account) -> None:
    await logout(client, account.access, account.refresh)

    assert_error(await logout(client, account.access, account.refresh), 401)


async def test_logout_without_a_token_is_401(client: Client, account: Account) -> None:
    response = await client.post("/api/auth/logout/", json={"refresh": account.refresh})

    assert_error(response, 401)
    assert response.headers["WWW-Authenticate"] == "Bearer"
    assert (await refresh(client, account.refresh)).status_code == 200


async def test_logout_with_a_refresh_token_as_bearer_is_401(client: Client, account: Account) -> None:
    response = await client.post(
        "/api/auth/logout/", json={"refresh": account.refresh}, headers=bearer(account.refresh)
    )

    assert_error(response, 401)
    assert (await profile(client, account.access)).status_code == 200


async def test_logout_with_someone_elses_refresh_token_is_rejected(client: Client, account: Account) -> None:
    victim = await new_account(client)

    response = await logout(client, account.access, victim.refresh)

    assert_error(response, 401)
    assert (await refresh(client, victim.refresh)).status_code == 200
    assert (await profile(client, victim.access)).status_code == 200
    # The caller asked to be logged out: the access token it used is revoked regardless.
    assert (await profile(client, account.access)).status_code == 401


@pytest.mark.parametrize("body", [{}, {"refresh": ""}, {"refresh": 5}, {"refresh": "x", "all": True}])
async def test_malformed_logout_body_is_400(
    client: Client, account: Account, body: dict[str, object]
) -> None:
    response = await client.post("/api/auth/logout/", json=body, headers=account.headers)

    assert_error(response, 400, "invalid")
    assert (await profile(client, account.access)).status_code == 200


async def test_logout_with_a_garbage_refresh_token_is_401(client: Client, account: Account) -> None:
    assert_error(await logout(client, account.access, "garbage"), 401)
    # The access token used was revoked by that first call, whatever the refresh token was.
    assert (await profile(client, account.access)).status_code == 401
    assert (await refresh(client, account.refresh)).status_code == 200


# --- bearer tokens the API must refuse ------------------------------------------------------------


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _tampered(token: str) -> str:
    header, payload, signature = token.split(".")
    flipped = ("A" if signature[0] != "A" else "B") + signature[1:]
    return f"{header}.{payload}.{flipped}"


def _payload_swapped(token: str, **changes: object) -> str:
    """The same signature over a payload that says something else (e.g. another user)."""
    header, payload, signature = token.split(".")
    claims = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    claims.update(changes)
    return f"{header}.{_b64(json.dumps(claims).encode())}.{signature}"


def _hs512(user_id: int) -> str:
    """Same secret, another HMAC: the API must insist on HS256 (PyJWT warns the key is short for it)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", InsecureKeyLengthWarning)
        return craft_token(user_id, algorithm="HS512")


def _alg_none(user_id: int) -> str:
    unsigned = craft_token(user_id)
    _, payload, _ = unsigned.split(".")
    header = _b64(json.dumps({"alg": "none", "typ": "JWT"}).encode())
    return f"{header}.{payload}."


REFUSED = {
    "expired": lambda a: craft_token(a.id, lifetime=timedelta(seconds=-30)),
    "tampered-signature": lambda a: _tampered(a.access),
    "payload-swapped": lambda a: _payload_swapped(a.access, sub=str(a.id + 1)),
    "alg-none": lambda a: _alg_none(a.id),
    "pyjwt-alg-none": lambda a: jwt.encode(
        {"sub": str(a.id), "type": "access", "jti": "x", "iat": 0, "exp": 4_102_444_800},
        None,
        algorithm="none",
    ),
    "other-secret": lambda a: craft_token(a.id, secret="some-other-secret-key-0123456789abcdef"),
    "hs512-same-secret": lambda a: _hs512(a.id),
    "missing-exp": lambda a: craft_token(a.id, drop=("exp",)),
    "missing-jti": lambda a: craft_token(a.id, drop=("jti",)),
    "missing-type": lambda a: craft_token(a.id, drop=("type",)),
    "missing-sub": lambda a: craft_token(a.id, drop=("sub",)),
    "unknown-type": lambda a: craft_token(a.id, "superuser"),
    "sub-not-a-number": lambda a: craft_token(a.id, sub="admin"),
    "unknown-user": lambda a: craft_token(a.id + 1000),
    "refresh-as-access": lambda a: a.refresh,
    "crafted-refresh-as-access": lambda a: craft_token(a.id, "refresh"),
    "garbage": lambda a: "not-a-jwt",
}


@pytest.mark.parametrize("kind", list(REFUSED))
async def test_bad_bearer_token_is_401(client: Client, account: Account, kind: str) -> None:
    token = REFUSED[kind](account)

    response = await profile(client, token)

    body = assert_error(response, 401, "not_authenticated")
    assert response.headers["WWW-Authenticate"] == "Bearer"
    assert "email" not in body
    assert (await profile(client, account.access)).status_code == 200


async def test_a_crafted_token_with_the_right_secret_is_accepted(client: Client, account: Account) -> None:
    """The crafting above is right: only the one thing each case breaks makes it fail."""
    response = await profile(client, craft_token(account.id))

    assert response.status_code == 200
    assert response.json()["email"] == account.email


@pytest.mark.parametrize(
    "header",
    ["Bearer", "Bearer ", "Basic dXNlcjpwYXNz", "bearer{access}", "{access}", "Bearer {access}x"],
)
async def test_malformed_authorization_header_is_401(client: Client, account: Account, header: str) -> None:
    response = await client.get(
        "/api/auth/profile/", headers={"Authorization": header.format(access=account.access)}
    )

    assert_error(response, 401)


@pytest.mark.parametrize("subject", [0, -1, 2**63, 2**70])
async def test_a_signed_token_naming_an_impossible_user_id_is_401(client: Client, subject: int) -> None:
    access = craft_token(subject)
    refresh_token = craft_token(subject, "refresh", fam="family")

    assert_error(await profile(client, access), 401)
    assert_error(await refresh(client, refresh_token), 401)
