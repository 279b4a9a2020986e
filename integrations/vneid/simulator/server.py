"""A small but real OpenID Connect provider standing in for VNeID: discovery, authorize, token, userinfo, JWKS.

Standard-library HTTP server plus PyJWT and cryptography; no Django. Authorization-code flow only, PKCE S256
required, RS256 ID tokens, confidential client (client_secret_post or client_secret_basic). Tests run it
in-process through `start()`; `python -m integrations.vneid.simulator` runs it as a service.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import html
import json
import logging
import os
import re
import secrets
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from enum import StrEnum
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, unquote, urlencode, urlsplit

import jwt
from cryptography.hazmat.primitives.asymmetric import rsa

from integrations.vneid.simulator.citizens import DEMO_CITIZENS, DemoCitizen

logger = logging.getLogger("integrations.vneid.simulator")

DEFAULT_CLIENT_ID = "mot-cua-portal"
DEFAULT_CLIENT_SECRET = "simulator-secret"  # noqa: S105  # nosec B105  # the simulator's published development secret
# "*" in a registered redirect URI stands for a port number, and only for that.
DEFAULT_REDIRECT_URIS = (
    "http://127.0.0.1:*/accounts/oidc/vneid/login/callback/",
    "http://localhost:*/accounts/oidc/vneid/login/callback/",
)
CODE_LIFETIME = 60
ACCESS_TOKEN_LIFETIME = 300
ID_TOKEN_LIFETIME = 300
PENDING_LIFETIME = 600
MAX_BODY = 64 * 1024
WRONG_ISSUER = "https://wrong-issuer.invalid"


class Fault(StrEnum):
    """Misbehaviours a test can switch on with `server.faults.add(...)`."""

    WRONG_ISSUER = "wrong_issuer"  # the ID token's iss differs from the discovery issuer
    EXPIRED_ID_TOKEN = "expired_id_token"  # noqa: S105  # nosec B105  # a fault name: the ID token's exp is already past
    BAD_SIGNATURE = "bad_signature"  # the ID token is signed with a key that is not in the JWKS
    EXPIRED_ACCESS_TOKEN = "expired_access_token"  # noqa: S105  # nosec B105  # a fault name: userinfo rejects every token


@dataclass(frozen=True)
class Response:
    status: int
    body: bytes = b""
    content_type: str = "application/json"
    headers: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class AuthRequest:
    client_id: str
    redirect_uri: str
    state: str
    nonce: str
    scope: str
    code_challenge: str
    created_at: float


@dataclass
class AuthCode:
    request: AuthRequest
    citizen: DemoCitizen
    auth_time: float
    expires_at: float
    used: bool = False
    access_tokens: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class AccessToken:
    citizen: DemoCitizen
    expires_at: float
    scope: str


def _redirect_uri_regex(pattern: str) -> re.Pattern[str]:
    # Matching whole URIs with "*" limited to digits keeps a pattern from stretching to another host
    # (http://127.0.0.1:1@evil.example/...) or another path.
    return re.compile(re.escape(pattern).replace(r"\*", "[0-9]{1,5}"))


def _b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _s256(verifier: str) -> str:
    return _b64url(hashlib.sha256(verifier.encode("ascii")).digest())


def _thumbprint(jwk: dict[str, Any]) -> str:
    # RFC 7638: the SHA-256 of the required members in lexicographic order, without whitespace.
    canonical = json.dumps({k: jwk[k] for k in ("e", "kty", "n")}, separators=(",", ":"), sort_keys=True)
    return _b64url(hashlib.sha256(canonical.encode("ascii")).digest())


def _json(status: int, payload: dict[str, Any], headers: dict[str, str] | None = None) -> Response:
    body = json.dumps(payload, ensure_ascii=False).encode("utf-8")
    return Response(status, body, "application/json; charset=utf-8", {"Cache-Control": "no-store", **(headers or {})})


def _oauth_error(status: int, error: str, description: str, headers: dict[str, str] | None = None) -> Response:
    return _json(status, {"error": error, "error_description": description}, headers)


def _single_values(params: dict[str, list[str]]) -> dict[str, str] | None:
    """Return one value per parameter, or None when one is repeated (RFC 6749 §3.1 forbids it)."""
    if any(len(values) > 1 for values in params.values()):
        return None
    return {key: values[0] for key, values in params.items()}


def _with_query(uri: str, params: dict[str, str]) -> str:
    params = {k: v for k, v in params.items() if v}
    return f"{uri}{'&' if '?' in uri else '?'}{urlencode(params)}"


def _url_host(host: str) -> str:
    if host in ("", "0.0.0.0", "::"):  # noqa: S104  # nosec B104  # only mapping a wildcard bind to a usable address
        return "127.0.0.1"
    return f"[{host}]" if ":" in host else host


# --- HTML ---------------------------------------------------------------------------------------

STYLE = (
    "body{font-family:system-ui,'Segoe UI',Roboto,Arial,sans-serif;margin:0;background:#f3f5f8;color:#1b1f24}"
    "header{background:#a50e0e;color:#fff;padding:1rem 1.5rem}header h1{margin:0;font-size:1.35rem}"
    "header p{margin:.25rem 0 0;font-size:.9rem}main{max-width:46rem;margin:1.5rem auto;padding:0 1rem}"
    ".card{background:#fff;border:1px solid #d5dae1;border-radius:8px;padding:1rem 1.25rem;margin-bottom:1rem}"
    ".citizen{display:flex;justify-content:space-between;align-items:center;gap:1rem}"
    ".citizen p{margin:.2rem 0}.muted{color:#5a6472;font-size:.9rem}"
    "button{font:inherit;padding:.5rem 1rem;border-radius:6px;border:1px solid #a50e0e;cursor:pointer}"
    ".primary{background:#a50e0e;color:#fff}.secondary{background:#fff;color:#a50e0e}"
    "input{font:inherit;padding:.45rem;border:1px solid #8a94a3;border-radius:6px;width:12em}"
    ".error{background:#fdecea;border-color:#e0a6a0;color:#8a1c12}.badge{font-size:.8rem;padding:.1rem .4rem;"
    "border-radius:4px;background:#e8f0fe;color:#1a3f8f}.badge.low{background:#fff4e5;color:#8a4b00}"
    "footer{max-width:46rem;margin:0 auto 2rem;padding:0 1rem;color:#5a6472;font-size:.85rem}"
)
STYLE_HASH = "sha256-" + base64.b64encode(hashlib.sha256(STYLE.encode("utf-8")).digest()).decode("ascii")
PAGE_TITLE = "Đăng nhập bằng tài khoản định danh điện tử"


def _e(value: object) -> str:
    return html.escape(str(value), quote=True)


def _html_page(*, status: int, body: str, form_target: str = "") -> Response:
    """Return a complete page: no external assets, its one style block allowed by hash, nothing else."""
    document = (
        '<!DOCTYPE html><html lang="vi"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>{_e(PAGE_TITLE)} — VNeID (mô phỏng)</title><style>{STYLE}</style></head><body>"
        f"<header><h1>{_e(PAGE_TITLE)}</h1>"
        "<p>VNeID — trình mô phỏng dùng cho phát triển và kiểm thử</p></header>"
        f"<main>{body}</main>"
        "<footer>Đây là trình mô phỏng, không phải hệ thống định danh điện tử thật của Bộ Công an. "
        "Mọi công dân trong danh sách đều là dữ liệu giả lập.</footer></body></html>"
    )
    # The form's POST ends in a redirect to the portal, which Chromium checks against form-action too.
    form_action = " ".join(["'self'", form_target]).strip()
    csp = (
        f"default-src 'none'; style-src '{STYLE_HASH}'; form-action {form_action}; "
        "frame-ancestors 'none'; base-uri 'none'"
    )
    headers = {
        "Content-Security-Policy": csp,
        "X-Content-Type-Options": "nosniff",
        "Referrer-Policy": "no-referrer",
        "X-Frame-Options": "DENY",
        "Cache-Control": "no-store",
    }
    return Response(status, document.encode("utf-8"), "text/html; charset=utf-8", headers)


def _error_page(status: int, message: str) -> Response:
    return _html_page(status=status, body=f'<div class="card error" role="alert"><p>{_e(message)}</p></div>')


# --- The provider -------------------------------------------------------------------------------


class VneidSimulator(ThreadingHTTPServer):
    """The simulator: an HTTP server holding its signing key, its registered client and its short-lived grants.

    Test hooks: `auto_approve` (a demo personal ID number; /authorize then approves at once for that citizen),
    `faults` (a set of `Fault` values), `claim_overrides` (claims to replace, or to remove with None, in userinfo
    and in the ID token when it carries them) and `clock` (a callable returning the time, to age grants).
    """

    daemon_threads = True
    allow_reuse_address = True

    def __init__(
        self,
        address: tuple[str, int],
        *,
        citizens: Iterable[DemoCitizen],
        client_id: str,
        client_secret: str,
        redirect_uris: Iterable[str],
        issuer: str | None = None,
        quiet: bool = True,
    ) -> None:
        super().__init__(address, _Handler)
        host, port = self.server_address[:2]
        self.url = (issuer or f"http://{_url_host(str(host))}:{port}").rstrip("/")
        self.issuer = self.url
        self.citizens = tuple(citizens)
        self.client_id = client_id
        self.client_secret = client_secret
        self.redirect_uris = tuple(redirect_uris)
        self._redirect_regexes = tuple(_redirect_uri_regex(p) for p in self.redirect_uris)
        self.auto_approve: str | None = None
        self.faults: set[str] = set()
        self.claim_overrides: dict[str, Any] = {}
        self.clock: Callable[[], float] = time.time
        self.last_client_auth = ""  # how the last accepted token request authenticated, for tests
        self.quiet = quiet
        self._lock = threading.Lock()
        self._pending: dict[str, AuthRequest] = {}
        self._codes: dict[str, AuthCode] = {}
        self._tokens: dict[str, AccessToken] = {}
        self._key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        self._rogue_key: rsa.RSAPrivateKey | None = None  # made on first use of Fault.BAD_SIGNATURE
        self._jwk = jwt.algorithms.RSAAlgorithm.to_jwk(self._key.public_key(), as_dict=True)
        self._jwk.update({"kid": _thumbprint(self._jwk), "use": "sig", "alg": "RS256"})
        self._thread: threading.Thread | None = None

    # --- lifecycle ---

    def start_background(self) -> VneidSimulator:
        """Serve in a daemon thread and return self."""
        self._thread = threading.Thread(
            target=self.serve_forever, kwargs={"poll_interval": 0.05}, name="vneid-simulator", daemon=True
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop serving and release the port."""
        if self._thread is not None:
            self.shutdown()
            self._thread.join()
            self._thread = None
        self.server_close()

    # --- look-ups ---

    def citizen_find(self, national_id: str) -> DemoCitizen | None:
        """Return the demo citizen with this personal ID number, if any."""
        wanted = (national_id or "").strip()
        return next((c for c in self.citizens if c.national_id == wanted), None)

    def redirect_uri_allowed(self, uri: str) -> bool:
        return any(regex.fullmatch(uri) for regex in self._redirect_regexes)

    def _purge(self, now: float) -> None:
        # Called with the lock held; the maps stay small because every grant is short-lived.
        self._pending = {k: v for k, v in self._pending.items() if v.created_at + PENDING_LIFETIME > now}
        self._codes = {k: v for k, v in self._codes.items() if v.expires_at + CODE_LIFETIME > now}
        self._tokens = {k: v for k, v in self._tokens.items() if v.expires_at > now}

    # --- documents ---

    def discovery(self) -> dict[str, Any]:
        """Return the OpenID Provider metadata."""
        return {
            "issuer": self.issuer,
            "authorization_endpoint": f"{self.url}/authorize",
            "token_endpoint": f"{self.url}/token",
            "userinfo_endpoint": f"{self.url}/userinfo",
            "jwks_uri": f"{self.url}/jwks",
            "response_types_supported": ["code"],
            "response_modes_supported": ["query"],
            "grant_types_supported": ["authorization_code"],
            "subject_types_supported": ["public"],
            "id_token_signing_alg_values_supported": ["RS256"],
            "scopes_supported": ["openid", "profile"],
            "token_endpoint_auth_methods_supported": ["client_secret_post", "client_secret_basic"],
            "code_challenge_methods_supported": ["S256"],
            "acr_values_supported": ["1", "2"],
            "claims_supported": [
                "sub",
                "iss",
                "aud",
                "exp",
                "iat",
                "auth_time",
                "nonce",
                "acr",
                "name",
                "given_name",
                "family_name",
                "birthdate",
                "gender",
                "so_dinh_danh",
                "account_type",
                "ma_so_thue",
                "ten_to_chuc",
            ],
            "authorization_response_iss_parameter_supported": True,
        }

    def jwks(self) -> dict[str, Any]:
        return {"keys": [dict(self._jwk)]}

    def _apply_overrides(self, claims: dict[str, Any], *, only_present: bool) -> dict[str, Any]:
        for name, value in self.claim_overrides.items():
            if only_present and name not in claims:
                continue
            if value is None:
                claims.pop(name, None)
            else:
                claims[name] = value
        return claims

    # --- /authorize ---

    def authorize_page(self, query: dict[str, list[str]]) -> Response:
        """Validate an authorization request; show the citizen chooser, or approve at once in auto-approve mode."""
        params = _single_values(query)
        if params is None:
            return _error_page(400, "Yêu cầu không hợp lệ: một tham số xuất hiện nhiều lần.")
        # Errors about the client or its redirect URI are shown here, never sent to an unverified address.
        if params.get("client_id") != self.client_id:
            return _error_page(400, "Ứng dụng yêu cầu đăng nhập (client_id) chưa được đăng ký.")
        redirect_uri = params.get("redirect_uri", "")
        if not self.redirect_uri_allowed(redirect_uri):
            return _error_page(400, "Địa chỉ chuyển hướng (redirect_uri) chưa được đăng ký cho ứng dụng này.")
        state = params.get("state", "")

        def refuse(error: str, description: str) -> Response:
            location = _with_query(
                redirect_uri,
                {"error": error, "error_description": description, "state": state, "iss": self.issuer},
            )
            return Response(HTTPStatus.FOUND, headers={"Location": location, "Cache-Control": "no-store"})

        if params.get("response_type") != "code":
            return refuse("unsupported_response_type", "only response_type=code is supported")
        scope = params.get("scope", "")
        if "openid" not in scope.split():
            return refuse("invalid_scope", "the scope must include openid")
        challenge = params.get("code_challenge", "")
        if not challenge:
            return refuse("invalid_request", "PKCE is required: send code_challenge")
        if params.get("code_challenge_method") != "S256":
            return refuse("invalid_request", "code_challenge_method must be S256")
        if not re.fullmatch(r"[A-Za-z0-9_-]{43}", challenge):
            return refuse("invalid_request", "code_challenge is not a base64url SHA-256 digest")
        request = AuthRequest(
            client_id=self.client_id,
            redirect_uri=redirect_uri,
            state=state,
            nonce=params.get("nonce", ""),
            scope=scope,
            code_challenge=challenge,
            created_at=self.clock(),
        )
        if self.auto_approve:
            citizen = self.citizen_find(self.auto_approve)
            if citizen is None:
                return refuse("access_denied", "auto_approve names no demo citizen")
            return self._approve(request, citizen)
        pending_id = secrets.token_urlsafe(24)
        with self._lock:
            self._purge(self.clock())
            self._pending[pending_id] = request
        return self._chooser(pending_id, request)

    def authorize_submit(self, form: dict[str, list[str]]) -> Response:
        """Handle the chooser: approve for the chosen demo citizen, or send access_denied back on cancel."""
        params = _single_values(form) or {}
        pending_id = params.get("request_id", "")
        with self._lock:
            self._purge(self.clock())
            request = self._pending.get(pending_id)
        if request is None:
            return _error_page(
                400, "Yêu cầu đăng nhập đã hết hạn hoặc không hợp lệ. Hãy quay lại cổng dịch vụ công và thử lại."
            )
        if params.get("action") == "cancel":
            with self._lock:
                self._pending.pop(pending_id, None)
            location = _with_query(
                request.redirect_uri,
                {"error": "access_denied", "error_description": "the citizen cancelled", "state": request.state},
            )
            return Response(HTTPStatus.FOUND, headers={"Location": location, "Cache-Control": "no-store"})
        citizen = self.citizen_find(params.get("national_id", ""))
        if citizen is None:
            return self._chooser(
                pending_id,
                request,
                error="Không có công dân demo nào mang số định danh cá nhân này.",
                status=HTTPStatus.BAD_REQUEST,
            )
        with self._lock:
            if self._pending.pop(pending_id, None) is None:
                return _error_page(400, "Yêu cầu đăng nhập này đã được xử lý.")
        return self._approve(request, citizen)

    def _approve(self, request: AuthRequest, citizen: DemoCitizen) -> Response:
        code = secrets.token_urlsafe(32)
        now = self.clock()
        with self._lock:
            self._purge(now)
            self._codes[code] = AuthCode(request, citizen, auth_time=now, expires_at=now + CODE_LIFETIME)
        location = _with_query(request.redirect_uri, {"code": code, "state": request.state, "iss": self.issuer})
        return Response(HTTPStatus.FOUND, headers={"Location": location, "Cache-Control": "no-store"})

    def _chooser(self, pending_id: str, request: AuthRequest, *, error: str = "", status: int = 200) -> Response:
        hidden = f'<input type="hidden" name="request_id" value="{_e(pending_id)}">'
        parts = []
        if error:
            parts.append(f'<div class="card error" role="alert"><p>{_e(error)}</p></div>')
        parts.append(
            '<div class="card"><p>Ứng dụng <strong>'
            f"{_e(request.client_id)}</strong> yêu cầu xác thực danh tính của bạn qua tài khoản định danh điện tử.</p>"
            '<p class="muted">Chọn một công dân demo để đăng nhập.</p></div>'
        )
        for citizen in self.citizens:
            level_class = "badge" if citizen.acr == "2" else "badge low"
            if citizen.is_organisation:
                parts.append(
                    '<div class="card organisation"><div>'
                    f"<p><strong>{_e(citizen.organisation)}</strong> "
                    '<span class="badge">Tài khoản tổ chức</span></p>'
                    f'<p class="muted">Mã số thuế: {_e(citizen.tax_code)} · '
                    f"Người đại diện theo pháp luật: {_e(citizen.name)} · "
                    f"Số định danh cá nhân: {_e(citizen.national_id)}</p></div>"
                    f'<form method="post" action="/authorize">{hidden}'
                    f'<input type="hidden" name="national_id" value="{_e(citizen.national_id)}">'
                    '<button type="submit" class="primary">Đăng nhập với tài khoản tổ chức này</button></form></div>'
                )
                continue
            parts.append(
                '<div class="card citizen"><div>'
                f"<p><strong>{_e(citizen.name)}</strong> "
                f'<span class="{level_class}">Mức độ {_e(citizen.acr)}</span></p>'
                f'<p class="muted">Số định danh cá nhân: {_e(citizen.national_id)} · '
                f"Ngày sinh: {_e(_vn_date(citizen.birthdate))}</p></div>"
                f'<form method="post" action="/authorize">{hidden}'
                f'<input type="hidden" name="national_id" value="{_e(citizen.national_id)}">'
                f'<button type="submit" class="primary">Đăng nhập với tài khoản này</button></form></div>'
            )
        parts.append(
            f'<div class="card"><form method="post" action="/authorize">{hidden}'
            '<p><label for="national_id">Hoặc nhập số định danh cá nhân (12 chữ số) của một công dân demo</label></p>'
            '<p><input id="national_id" name="national_id" inputmode="numeric" pattern="[0-9]{12}" maxlength="12" '
            'autocomplete="off" required> <button type="submit" class="primary">Đăng nhập</button></p></form>'
            f'<form method="post" action="/authorize">{hidden}'
            '<button type="submit" name="action" value="cancel" class="secondary">Hủy đăng nhập</button></form></div>'
        )
        target = "{0.scheme}://{0.netloc}".format(urlsplit(request.redirect_uri))
        return _html_page(status=status, body="".join(parts), form_target=target)

    # --- /token ---

    def token(self, form: dict[str, list[str]], authorization: str) -> Response:
        """Exchange an authorization code for an access token and an ID token."""
        params = _single_values(form)
        if params is None:
            return _oauth_error(400, "invalid_request", "a parameter is repeated")
        basic = authorization.startswith("Basic ")
        if basic:
            if "client_secret" in params:
                return _oauth_error(400, "invalid_request", "use one client authentication method")
            try:
                decoded = base64.b64decode(authorization[6:].strip(), validate=True).decode("utf-8")
            except (binascii.Error, UnicodeDecodeError):
                return _oauth_error(401, "invalid_client", "malformed Basic credentials")
            raw_id, _sep, raw_secret = decoded.partition(":")
            # RFC 6749 §2.3.1: both parts are form-encoded before they are joined.
            client_id, client_secret = unquote(raw_id.replace("+", " ")), unquote(raw_secret.replace("+", " "))
            if params.get("client_id", client_id) != client_id:
                return _oauth_error(400, "invalid_request", "client_id differs from the authenticated client")
        else:
            client_id, client_secret = params.get("client_id", ""), params.get("client_secret", "")
        if client_id != self.client_id or not hmac.compare_digest(
            client_secret.encode("utf-8"), self.client_secret.encode("utf-8")
        ):
            challenge = {"WWW-Authenticate": 'Basic realm="vneid-simulator"'} if basic else {}
            return _oauth_error(401, "invalid_client", "client authentication failed", challenge)
        self.last_client_auth = "client_secret_basic" if basic else "client_secret_post"
        if params.get("grant_type") != "authorization_code":
            return _oauth_error(400, "unsupported_grant_type", "only authorization_code is supported")

        now = self.clock()
        with self._lock:
            code = self._codes.get(params.get("code", ""))
            if code is None:
                return _oauth_error(400, "invalid_grant", "unknown authorization code")
            if code.used:
                # A replayed code revokes what the first exchange issued (RFC 6749 §4.1.2).
                for token in code.access_tokens:
                    self._tokens.pop(token, None)
                return _oauth_error(400, "invalid_grant", "authorization code already used")
            code.used = True  # a failed exchange burns the code as well
        if now > code.expires_at:
            return _oauth_error(400, "invalid_grant", "authorization code expired")
        if code.request.client_id != client_id:
            return _oauth_error(400, "invalid_grant", "code was issued to another client")
        if params.get("redirect_uri") != code.request.redirect_uri:
            return _oauth_error(400, "invalid_grant", "redirect_uri does not match the authorization request")
        verifier = params.get("code_verifier", "")
        if not re.fullmatch(r"[A-Za-z0-9._~-]{43,128}", verifier):
            return _oauth_error(400, "invalid_grant", "code_verifier is missing or malformed")
        if not hmac.compare_digest(_s256(verifier), code.request.code_challenge):
            return _oauth_error(400, "invalid_grant", "PKCE verification failed")

        access_token = secrets.token_urlsafe(32)
        with self._lock:
            self._purge(now)
            self._tokens[access_token] = AccessToken(code.citizen, now + ACCESS_TOKEN_LIFETIME, code.request.scope)
            code.access_tokens.append(access_token)
        return _json(
            200,
            {
                "access_token": access_token,
                "token_type": "Bearer",  # nosec B105  # OAuth token type name, not a secret
                "expires_in": ACCESS_TOKEN_LIFETIME,
                "scope": code.request.scope,
                "id_token": self._id_token(code, now),
            },
            {"Pragma": "no-cache"},
        )

    def _id_token(self, code: AuthCode, now: float) -> str:
        issued = int(now)
        claims: dict[str, Any] = {
            "iss": WRONG_ISSUER if Fault.WRONG_ISSUER in self.faults else self.issuer,
            "sub": code.citizen.sub,
            "aud": code.request.client_id,
            "iat": issued,
            "exp": issued - 60 if Fault.EXPIRED_ID_TOKEN in self.faults else issued + ID_TOKEN_LIFETIME,
            "auth_time": int(code.auth_time),
            "acr": code.citizen.acr,
            "jti": secrets.token_urlsafe(16),
        }
        if code.request.nonce:
            claims["nonce"] = code.request.nonce
        claims = self._apply_overrides(claims, only_present=True)
        key = self._key
        if Fault.BAD_SIGNATURE in self.faults:
            with self._lock:
                if self._rogue_key is None:
                    self._rogue_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
            key = self._rogue_key
        return jwt.encode(claims, key, algorithm="RS256", headers={"kid": self._jwk["kid"]})

    # --- /userinfo ---

    def userinfo(self, authorization: str) -> Response:
        """Return the citizen's claims for a valid Bearer access token."""
        if not authorization.startswith("Bearer "):
            return _json(401, {"error": "invalid_request"}, {"WWW-Authenticate": 'Bearer realm="vneid-simulator"'})
        now = self.clock()
        with self._lock:
            token = self._tokens.get(authorization[7:].strip())
        if token is None or now > token.expires_at or Fault.EXPIRED_ACCESS_TOKEN in self.faults:
            return _json(
                401,
                {"error": "invalid_token"},
                {"WWW-Authenticate": 'Bearer realm="vneid-simulator", error="invalid_token"'},
            )
        return _json(200, self._apply_overrides(token.citizen.userinfo(), only_present=False))


