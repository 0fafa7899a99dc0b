"""Schemathesis hooks for neptun-accounts.

- Every operation that needs a session gets a fresh account of its own
  (signed up through the API), as an auth provider, so that the `ignored_auth`
  check can still take the session away and expect 401. Positive cases on
  `/api/users/{user_id}` (and its sessions, events and identities) are pointed at that
  account's own id, and a `{session_id}` at its own session.
- Positive cases carry credentials that hold together, which a schema
  cannot say: a login is made as a fresh account, a sign-up's
  `confirmPassword` equals its `password` and its email is made unique, and
  a PATCH's `current_password` is the account's own.
- The second factor's positive cases get the state they need: a pending
  enrolment and its current code for the confirmation, TOTP on and one of
  its recovery codes for removal and renewal, and a login's challenge with
  a recovery code for the login's second step.
- Every 2xx answer is tallied per operation; the tally is written at exit to
  `NEPTUN_SUCCESS_TALLY` for `check_tally.py`.
"""

import atexit
import base64
import hashlib
import hmac
import json
import os
import struct
import threading
import time
import uuid

import requests
import schemathesis
from hypothesis import strategies as st

BASE_URL = os.environ["NEPTUN_BASE_URL"]
TALLY_PATH = os.environ["NEPTUN_SUCCESS_TALLY"]
PASSWORD = "schemathesis passphrase"
COOKIE = "neptun-session"

_lock = threading.Lock()
_tally: dict[str, int] = {}


def fresh_account() -> dict:
    """Signs up a new account; its email, id and session token."""
    email = f"st-{uuid.uuid4().hex}@example.com"
    response = requests.post(
        f"{BASE_URL}/api/auth/sign-up",
        json={"email": email, "password": PASSWORD},
        timeout=30,
    )
    response.raise_for_status()
    # The cookie is `Secure`, so a jar would not keep it over plain http.
    set_cookie = response.headers["set-cookie"]
    token = set_cookie.split(";", 1)[0].split("=", 1)[1]
    user_id = response.json()["user"]["id"]
    sessions = requests.get(
        f"{BASE_URL}/api/users/{user_id}/sessions",
        cookies={COOKIE: token},
        timeout=30,
    )
    sessions.raise_for_status()
    session_id = sessions.json()["sessions"][0]["id"]
    return {"email": email, "id": user_id, "token": token, "session_id": session_id}


