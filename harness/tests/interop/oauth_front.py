"""An HTTPS front that plays Exchange Online's app-only access: an OAuth 2.0 token endpoint that
issues short-lived tokens with the client-credentials grant, and an EWS endpoint that requires
one of them, unexpired, and X-AnchorMailbox, and forwards what it accepts to an EWS endpoint.

- The token endpoint and the token check are oauthlib's (`BackendApplicationServer`, its
  client-credentials grant, RFC 6749 section 4.4, and its Bearer token validation, RFC 6750);
  this file supplies only the request validator (the one registered client, the one scope, the
  tokens issued and when each expires).
- POST /token: client authentication by client_id and client_secret in the body (RFC 6749
  section 2.3.1). Tokens announce `expires_in` seconds (--expires-in) and are refused after
  --valid-for seconds (the server's own clock; the same by default).
- POST /EWS/Exchange.asmx: without a valid token, 401 with `WWW-Authenticate: Bearer
  error="invalid_token"` (RFC 6750 section 3.1) and nothing forwarded. Without X-AnchorMailbox,
  or with one that is not the mailbox the ExchangeImpersonation header names (by address, or by
  a SID given with --sid), 400 and nothing forwarded: Exchange Online routes an impersonating
  request by that header
  (https://learn.microsoft.com/en-us/exchange/client-developer/exchange-web-services/impersonation-and-ews-in-exchange).
  Accepted requests go upstream unchanged with HTTP Basic as the upstream account, which may
  impersonate every mailbox, as the application may with full_access_as_app.

Options:
  --upstream URL               where accepted requests go
  --upstream-user ADDRESS      the upstream account
  --upstream-password-env VAR  the environment variable holding its password
  --client-id ID               the one registered client
  --client-secret-env VAR      the environment variable holding its secret
  --scope SCOPE                the one scope granted
  --expires-in SECONDS         the lifetime tokens announce
  --valid-for SECONDS          how long tokens are accepted (default: --expires-in)
  --sid SID=ADDRESS            a SID the impersonation header may name, and its mailbox
  --ca-out FILE                where the PEM of the CA that signed the front's certificate goes
  --events FILE                one JSON line per request (never a secret: tokens are numbered)
  --issued FILE                each token issued, one a line: for a test to look for in outputs

Prints "listening PORT" when ready and serves until killed or its standard input closes.
"""

import base64
import hmac
import json
import os
import re
import threading
import time
import urllib.parse

from oauthlib.oauth2 import BackendApplicationServer, RequestValidator

import front_base


# ------------------------------------------------------------------------------------------
# oauthlib's request validator: one client, one scope, the tokens issued


class RegisteredClient:
    def __init__(self, client_id):
        self.client_id = client_id


class Validator(RequestValidator):
    def __init__(self, client_id, client_secret, scope, valid_for, issued):
        self.issued = issued
        self.client_id = client_id
        self.client_secret = client_secret
        self.scope = scope
        self.valid_for = valid_for
        self.lock = threading.Lock()
        # access token -> (its number, when it stops being accepted)
        self.tokens = {}

    def authenticate_client(self, request, *args, **kwargs):
        ok = request.client_id == self.client_id and hmac.compare_digest(
            (request.client_secret or "").encode(), self.client_secret.encode()
        )
        if ok:
            request.client = RegisteredClient(self.client_id)
        return ok

    def validate_grant_type(self, client_id, grant_type, client, request, *args, **kwargs):
        return grant_type == "client_credentials"

    def get_default_scopes(self, client_id, request, *args, **kwargs):
        return [self.scope]

    def validate_scopes(self, client_id, scopes, client, request, *args, **kwargs):
        return list(scopes) == [self.scope]

    def save_bearer_token(self, token, request, *args, **kwargs):
        with self.lock:
            number = len(self.tokens) + 1
            self.tokens[token["access_token"]] = (number, time.monotonic() + self.valid_for)
            with open(self.issued, "a", encoding="utf-8") as f:
                f.write(token["access_token"] + "\n")
        request.token_number = number

    def validate_bearer_token(self, token, scopes, request):
        with self.lock:
            known = self.tokens.get(token or "")
        if known is None:
            request.token_problem = "unknown"
            return False
        number, until = known
        request.token_number = number
        if time.monotonic() >= until:
            request.token_problem = "expired"
            return False
        request.scopes = [self.scope]
        return True


# ------------------------------------------------------------------------------------------
# The front

IMPERSONATION = re.compile(
    rb"<(?:[\w.-]+:)?ExchangeImpersonation\b.*?<(?:[\w.-]+:)?ConnectingSID\b[^>]*>\s*"
    rb"<(?:[\w.-]+:)?(PrimarySmtpAddress|SmtpAddress|PrincipalName|SID)\b[^>]*>([^<]*)<",
    re.S,
)


