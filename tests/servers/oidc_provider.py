"""A real OpenID Provider on 127.0.0.1: npm's certified `oidc-provider` run by Node (tests/servers/oidc/).

    oidc_provider.issuer                  # http://127.0.0.1:<port>; discovery at issuer + /.well-known/...
    client = oidc_provider.register_client(["http://127.0.0.1:8000/oidc/callback/"])   # OidcClient
    client.client_id, client.client_secret, client.redirect_uris
    oidc_provider.set_user("alice", password="pw", groups=["ml-leads"], amr=["pwd", "mfa"], email="a@x.test")  # pragma: allowlist secret
    oidc_provider.update_user("alice", groups=[])     # between two sign-ins
    oidc_provider.end_sessions("alice")                # the next sign-in shows the login form again
    callback = oidc_provider.sign_in(authorize_url, "alice", "pw")   # with plain requests: the redirect URL
                                                                      # back to the client (code, state, iss)

Users sign in on the provider's own login form (#username, #password, #sign-in), which a browser fills
just as `sign_in` does; consent is granted automatically. PKCE (S256) is required of every client. ID
tokens are RS256; scope claims (email, profile, groups) are in the ID token and at the userinfo
endpoint; `amr` and `acr` come from the user's entry at the time of the login.
"""

from __future__ import annotations

import base64
import hashlib
import json
import secrets
import shutil
from dataclasses import dataclass
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import parse_qs, urlencode, urljoin, urlsplit

import jwt
import requests

from tests.servers.cache import oidc_provider_dir
from tests.servers.process import ServerProcess, isolated_env, port_from_log


@dataclass(frozen=True)
class OidcClient:
    client_id: str
    client_secret: str | None  # None for a public client (token_endpoint_auth_method "none")
    redirect_uris: tuple[str, ...]
    metadata: dict


class _FormParser(HTMLParser):
    def __init__(self):
        super().__init__()
        self.action = None
        self.fields: dict[str, str] = {}

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "form" and self.action is None:
            self.action = attrs.get("action")
        elif tag == "input" and attrs.get("name"):
            self.fields[attrs["name"]] = attrs.get("value") or ""


class SignInError(AssertionError):
    pass


class OidcProvider:
    def __init__(self, workdir: Path, log_path: Path):
        self.workdir = Path(workdir)
        self.log_path = Path(log_path)
        self.admin_token = secrets.token_urlsafe(24)
        self.server: ServerProcess | None = None
        self.issuer: str | None = None
        self.http = requests.Session()
        self.http.trust_env = False

    @property
    def port(self) -> int:
        return self.server.port

    @property
    def discovery_url(self) -> str:
        return f"{self.issuer}/.well-known/openid-configuration"

    def discovery(self) -> dict:
        return self.http.get(self.discovery_url, timeout=10).json()

    def start(self) -> OidcProvider:
        directory = oidc_provider_dir()
        self.workdir.mkdir(parents=True, exist_ok=True)
        config = self.workdir / "config.json"
        config.write_text(json.dumps({"admin_token": self.admin_token, "users": {}, "clients": []}))
        config.chmod(0o600)
        argv = [shutil.which("node"), str(directory / "provider.mjs")]
        env = isolated_env({"OIDC_PROVIDER_CONFIG": str(config), "NODE_ENV": "test", "DEBUG": ""},
                           home=self.workdir)
        self.server = ServerProcess("OpenID Provider (node oidc-provider)", argv, log_path=self.log_path, env=env,
                                    cwd=directory)
        self.server.start(ready=port_from_log(r'\{"issuer":"http://127\.0\.0\.1:(\d+)"\}'), timeout=30)
        self.issuer = f"http://127.0.0.1:{self.port}"
        return self

    def stop(self) -> None:
        if self.server:
            self.server.stop()

    def server_logs(self) -> list[tuple[str, Path]]:
        return [("OpenID Provider", self.log_path)]

    # -- administration (the provider's /__admin endpoints and its standard registration endpoint)

    def _admin(self, method: str, path: str, body: dict | None = None) -> requests.Response:
        response = self.http.request(method, f"{self.issuer}/__admin/{path}", json=body, timeout=10,
                                     headers={"Authorization": f"Bearer {self.admin_token}"})
        response.raise_for_status()
        return response

    def set_user(self, sub: str, *, password: str, groups: list[str] | None = None, amr: list[str] | None = None,
                 acr: str | None = None, **claims) -> dict:
        """Create or replace a user; `claims` are OIDC claims (email, name, preferred_username, ...)."""
        claims.setdefault("email", f"{sub}@example.test")
        claims.setdefault("email_verified", True)
        claims.setdefault("preferred_username", sub)
        if groups is not None:
            claims["groups"] = list(groups)
        entry = {"password": password, "amr": amr if amr is not None else ["pwd"], "acr": acr, "claims": claims}
        return self._admin("PUT", f"users/{sub}", entry).json()

    def update_user(self, sub: str, *, groups: list[str] | None = None, amr: list[str] | None = None,
                    acr: str | None = None, password: str | None = None, **claims) -> dict:
        """Change some of a user's attributes; the others stay. Claims and groups count from the next
        token; amr and acr from the next login (see end_sessions)."""
        entry: dict = {"claims": dict(claims)}
        if groups is not None:
            entry["claims"]["groups"] = list(groups)
        if amr is not None:
            entry["amr"] = amr
        if acr is not None:
            entry["acr"] = acr
        if password is not None:
            entry["password"] = password
        return self._admin("PATCH", f"users/{sub}", entry).json()

    def delete_user(self, sub: str) -> None:
        self._admin("DELETE", f"users/{sub}")

    def end_sessions(self, sub: str | None = None) -> int:
        """Forget the provider's sessions (of one user, or all): the next sign-in asks for the password."""
        return self._admin("POST", "sessions/end", {"sub": sub} if sub else {}).json()["ended"]

    def register_client(self, redirect_uris: list[str], *, public: bool = False,
                        post_logout_redirect_uris: list[str] | None = None, **metadata) -> OidcClient:
        """Register a client through the standard registration endpoint (RFC 7591)."""
        body = {
            "redirect_uris": list(redirect_uris),
            "grant_types": ["authorization_code", "refresh_token"],
            "response_types": ["code"],
            "token_endpoint_auth_method": "none" if public else "client_secret_basic",
            "id_token_signed_response_alg": "RS256",
            **({"post_logout_redirect_uris": post_logout_redirect_uris} if post_logout_redirect_uris else {}),
            **metadata,
        }
        response = self.http.post(f"{self.issuer}/reg", json=body, timeout=10,
                                  headers={"Authorization": f"Bearer {self.admin_token}"})
        if response.status_code != 201:
            raise RuntimeError(f"client registration refused: {response.status_code} {response.text}")
        registered = response.json()
        return OidcClient(client_id=registered["client_id"], client_secret=registered.get("client_secret"),
                          redirect_uris=tuple(registered["redirect_uris"]), metadata=registered)

    # -- signing in without a browser

    def sign_in(self, authorize_url: str, username: str, password: str, *,
                session: requests.Session | None = None) -> str:
        """Follow `authorize_url` (made by the client under test) through the login form with plain
        HTTP; the URL the provider finally redirects to outside itself (the client's callback, with
        `code` and `state`, or `error`). Pass a session to keep the provider's cookies between sign-ins."""
        http = session or requests.Session()
        http.trust_env = False
        url = authorize_url
        for _ in range(20):
            if not url.startswith(self.issuer + "/"):
                return url
            response = http.get(url, allow_redirects=False, timeout=10)
            if response.is_redirect:
                url = urljoin(url, response.headers["Location"])
                continue
            if response.status_code == 200 and "<form" in response.text:
                form = _FormParser()
                form.feed(response.text)
                form.fields.update(username=username, password=password)
                posted = http.post(urljoin(url, form.action), data=form.fields, allow_redirects=False, timeout=10)
                if not posted.is_redirect:
                    raise SignInError(f"the provider refused the sign-in ({posted.status_code}): "
                                      f"{_visible_text(posted.text)}")
                url = urljoin(url, posted.headers["Location"])
                continue
            raise SignInError(f"unexpected answer at {urlsplit(url).path}: {response.status_code} "
                              f"{_visible_text(response.text)}")
        raise SignInError("too many redirects")


