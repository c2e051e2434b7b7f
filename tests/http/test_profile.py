"""GET and PATCH /api/auth/profile/, and the staff-only GET /api/users/."""

from __future__ import annotations

from typing import Any

import pytest

from tests.http.conftest import (
    Account,
    Client,
    assert_error,
    assert_user,
    deactivate,
    login,
    new_account,
    profile,
    register,
)

# --- profile -------------------------------------------------------------------------------------


@pytest.mark.parametrize("path", ["/api/auth/profile/", "/api/auth/profile"])
async def test_profile_is_the_current_user(client: Client, path: str) -> None:
    created = await register(client, "ada@example.com", username="ada", first_name="Ada", phone="+1 555")
    account = await new_account(client)

    response = await client.get(path, headers=account.headers)

    assert response.status_code == 200, response.text
    body = response.json()
    assert_user(body, account.email)
    assert body["id"] == account.id
    assert body["id"] != created.json()["id"]


async def test_profile_answers_what_register_answered(client: Client) -> None:
    created = await register(client, "ada@example.com", first_name="Ada", last_name="Lovelace", phone="123")
    await new_account(client, email="grace@example.com")
    tokens = (await login(client, "ada@example.com")).json()

    me = await profile(client, tokens["access"])

    assert {k: me.json()[k] for k in created.json()} == created.json()


@pytest.mark.parametrize("method", ["GET", "PATCH"])
async def test_profile_without_a_token_is_401(client: Client, method: str) -> None:
    response = await client.request(method, "/api/auth/profile/", json={"first_name": "X"})

    assert_error(response, 401, "not_authenticated")
    assert response.headers["WWW-Authenticate"] == "Bearer"


@pytest.mark.parametrize("path", ["/api/auth/profile/", "/api/auth/profile"])
async def test_patch_changes_only_the_given_fields(client: Client, path: str) -> None:
    await register(client, "ada@example.com", first_name="Ada", last_name="Byron", phone="+44 1")
    account = await new_account(client, email="grace@example.com")
    before = (await profile(client, account.access)).json()

    response = await client.patch(path, json={"last_name": "Hopper"}, headers=account.headers)

    assert response.status_code == 200, response.text
    after = response.json()
    assert after == {**before, "last_name": "Hopper"}
    assert (await profile(client, account.access)).json() == after


async def test_patch_every_field_and_trims_them(client: Client, account: Account) -> None:
    changes = {"first_name": "  Grace ", "last_name": "Hopper", "phone": "+1 (555) 010-0000"}

    response = await client.patch("/api/auth/profile/", json=changes, headers=account.headers)

    assert response.status_code == 200, response.text
    body = response.json()
    assert (body["first_name"], body["last_name"], body["phone"]) == ("Grace", "Hopper", "+1 (555) 010-0000")
    assert body["email"] == account.email


async def test_patch_with_an_empty_object_changes_nothing(client: Client, account: Account) -> None:
    before = (await profile(client, account.access)).json()

    response = await client.patch("/api/auth/profile/", json={}, headers=account.headers)

    assert response.status_code == 200
    assert response.json() == before


async def test_patch_can_clear_a_field(client: Client, account: Account) -> None:
    await client.patch("/api/auth/profile/", json={"phone": "123"}, headers=account.headers)

    response = await client.patch("/api/auth/profile/", json={"phone": ""}, headers=account.headers)

    assert response.json()["phone"] == ""


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"email": "new@example.com"}, "email"),
        ({"first_name": "Grace", "email": "new@example.com"}, "email"),
        ({"username": "root"}, "username"),
        ({"is_staff": True}, "is_staff"),
        ({"password": "another-password"}, "password"),
        ({"id": 1}, "id"),
        ({"first_name": "x" * 151}, "first_name"),
        ({"last_name": "y" * 10_000}, "last_name"),
        ({"phone": "1" * 33}, "phone"),
        ({"phone": "call me maybe"}, "phone"),
        ({"first_name": 7}, "first_name"),
        ({"first_name": None}, "first_name"),
    ],
)
async def test_patch_refuses_bad_input_and_changes_nothing(
    client: Client, account: Account, body: dict[str, Any], field: str
) -> None:
    before = (await profile(client, account.access)).json()

    response = await client.patch("/api/auth/profile/", json=body, headers=account.headers)

    answer = assert_error(response, 400, "invalid")
    assert field in answer["errors"], answer
    assert (await profile(client, account.access)).json() == before
    assert (await login(client, account.email)).status_code == 200


