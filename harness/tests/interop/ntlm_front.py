"""An HTTPS front that logs connections in with NTLM, as IIS does for Exchange Server's /EWS
virtual directory with Extended Protection on, and forwards what they send to an EWS endpoint.

- The NTLM acceptor is pyspnego's (`spnego.server(protocol="ntlm")`); it reads the accounts from
  the file that NTLM_USER_FILE names (`DOMAIN:user:password` per line).
- A connection is authenticated, not a request: Negotiate gets a 401 with the Challenge,
  Authenticate logs the connection in, and later requests on it carry no credentials (IIS keeps
  NTLM authentication per connection unless authPersistSingleRequest is set:
  https://learn.microsoft.com/en-us/iis/configuration/system.webserver/security/authentication/windowsauthentication/).
  The request that carries Authenticate is executed, as on IIS.
- The channel binding is required: the Authenticate message's MsvAvChannelBindings must be the
  MD5 of the gss_channel_bindings_struct whose application data is "tls-server-end-point:" and the
  RFC 5929 hash of the certificate (MS-NLMP 3.2.5.1.2 and 2.2.2.1). pyspnego's acceptor checks it
  but lets an all-zero value through (a client that has no binding to give); Extended Protection
  set to Require does not, so this front refuses a missing or all-zero binding itself.
- Logged-in requests go upstream with HTTP Basic as `user@UPSTREAM_DOMAIN` and the upstream
  password.

Options:
  --upstream URL              where requests go
  --upstream-domain DOMAIN    the upstream accounts' domain
  --upstream-password-env VAR the environment variable holding the upstream accounts' password
  --ca-out FILE               where the PEM of the CA that signed the front's certificate goes
  --events FILE               one JSON line per request (never a secret)
  --bind-to-other-cert        expect the binding of another certificate than the one served, as
                              behind a TLS-terminating middlebox: every login must be refused
  --requests-per-connection N close each connection after N logged-in requests, as a server's
                              keep-alive limit does

Prints "listening PORT" when ready and serves until killed or its standard input closes.
"""

import base64
import hashlib
import http.client
import itertools
import os
import sys

import spnego
import spnego.exceptions
from cryptography.hazmat.primitives import hashes, serialization
from spnego._ntlm_raw.messages import Authenticate, AvId, NTClientChallengeV2
from spnego.channel_bindings import GssChannelBindings

import front_base

NTLMSSP = b"NTLMSSP\x00"


def end_point_hash(cert):
    """RFC 5929 section 4.1: the certificate's own signature hash, SHA-256 for MD5 and SHA-1."""
    algorithm = cert.signature_hash_algorithm
    if algorithm is None or isinstance(algorithm, (hashes.MD5, hashes.SHA1)):
        algorithm = hashes.SHA256()
    digest = hashes.Hash(algorithm)
    digest.update(cert.public_bytes(serialization.Encoding.DER))
    return digest.finalize()


# ------------------------------------------------------------------------------------------
# The front


class Front:
    def __init__(self, args, bindings):
        self.args = args
        self.bindings = bindings
        self.expected_binding = hashlib.md5(bindings.pack()).digest()
        self.upstream = front_base.Upstream(args.upstream)
        self.upstream_password = os.environ.get(args.upstream_password_env, "")
        self.connections = itertools.count(1)
        self.events = front_base.Events(args.events)

    def record(self, **event):
        self.events.log(event)

    def binding_problem(self, token):
        """Why the Authenticate message's channel binding is not the one this front requires."""
        try:
            auth = Authenticate.unpack(token)
            response = auth.nt_challenge_response or b""
            if len(response) <= 24:
                return "an NTLMv1 response carries no channel binding"
            av_pairs = NTClientChallengeV2.unpack(response[16:]).av_pairs
        except Exception as e:  # a malformed message is refused, never a crash
            return "unreadable Authenticate message: %s" % type(e).__name__
        if AvId.channel_bindings not in av_pairs:
            return "no channel binding"
        got = av_pairs[AvId.channel_bindings]
        if got == b"\x00" * 16:
            return "an empty channel binding"
        if got != self.expected_binding:
            return "a channel binding to another certificate"
        return None


