"""The documentation of `controllers.auth`: accounts and sessions (what each operation does is in
its handler's docstring)."""

from __future__ import annotations

from functools import partial

from shop_core.domain.errors import (
    AuthenticationFailed,
    Conflict,
    InvalidInput,
    InvalidToken,
    ServiceUnavailable,
    TooManyAttempts,
)
from shop_core.domain.users import check_password_policy
from shop_core.services import password_reset, sessions
from shop_core.services.commands import (
    ConfirmPasswordReset,
    Login,
    RefreshSession,
    RegisterUser,
    RequestPasswordReset,
    UpdateProfile,
)
from shop_core.services.views import Message, TokenPair, UserView
from shop_http.api_docs.examples import CUSTOMER
from shop_http.errors import CODE_OF_STATUS, RATE_LIMITED
from shop_http.openapi import ErrorBody, body, error, example, ok, refusal, request_example, sample

PASSWORD = "correct-horse-battery"  # noqa: S105 - an example in the docs
ACCESS = "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiIyIiwidHlwZSI6ImFjY2VzcyJ9.8bXk3Hq0sVYc2Jx"
REFRESH = "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiIyIiwidHlwZSI6InJlZnJlc2gifQ.Q2m9r7yLd0cF4kA"

# --- answers ---------------------------------------------------------------------------------------

TOKENS = ok(
    TokenPair,
    "A short-lived access token (`expires_in` seconds) and a rotating refresh token.",
    example(TokenPair(access=ACCESS, refresh=REFRESH, expires_in=900)),
)
ONE_USER = ok(UserView, "The account.", example(CUSTOMER))
REGISTERED = ok(UserView, "The new account (never its password).", example(CUSTOMER), status=201)
RESET_REQUESTED = ok(
    Message,
    "The same answer whether or not the account exists.",
    example(Message(detail=password_reset.REQUESTED)),
    status=202,
)

# --- errors ----------------------------------------------------------------------------------------

THROTTLED = error(
    RATE_LIMITED,
    f"Too many requests (`{CODE_OF_STATUS[429]}`), or too many failed logins for this identifier "
    f"(`{TooManyAttempts.code}`); retry after `Retry-After` seconds.",
    sample(TooManyAttempts(sessions.TOO_MANY_FAILED_LOGINS, retry_after=60)),
    ErrorBody(detail="Too Many Requests.", code=CODE_OF_STATUS[429]),
)
BAD_CREDENTIALS = error(
    AuthenticationFailed,
    "Wrong email (or username) or password, or the account is inactive.",
    sample(AuthenticationFailed(sessions.BAD_CREDENTIALS)),
)
BAD_REFRESH = error(
    AuthenticationFailed,
    "The refresh token is expired, revoked, already rotated, or not a refresh token.",
    sample(AuthenticationFailed("This token has been revoked.")),
)
WEAK_PASSWORD = error(
    InvalidInput,
    "A malformed email, or a weak password (the `password` errors name the rules it breaks).",
    sample(refusal(partial(check_password_policy, email="ada@example.com"), "1234", kind=InvalidInput)),
)
EMAIL_TAKEN = error(
    Conflict,
    "That email (or username) is already registered.",
    sample(Conflict("A user with that email already exists.")),
)
NO_MAIL = error(
    ServiceUnavailable,
    "This shop cannot send email (the `mail` extra is not installed).",
    sample(ServiceUnavailable("Password reset needs the `mail` extra (jinja2) installed.")),
)
BAD_RESET = error(
    InvalidInput,
    f"The token is unknown, used or expired (`{InvalidToken.code}`), or the password is weak "
    f"(`{InvalidInput.code}`, naming the rules it breaks).",
    sample(InvalidToken(password_reset.INVALID_TOKEN)),
)

# --- descriptions and request bodies ---------------------------------------------------------------

REGISTER_BODY = body(
    request_example(
        RegisterUser,
        "A new customer",
        email="ada@example.com",
        password=PASSWORD,
        first_name="Ada",
        last_name="Lovelace",
    ),
    request_example(
        RegisterUser,
        "Every field",
        email="grace@example.com",
        password=PASSWORD,
        username="grace",
        first_name="Grace",
        last_name="Hopper",
        phone="+1 202 555 0143",
    ),
)
LOGIN_BODY = body(
    request_example(Login, "By email", email="ada@example.com", password=PASSWORD),
    request_example(Login, "By username", username="ada", password=PASSWORD),
)
REFRESH_BODY = body(request_example(RefreshSession, "The refresh token login gave", refresh=REFRESH))
RESET_BODY = body(request_example(RequestPasswordReset, "The account's email", email="ada@example.com"))
CONFIRM_RESET_BODY = body(
    request_example(
        ConfirmPasswordReset,
        "The token from the emailed link, and the new password",
        token="q8Yw2n5Vd0hR3xJt7LcPzKmA9sBfEuGi",  # noqa: S106 - an example in the docs
        password="new-horse-battery-staple",  # noqa: S106 - an example in the docs
    )
)
LOGOUT = "Both stop working at once, on every server."
UPDATE_PROFILE = "Only the fields sent change. The email and password are changed elsewhere."
UPDATE_PROFILE_BODY = body(
    request_example(UpdateProfile, "A new phone number", phone="+44 20 7946 0001"),
    request_example(UpdateProfile, "A new name", first_name="Augusta Ada", last_name="King"),
)
