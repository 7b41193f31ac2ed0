"""A minimal LTI 1.3 platform (an LMS) for the tests: its own RSA keys, id_tokens signed with
PyJWT, and an HTTP server (werkzeug, in a thread) with the OAuth2 token endpoint and the AGS
score endpoint, so gradelab's passback goes over real HTTP."""
from __future__ import annotations

import json
import threading
import time
import uuid
from typing import Any

import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from werkzeug.serving import make_server
from werkzeug.wrappers import Request, Response

CLAIM = "https://purl.imsglobal.org/spec/lti/claim/"
AGS = "https://purl.imsglobal.org/spec/lti-ags/claim/endpoint"
SCOPES = ["https://purl.imsglobal.org/spec/lti-ags/scope/lineitem",
          "https://purl.imsglobal.org/spec/lti-ags/scope/score"]


class Platform:
    """One LMS: issuer, client id, deployment, keys; ``scores`` collects AGS score posts."""

    def __init__(self, issuer: str = "https://lms.example.edu", client_id: str = "gradelab-1",
                 deployment_id: str = "dep-1") -> None:
        self.issuer, self.client_id, self.deployment_id = issuer, client_id, deployment_id
        self.key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        self.kid = "platform-key-1"
        self.scores: list[dict[str, Any]] = []
        self.token_requests: list[dict[str, str]] = []
        self.fail_scores = False
        self._server = None
        self.base = ""

    # --- keys and tokens -------------------------------------------------------------------
    def jwks(self) -> dict[str, Any]:
        jwk = json.loads(jwt.algorithms.RSAAlgorithm.to_jwk(self.key.public_key()))
        jwk.update({"kid": self.kid, "alg": "RS256", "use": "sig"})
        return {"keys": [jwk]}

    def claims(self, nonce: str, *, sub: str = "lms-user-42", roles: list[str] | None = None,
               assignment: str | None = "mlp", **extra: Any) -> dict[str, Any]:
        now = int(time.time())
        data: dict[str, Any] = {
            "iss": self.issuer, "aud": self.client_id, "sub": sub, "nonce": nonce,
            "iat": now, "exp": now + 300, "name": "Ada Lovelace", "email": "ada@example.edu",
            CLAIM + "message_type": "LtiResourceLinkRequest", CLAIM + "version": "1.3.0",
            CLAIM + "deployment_id": self.deployment_id,
            CLAIM + "target_link_uri": "http://localhost/lti/launch",
            CLAIM + "resource_link": {"id": "link-1", "title": "MLP backprop"},
            CLAIM + "roles": roles if roles is not None else [
                "http://purl.imsglobal.org/vocab/lis/v2/membership#Learner"],
            CLAIM + "context": {"id": "course-413", "title": "CSC413"},
        }
        if assignment:
            data[CLAIM + "custom"] = {"assignment": assignment}
        if self.base:
            data[AGS] = {"scope": SCOPES, "lineitems": f"{self.base}/lineitems",
                         "lineitem": f"{self.base}/lineitems/7/lineitem"}
        data.update(extra)
        return data

    def id_token(self, claims: dict[str, Any]) -> str:
        pem = self.key.private_bytes(serialization.Encoding.PEM,
                                     serialization.PrivateFormat.PKCS8,
                                     serialization.NoEncryption())
        return jwt.encode(claims, pem, algorithm="RS256", headers={"kid": self.kid})

    def registration(self) -> dict[str, Any]:
        """Fields of gradelab's ``LtiRegistration`` for this platform."""
        base = self.base or "http://lms.invalid"
        return {"name": "Test LMS", "issuer": self.issuer, "client_id": self.client_id,
                "deployment_ids": [self.deployment_id], "auth_login_url": f"{base}/auth",
                "auth_token_url": f"{base}/token", "key_set": self.jwks()}

    # --- HTTP services (token, scores) -----------------------------------------------------
    def _app(self, environ, start_response):
        request = Request(environ)
        if request.path == "/token" and request.method == "POST":
            self.token_requests.append(dict(request.form))
            body = {"access_token": f"tok-{uuid.uuid4().hex[:8]}", "token_type": "Bearer",
                    "expires_in": 3600, "scope": request.form.get("scope", "")}
            return Response(json.dumps(body), mimetype="application/json")(environ, start_response)
        if request.path.endswith("/scores") and request.method == "POST":
            if self.fail_scores or not request.headers.get("Authorization", "").startswith("Bearer "):
                return Response("platform unavailable", status=503)(environ, start_response)
            self.scores.append(json.loads(request.get_data(as_text=True)))
            return Response("{}", mimetype="application/json")(environ, start_response)
        return Response("not found", status=404)(environ, start_response)

    def serve(self) -> None:
        self._server = make_server("127.0.0.1", 0, self._app, threaded=True)
        self.base = f"http://127.0.0.1:{self._server.server_port}"
        threading.Thread(target=self._server.serve_forever, daemon=True).start()

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