def totp_code(secret: str) -> str:
    """RFC 6238 (HMAC-SHA-1, 6 digits, 30 s) for the current step."""
    key = base64.b32decode(secret + "=" * (-len(secret) % 8))
    digest = hmac.new(key, struct.pack(">Q", int(time.time()) // 30), hashlib.sha1).digest()
    offset = digest[19] & 0x0F
    value = struct.unpack(">I", digest[offset:offset + 4])[0] & 0x7FFFFFFF
    return f"{value % 1_000_000:06d}"


def enrol(account: dict) -> str:
    """Starts a TOTP enrolment for the account; its secret."""
    response = requests.post(
        f"{BASE_URL}/api/users/{account['id']}/totp",
        cookies={COOKIE: account["token"]},
        timeout=30,
    )
    response.raise_for_status()
    return response.json()["secret"]


def enable_totp(account: dict) -> list:
    """Turns TOTP on for the account; its recovery codes."""
    secret = enrol(account)
    response = requests.post(
        f"{BASE_URL}/api/users/{account['id']}/totp/confirm",
        json={"code": totp_code(secret)},
        cookies={COOKIE: account["token"]},
        timeout=30,
    )
    response.raise_for_status()
    return response.json()["recovery_codes"]


TOTP_CONFIRM = ("POST", "/api/users/{user_id}/totp/confirm")
TOTP_WITH_CODE = {
    ("DELETE", "/api/users/{user_id}/totp"),
    ("POST", "/api/users/{user_id}/totp/recovery-codes"),
}


# Addresses for `format: email` that the document's pattern also accepts, so
# that positive cases are not lost to the pattern's filter (its lookaheads
# make generation from the pattern alone reject most candidates).
ATOM = st.text("abcdefghijklmnopqrstuvwxyz0123456789!#$%&'*+/=?^_`{|}~-", min_size=1, max_size=12)
LABEL = st.from_regex(r"\A[a-z0-9](?:[a-z0-9-]{0,10}[a-z0-9])?\Z")
schemathesis.openapi.format(
    "email",
    st.builds(
        lambda atoms, labels, top: ".".join(atoms) + "@" + ".".join(labels) + "." + top,
        st.lists(ATOM, min_size=1, max_size=3),
        st.lists(LABEL, min_size=1, max_size=3),
        st.sampled_from(["com", "org", "net", "example", "io", "ie", "uk"]),
    ),
)


def is_positive(case) -> bool:
    meta = case.meta
    return meta is not None and meta.generation.mode.is_positive


@schemathesis.auth(refresh_interval=None).apply_to(
    path_regex=r"^/api/(auth/(logout|check|session)|users/\{user_id\}(/(sessions(/\{session_id\})?|events|identities(/\{identity_id\})?|totp(/(confirm|recovery-codes))?))?)$"
)
class FreshAccount:
    def get(self, case, ctx):
        return fresh_account()

    def set(self, case, data, ctx):
        case.cookies = {**(case.cookies or {}), COOKIE: data["token"]}
        if not is_positive(case):
            return
        parameters = case.path_parameters or {}
        if "user_id" in parameters:
            parameters = {**parameters, "user_id": data["id"]}
        if "session_id" in parameters:
            parameters = {**parameters, "session_id": data["session_id"]}
        case.path_parameters = parameters
        if isinstance(case.body, dict) and "current_password" in case.body:
            case.body = {**case.body, "current_password": PASSWORD}
        operation = (case.method.upper(), case.operation.path)
        if operation == TOTP_CONFIRM and isinstance(case.body, dict):
            case.body = {**case.body, "code": totp_code(enrol(data))}
        elif operation in TOTP_WITH_CODE and isinstance(case.body, dict):
            case.body = {**case.body, "code": enable_totp(data)[0]}


@schemathesis.hook
def before_call(context, case, kwargs):
    if not (is_positive(case) and isinstance(case.body, dict)):
        return
    operation = (case.method.upper(), case.operation.path)
    if operation == ("POST", "/api/auth/login"):
        account = fresh_account()
        case.body = {**case.body, "email": account["email"], "password": PASSWORD}
    elif operation == ("POST", "/api/auth/login/second-factor"):
        account = fresh_account()
        codes = enable_totp(account)
        login = requests.post(
            f"{BASE_URL}/api/auth/login",
            json={"email": account["email"], "password": PASSWORD},
            timeout=30,
        )
        challenge = login.json()["data"]["challenge_id"]
        case.body = {"challenge_id": challenge, "recovery_code": codes[0]}
    elif operation == ("POST", "/api/auth/sign-up"):
        body = dict(case.body)
        if isinstance(body.get("email"), str):
            body["email"] = unique(body["email"])
        if "confirmPassword" in body:
            body["confirmPassword"] = body.get("password")
        case.body = body


def unique(email: str) -> str:
    """The generated address made unique, so that a sign-up is not a 409
    only because an earlier case drew the same address."""
    local, _, domain = email.rpartition("@")
    tag = uuid.uuid4().hex[:12]
    local = f"{tag}.{local}" if len(local) + len(tag) < 64 else tag
    candidate = f"{local}@{domain}"
    return candidate if len(candidate) <= 254 else f"{tag}@example.com"


@schemathesis.hook
def after_call(context, case, response):
    if 200 <= response.status_code < 300:
        label = f"{case.method.upper()} {case.operation.path}"
        with _lock:
            _tally[label] = _tally.get(label, 0) + 1


@atexit.register
def write_tally():
    with _lock, open(TALLY_PATH, "w", encoding="utf-8") as file:
        json.dump(_tally, file, indent=2, sort_keys=True)