def _vn_date(iso: str) -> str:
    year, month, day = iso.split("-")
    return f"{day}/{month}/{year}"


class _Handler(BaseHTTPRequestHandler):
    server: VneidSimulator
    server_version = "VNeID-simulator/1.0"

    def version_string(self) -> str:
        return self.server_version

    def do_GET(self) -> None:
        parts = urlsplit(self.path)
        sim = self.server
        routes: dict[str, Callable[[], Response]] = {
            "/.well-known/openid-configuration": lambda: _json(200, sim.discovery()),
            "/authorize": lambda: sim.authorize_page(parse_qs(parts.query, keep_blank_values=True)),
            "/userinfo": lambda: sim.userinfo(self.headers.get("Authorization", "")),
            "/jwks": lambda: _json(200, sim.jwks()),
            "/healthz": lambda: _json(200, {"status": "ok", "service": "vneid-simulator"}),
        }
        self._dispatch(routes.get(parts.path))

    def do_POST(self) -> None:
        parts = urlsplit(self.path)
        sim = self.server
        routes: dict[str, Callable[[], Response]] = {
            "/authorize": lambda: sim.authorize_submit(self._form()),
            "/token": lambda: sim.token(self._form(), self.headers.get("Authorization", "")),
            "/userinfo": lambda: sim.userinfo(self.headers.get("Authorization", "")),
        }
        self._dispatch(routes.get(parts.path))

    def _form(self) -> dict[str, list[str]]:
        length = int(self.headers.get("Content-Length") or 0)
        if length > MAX_BODY:
            raise _BadRequestError("request body too large")
        content_type = (self.headers.get("Content-Type") or "").split(";")[0].strip().lower()
        if length and content_type != "application/x-www-form-urlencoded":
            raise _BadRequestError("expected application/x-www-form-urlencoded")
        try:
            body = self.rfile.read(length).decode("utf-8")
        except UnicodeDecodeError as exc:
            raise _BadRequestError("body is not UTF-8") from exc
        return parse_qs(body, keep_blank_values=True)

    def _dispatch(self, route: Callable[[], Response] | None) -> None:
        if route is None:
            response = _json(404, {"error": "not_found"})
        else:
            try:
                response = route()
            except _BadRequestError as exc:
                response = _oauth_error(400, "invalid_request", str(exc))
            except Exception:  # the simulator answers 500 rather than dropping the connection
                logger.exception("VNeID simulator failed on %s", urlsplit(self.path).path)
                response = _json(500, {"error": "server_error"})
        self.send_response(response.status)
        self.send_header("Content-Type", response.content_type)
        self.send_header("Content-Length", str(len(response.body)))
        for name, value in response.headers.items():
            self.send_header(name, value)
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(response.body)

    def log_request(self, code: int | str = "-", size: int | str = "-") -> None:
        # Query strings carry codes and state: log the method and the path only.
        if not self.server.quiet:
            logger.info("%s %s %s", self.command, urlsplit(self.path).path, code)

    def log_error(self, format: str, *args: Any) -> None:
        if not self.server.quiet:
            logger.warning("VNeID simulator: " + format, *args)