@pytest.mark.parametrize("raw", [b"[]", b"{", b"null", b'"Grace"'])
async def test_patch_with_a_non_object_body_is_400(client: Client, account: Account, raw: bytes) -> None:
    before = (await profile(client, account.access)).json()

    response = await client.patch(
        "/api/auth/profile/", content=raw, headers={**account.headers, "Content-Type": "application/json"}
    )

    assert_error(response, 400, "invalid")
    assert (await profile(client, account.access)).json() == before


async def test_patch_touches_no_one_else(client: Client, account: Account) -> None:
    other = await new_account(client)
    before = (await profile(client, other.access)).json()

    await client.patch("/api/auth/profile/", json={"first_name": "Changed"}, headers=account.headers)

    assert (await profile(client, other.access)).json() == before


# --- staff list of users --------------------------------------------------------------------------


@pytest.mark.parametrize("path", ["/api/users/", "/api/users"])
async def test_user_list_with_a_customer_token_is_403(client: Client, account: Account, path: str) -> None:
    response = await client.get(path, headers=account.headers)

    body = assert_error(response, 403, "permission_denied")
    assert account.email not in str(body)


@pytest.mark.parametrize("path", ["/api/users/", "/api/users"])
async def test_user_list_without_a_token_is_401(client: Client, path: str) -> None:
    response = await client.get(path)

    assert_error(response, 401, "not_authenticated")
    assert response.headers["WWW-Authenticate"] == "Bearer"


@pytest.mark.parametrize("path", ["/api/users/", "/api/users"])
async def test_user_list_for_staff_is_a_drf_page(client: Client, staff: Account, path: str) -> None:
    customer = await new_account(client)

    response = await client.get(path, headers=staff.headers)

    assert response.status_code == 200, response.text
    body = response.json()
    assert set(body) == {"count", "next", "previous", "results"}
    assert body["count"] == 2
    assert body["next"] is None
    assert body["previous"] is None
    assert [u["email"] for u in body["results"]] == [staff.email, customer.email]
    for user in body["results"]:
        assert_user(user, user["email"])
    assert [u["is_staff"] for u in body["results"]] == [True, False]


async def test_user_list_pages_link_to_each_other(client: Client, staff: Account) -> None:
    for _ in range(4):
        await new_account(client)

    first = (await client.get("/api/users/?page_size=2", headers=staff.headers)).json()
    second = await client.get(first["next"], headers=staff.headers)
    last = (await client.get("/api/users/", params={"page": 3, "page_size": 2}, headers=staff.headers)).json()

    assert first["count"] == 5
    assert first["previous"] is None
    assert len(first["results"]) == 2
    assert "page=2" in first["next"]
    assert "page_size=2" in first["next"]
    assert second.status_code == 200
    assert second.json()["previous"] is not None
    assert "page=1" in second.json()["previous"]
    assert len(last["results"]) == 1
    assert last["next"] is None
    ids = [u["id"] for u in first["results"] + second.json()["results"] + last["results"]]
    assert ids == sorted(set(ids))


@pytest.mark.parametrize(
    "query",
    ["page=0", "page=-1", "page=abc", "page_size=0", "page_size=1000", "page_size=101", "page_size=x"],
)
async def test_user_list_refuses_bad_paging(client: Client, staff: Account, query: str) -> None:
    response = await client.get(f"/api/users/?{query}", headers=staff.headers)

    body = assert_error(response, 400, "invalid")
    assert query.split("=", maxsplit=1)[0] in body.get("errors", {}), body


async def test_user_list_page_size_100_is_allowed(client: Client, staff: Account) -> None:
    response = await client.get("/api/users/?page_size=100", headers=staff.headers)

    assert response.status_code == 200


async def test_user_list_page_past_the_end_is_404(client: Client, staff: Account) -> None:
    response = await client.get("/api/users/?page=2", headers=staff.headers)

    assert_error(response, 404, "not_found")


async def test_user_list_with_a_deactivated_staff_token_is_401(client: Client, staff: Account) -> None:
    await deactivate(client, staff.email)

    assert_error(await client.get("/api/users/", headers=staff.headers), 401)