def impersonated(body):
    """(form, value) the ExchangeImpersonation header names, or None."""
    m = IMPERSONATION.search(body)
    if m is None:
        return None
    return m.group(1).decode("ascii"), m.group(2).decode("utf-8", "replace").strip()


class Front:
    def __init__(self, args):
        self.args = args
        self.validator = Validator(
            args.client_id,
            os.environ.get(args.client_secret_env, ""),
            args.scope,
            args.valid_for if args.valid_for is not None else args.expires_in,
            args.issued,
        )
        self.oauth = BackendApplicationServer(self.validator, token_expires_in=args.expires_in)
        self.upstream = front_base.Upstream(args.upstream)
        password = os.environ.get(args.upstream_password_env, "")
        pair = f"{args.upstream_user}:{password}".encode()
        self.upstream_auth = "Basic " + base64.b64encode(pair).decode()
        self.sids = dict(s.split("=", 1) for s in args.sid)
        self.events = front_base.Events(args.events)

    def log(self, event):
        self.events.log(event)

    def forward(self, body, headers):
        out = {
            "Content-Type": headers.get("Content-Type", "text/xml; charset=utf-8"),
            "Authorization": self.upstream_auth,
        }
        if headers.get("SOAPAction") is not None:
            out["SOAPAction"] = headers.get("SOAPAction")
        return self.upstream.post(body, out)


def handler_for(front):
    class Handler(front_base.Handler):
        def answer(self, status, body=b"", content_type="text/plain", extra=()):
            self.send(status, body, [("Content-Type", content_type), *extra])

        def do_POST(self):
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length)
            path = urllib.parse.urlsplit(self.path).path
            if path == "/token":
                self.token(body)
            elif path == "/EWS/Exchange.asmx":
                self.ews(body)
            else:
                self.answer(404)

        def token(self, body):
            uri = f"https://127.0.0.1:{self.server.server_port}/token"
            headers, text, status = front.oauth.create_token_response(
                uri, http_method="POST", body=body.decode("utf-8", "replace"), headers=dict(self.headers)
            )
            event = {"kind": "token", "status": status}
            if status == 200:
                event["token"] = front.validator.tokens.get(json.loads(text)["access_token"], (0,))[0]
                event["expires_in"] = json.loads(text).get("expires_in")
            front.log(event)
            self.answer(
                status,
                text.encode(),
                headers.get("Content-Type", "application/json"),
                [(k, v) for k, v in headers.items() if k.lower() != "content-type"],
            )

        def ews(self, body):
            event = {
                "kind": "ews",
                "action": (self.headers.get("SOAPAction") or "").rsplit("/", 1)[-1],
                "anchor": self.headers.get("X-AnchorMailbox"),
                "body_bytes": len(body),
            }
            who = impersonated(body)
            event["impersonated"] = who[1] if who else None
            uri = f"https://127.0.0.1:{self.server.server_port}/EWS/Exchange.asmx"
            valid, request = front.oauth.verify_request(
                uri, http_method="POST", body="", headers=dict(self.headers), scopes=[front.args.scope]
            )
            event["token"] = getattr(request, "token_number", None)
            if not valid:
                event["status"] = 401
                event["refused"] = getattr(request, "token_problem", "no bearer token")
                front.log(event)
                self.answer(401, extra=[("WWW-Authenticate", 'Bearer error="invalid_token"')])
                return
            anchor = event["anchor"]
            expected = None
            if who is not None:
                form, value = who
                expected = front.sids.get(value) if form == "SID" else value
            if not anchor:
                problem = "no X-AnchorMailbox"
            elif expected is not None and anchor.lower() != expected.lower():
                problem = f"X-AnchorMailbox {anchor} is not the impersonated {expected}"
            else:
                problem = None
            if problem is not None:
                event["status"] = 400
                event["refused"] = problem
                front.log(event)
                self.answer(400, problem.encode())
                return
            status, content_type, answer = front.forward(body, self.headers)
            event["status"] = status
            front.log(event)
            self.answer(status, answer, content_type or "text/xml; charset=utf-8")

    return Handler


def main():
    parser = front_base.arguments()
    parser.add_argument("--upstream-user", required=True)
    parser.add_argument("--upstream-password-env", required=True)
    parser.add_argument("--client-id", required=True)
    parser.add_argument("--client-secret-env", required=True)
    parser.add_argument("--scope", required=True)
    parser.add_argument("--expires-in", type=int, required=True)
    parser.add_argument("--valid-for", type=float)
    parser.add_argument("--sid", action="append", default=[])
    parser.add_argument("--issued", required=True)
    args = parser.parse_args()

    ca_key, ca_cert = front_base.make_ca("oauth-front test CA")
    key, cert = front_base.make_leaf(ca_key, ca_cert)
    front_base.write_ca(args.ca_out, ca_cert)
    context = front_base.server_context(key, cert)

    front = Front(args)
    front_base.serve(front_base.Server(handler_for(front), context))


if __name__ == "__main__":
    main()