def handler_for(front):
    class Handler(front_base.Handler):
        server_version = "ntlm-front"
        # An idle connection is closed after a minute.
        timeout = 60

        def setup(self):
            super().setup()
            self.connection_id = next(front.connections)
            self.pending = None  # the acceptor between Negotiate and Authenticate
            self.user = None  # who this connection is logged in as
            self.upstream = None
            self.served = 0

        def refuse(self, close=False):
            self.send(
                401,
                b"401 Unauthorized\n",
                [("WWW-Authenticate", "Negotiate"), ("WWW-Authenticate", "NTLM")],
                close,
            )

        def do_POST(self):
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length)
            event = {
                "connection": self.connection_id,
                "auth": "none",
                "body_bytes": len(body),
                "action": (self.headers.get("SOAPAction") or "").rsplit("/", 1)[-1],
            }
            scheme, _, token = (self.headers.get("Authorization") or "").partition(" ")
            if scheme.lower() == "ntlm":
                try:
                    raw = base64.b64decode(token.strip(), validate=True)
                except ValueError:
                    raw = b""
                kind = int.from_bytes(raw[8:12], "little") if raw[:8] == NTLMSSP else 0
                if kind == 1:
                    event["auth"] = "negotiate"
                    # A new handshake logs the connection out, as on IIS.
                    self.user = None
                    self.pending = spnego.server(
                        protocol="ntlm", channel_bindings=front.bindings
                    )
                    challenge = self.pending.step(raw)
                    front.record(status=401, **event)
                    return self.send(
                        401,
                        b"",
                        [("WWW-Authenticate", "NTLM " + base64.b64encode(challenge).decode())],
                    )
                event["auth"] = "authenticate" if kind == 3 else "unreadable"
                acceptor, self.pending = self.pending, None
                problem = "Authenticate without Negotiate" if acceptor is None else None
                problem = problem or front.binding_problem(raw)
                if problem is None:
                    try:
                        acceptor.step(raw)
                    except spnego.exceptions.SpnegoError as e:
                        problem = "%s: %s" % (type(e).__name__, e.message)
                if problem is not None:
                    event["refused"] = problem
                    front.record(status=401, **event)
                    return self.refuse(close=True)
                self.user = acceptor.client_principal
                event["user"] = self.user
            elif self.user is None:
                front.record(status=401, **event)
                return self.refuse()
            status, headers, answer = self.forward(body)
            front.record(status=status, **event)
            self.served += 1
            limit = front.args.requests_per_connection
            self.send(status, answer, headers, close=bool(limit) and self.served >= limit)

        def forward(self, body):
            account = self.user.rsplit("\\", 1)[-1].split("@", 1)[0].lower()
            basic = base64.b64encode(
                ("%s@%s:%s" % (account, front.args.upstream_domain, front.upstream_password)).encode()
            ).decode()
            headers = {
                "Content-Type": self.headers.get("Content-Type") or "text/xml; charset=utf-8",
                "Authorization": "Basic " + basic,
            }
            if self.headers.get("SOAPAction"):
                headers["SOAPAction"] = self.headers["SOAPAction"]
            for attempt in (1, 2):
                if self.upstream is None:
                    self.upstream = front.upstream.connect(timeout=120)
                try:
                    self.upstream.request("POST", front.upstream.path, body=body, headers=headers)
                    response = self.upstream.getresponse()
                    answer = response.read()
                    break
                except (OSError, http.client.HTTPException):
                    self.upstream.close()
                    self.upstream = None
                    if attempt == 2:
                        return 502, [("Content-Type", "text/plain")], b"upstream unreachable\n"
            kept = [
                (name, value)
                for name, value in response.getheaders()
                if name.lower() == "content-type"
            ]
            return response.status, kept, answer

        def do_GET(self):
            self.send(405, b"POST here\n", [("Allow", "POST")])

    return Handler


def main():
    parser = front_base.arguments()
    parser.add_argument("--upstream-domain", required=True)
    parser.add_argument("--upstream-password-env", required=True)
    parser.add_argument("--bind-to-other-cert", action="store_true")
    parser.add_argument("--requests-per-connection", type=int, default=0)
    args = parser.parse_args()
    if not os.path.isfile(os.environ.get("NTLM_USER_FILE", "")):
        sys.exit("NTLM_USER_FILE must name the acceptor's credential file")

    ca_key, ca_cert = front_base.make_ca("ntlm-front test CA")
    key, cert = front_base.make_leaf(ca_key, ca_cert)
    bound = front_base.make_leaf(ca_key, ca_cert)[1] if args.bind_to_other_cert else cert
    bindings = GssChannelBindings(application_data=b"tls-server-end-point:" + end_point_hash(bound))
    front_base.write_ca(args.ca_out, ca_cert)
    context = front_base.server_context(key, cert)

    front = Front(args, bindings)
    front_base.serve(front_base.Server(handler_for(front), context))


if __name__ == "__main__":
    main()