def _visible_text(html: str) -> str:
    class Text(HTMLParser):
        def __init__(self):
            super().__init__()
            self.parts: list[str] = []

        def handle_data(self, data):
            if data.strip():
                self.parts.append(data.strip())

    parser = Text()
    parser.feed(html)
    return " ".join(parser.parts)[:500]


def pkce_pair() -> tuple[str, str]:
    verifier = secrets.token_urlsafe(48)
    challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()
    return verifier, challenge


class RelyingParty:
    """A reference client: what the portal's OIDC sign-in must do, written out with requests and PyJWT
    (PKCE, state, nonce, code exchange, signature, audience and issuer checks)."""

    def __init__(self, provider, client):
        self.provider, self.client = provider, client
        self.config = provider.discovery()
        self.jwks = jwt.PyJWKClient(self.config["jwks_uri"])

    def authorize_url(self, **extra) -> tuple[str, dict]:
        verifier, challenge = pkce_pair()
        state, nonce = secrets.token_urlsafe(16), secrets.token_urlsafe(16)
        params = {"client_id": self.client.client_id, "response_type": "code", "scope": "openid email profile groups",
                  "redirect_uri": self.client.redirect_uris[0], "state": state, "nonce": nonce,
                  "code_challenge": challenge, "code_challenge_method": "S256", **extra}
        return f"{self.config['authorization_endpoint']}?{urlencode(params)}", {
            "verifier": verifier, "state": state, "nonce": nonce}

    def code_from(self, callback_url: str, expected: dict) -> str:
        assert callback_url.startswith(self.client.redirect_uris[0])
        query = parse_qs(urlsplit(callback_url).query)
        assert query["state"] == [expected["state"]]
        assert query["iss"] == [self.provider.issuer]
        return query["code"][0]

    def exchange(self, code: str, verifier: str | None) -> requests.Response:
        data = {"grant_type": "authorization_code", "code": code, "redirect_uri": self.client.redirect_uris[0]}
        if verifier is not None:
            data["code_verifier"] = verifier
        return requests.post(self.config["token_endpoint"], data=data, timeout=10,
                             auth=(self.client.client_id, self.client.client_secret))

    def verify(self, id_token: str, nonce: str) -> dict:
        key = self.jwks.get_signing_key_from_jwt(id_token)
        claims = jwt.decode(id_token, key.key, algorithms=["RS256"], audience=self.client.client_id,
                            issuer=self.provider.issuer, options={"require": ["exp", "iat", "sub", "nonce"]})
        assert claims["nonce"] == nonce
        return claims

    def sign_in(self, username: str, password: str, **extra) -> tuple[dict, dict]:
        url, expected = self.authorize_url(**extra)
        code = self.code_from(self.provider.sign_in(url, username, password), expected)
        tokens = self.exchange(code, expected["verifier"])
        assert tokens.status_code == 200, tokens.text
        tokens = tokens.json()
        return self.verify(tokens["id_token"], expected["nonce"]), tokens