class _BadRequestError(Exception):
    pass


def create(
    port: int = 0,
    host: str = "127.0.0.1",
    *,
    citizens: Iterable[DemoCitizen] = DEMO_CITIZENS,
    client_id: str | None = None,
    client_secret: str | None = None,
    redirect_uris: Iterable[str] | None = None,
    issuer: str | None = None,
    quiet: bool = True,
) -> VneidSimulator:
    """Bind a simulator (not yet serving); unset options come from VNEID_SIM_* environment variables."""
    if redirect_uris is None:
        configured = os.environ.get("VNEID_SIM_REDIRECT_URIS", "")
        redirect_uris = [u.strip() for u in configured.split(",") if u.strip()] or list(DEFAULT_REDIRECT_URIS)
    return VneidSimulator(
        (host, port),
        citizens=citizens,
        client_id=client_id or os.environ.get("VNEID_SIM_CLIENT_ID", DEFAULT_CLIENT_ID),
        client_secret=client_secret or os.environ.get("VNEID_SIM_CLIENT_SECRET", DEFAULT_CLIENT_SECRET),
        redirect_uris=redirect_uris,
        issuer=issuer,
        quiet=quiet,
    )


def start(port: int = 0, host: str = "127.0.0.1", **options: Any) -> VneidSimulator:
    """Start a simulator in a background thread; the caller must call `.stop()`."""
    return create(port, host, **options).start_background()
