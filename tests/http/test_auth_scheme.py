"""Only the `Bearer` scheme carries an access token: `Basic <jwt>`, `Token <jwt>` or a bare token
are 401 on every endpoint that reads a token, protected or optional-auth alike."""

from __future__ import annotations

import pytest

from tests.http.conftest import Account, Client, assert_error

# Endpoints that need a token, and public ones that read a token when one is sent.
PROTECTED = ["/api/auth/profile/", "/api/orders/"]
OPTIONAL = ["/api/cart/", "/api/products/", "/api/categories/"]


def other_schemes(token: str) -> dict[str, str]:
    return {
        "basic": f"Basic {token}",
        "token": f"Token {token}",
        "jwt": f"JWT {token}",
        "no scheme": token,
        "bearer without a token": "Bearer",
        "bearer and a blank": "Bearer   ",
        "two words after bearer": f"Bearer {token} {token}",
        "glued to the scheme": f"Bearer{token}",
    }


SCHEMES = list(other_schemes("x"))


@pytest.mark.parametrize("path", PROTECTED)
@pytest.mark.parametrize("scheme", SCHEMES)
async def test_a_protected_endpoint_refuses_any_other_scheme(
    client: Client, account: Account, path: str, scheme: str
) -> None:
    header = other_schemes(account.access)[scheme]

    response = await client.get(path, headers={"Authorization": header})

    body = assert_error(response, 401)
    assert response.headers["WWW-Authenticate"].startswith("Bearer")
    assert account.email not in response.text, body


@pytest.mark.parametrize("path", OPTIONAL)
@pytest.mark.parametrize("scheme", SCHEMES)
async def test_an_optional_auth_endpoint_refuses_any_other_scheme(
    client: Client, account: Account, path: str, scheme: str
) -> None:
    header = other_schemes(account.access)[scheme]

    response = await client.get(path, headers={"Authorization": header})

    assert_error(response, 401)


async def test_a_write_with_another_scheme_changes_nothing(client: Client, account: Account) -> None:
    refused = await client.patch(
        "/api/auth/profile/",
        json={"first_name": "Mallory"},
        headers={"Authorization": f"Basic {account.access}"},
    )
    assert_error(refused, 401)

    profile = await client.get("/api/auth/profile/", headers=account.headers)
    assert profile.json()["first_name"] != "Mallory"


@pytest.mark.parametrize("word", ["Bearer", "bearer", "BEARER", "bEaReR"])
@pytest.mark.parametrize("path", PROTECTED + OPTIONAL)
async def test_the_bearer_scheme_is_accepted_in_any_case(
    client: Client, account: Account, word: str, path: str
) -> None:
    response = await client.get(path, headers={"Authorization": f"{word} {account.access}"})

    assert response.status_code == 200, response.text


async def test_the_profile_is_the_tokens_user_with_a_lowercase_scheme(
    client: Client, account: Account
) -> None:
    response = await client.get("/api/auth/profile/", headers={"Authorization": f"bearer {account.access}"})

    assert response.json()["email"] == account.email
