"""An HTTPS front that throttles as a loaded Exchange does, and loses some answers, in front of
an EWS endpoint. Standard library only; the certificate is made with the `openssl` command.

What it answers, decided per request in arrival order:
- ErrorServerBusy as a SOAP fault (HTTP 500, `detail/t:MessageXml/t:Value
  Name="BackOffMilliseconds"`, as Exchange Online sends it: exchangelib's `_raise_soap_errors`
  reads it there) and as an error response message of the request's operation (HTTP 200,
  `m:MessageXml/t:Value Name="BackOffMilliseconds"`), in turn, to every --busy-every'th request
  of an account that has no other request in flight here. The request is not executed.
- HTTP 503 with `Retry-After` (seconds) to every --unavailable-every'th such request; not
  executed either.
- Within an account's back-off, any request of that account gets ErrorServerBusy again with the
  back-off left, as Exchange does to a client that does not wait
  (https://learn.microsoft.com/en-us/exchange/client-developer/exchange-web-services/ews-throttling-in-exchange).
- Every --drop-every'th SendItem is executed upstream, and then the connection is closed without
  an answer: the client cannot know whether it ran.
- Everything else goes upstream and back unchanged.

Each request is logged as one JSON line in --events once it has been dealt with: its sequence
number, the account (the Basic user name), the operation, what was done, the monotonic times at
which it arrived, its answer started to be written, and the answer was written (or dropped),
the back-off given, the body, and for a SendItem that went upstream the upstream answer. Never
a password.

Options:
  --upstream URL            where requests go
  --events FILE             the log
  --ca-out FILE             where the PEM of the front's (self-signed) certificate goes
  --busy-every N            (default 7)
  --busy-ms A,B             back-offs given, in turn (default 800,1200)
  --max-busy N              at most this many busy answers besides the repeats (default 10)
  --unavailable-every N     (default 17)
  --retry-after SECONDS     (default 1)
  --max-unavailable N       (default 2)
  --drop-every N            (default 6)
  --max-drops N             (default 3)

Prints "listening PORT" when ready and serves until killed or its standard input closes; prints
"unavailable: WHY" and exits 3 when it cannot make its certificate.
"""

import base64
import itertools
import os
import ssl
import subprocess
import sys
import tempfile
import threading
import time

import front_base

MESSAGES = "http://schemas.microsoft.com/exchange/services/2006/messages"
TYPES = "http://schemas.microsoft.com/exchange/services/2006/types"
ERRORS = "http://schemas.microsoft.com/exchange/services/2006/errors"
SOAP = "http://schemas.xmlsoap.org/soap/envelope/"
BUSY_TEXT = "The server cannot service this request right now. Try again later."


def busy_fault(back_off_ms):
    """ErrorServerBusy as Exchange Online's SOAP fault carries it."""
    return (
        f'<?xml version="1.0" encoding="utf-8"?>'
        f'<s:Envelope xmlns:s="{SOAP}"><s:Body><s:Fault>'
        f'<faultcode xmlns:a="{TYPES}">a:ErrorServerBusy</faultcode>'
        f'<faultstring xml:lang="en-US">{BUSY_TEXT}</faultstring>'
        f"<detail>"
        f'<e:ResponseCode xmlns:e="{ERRORS}">ErrorServerBusy</e:ResponseCode>'
        f'<e:Message xmlns:e="{ERRORS}">{BUSY_TEXT}</e:Message>'
        f'<t:MessageXml xmlns:t="{TYPES}">'
        f'<t:Value Name="BackOffMilliseconds">{back_off_ms}</t:Value></t:MessageXml>'
        f"</detail></s:Fault></s:Body></s:Envelope>"
    ).encode()


def busy_message(operation, back_off_ms):
    """ErrorServerBusy as the error response message of `operation`."""
    return (
        f'<?xml version="1.0" encoding="utf-8"?>'
        f'<s:Envelope xmlns:s="{SOAP}"><s:Header>'
        f'<h:ServerVersionInfo xmlns:h="{TYPES}" MajorVersion="15" MinorVersion="20" '
        f'MajorBuildNumber="8" MinorBuildNumber="0" Version="V2018_01_08"/></s:Header>'
        f'<s:Body><m:{operation}Response xmlns:m="{MESSAGES}" xmlns:t="{TYPES}">'
        f"<m:ResponseMessages>"
        f'<m:{operation}ResponseMessage ResponseClass="Error">'
        f"<m:MessageText>{BUSY_TEXT}</m:MessageText>"
        f"<m:ResponseCode>ErrorServerBusy</m:ResponseCode>"
        f"<m:DescriptiveLinkKey>0</m:DescriptiveLinkKey>"
        f'<m:MessageXml><t:Value Name="BackOffMilliseconds">{back_off_ms}</t:Value>'
        f"</m:MessageXml></m:{operation}ResponseMessage>"
        f"</m:ResponseMessages></m:{operation}Response></s:Body></s:Envelope>"
    ).encode()


class State:
    """What the front decides from, under one lock."""

    def __init__(self, options):
        self.options = options
        self.lock = threading.Lock()
        self.seq = itertools.count(1)
        self.in_flight = {}
        self.until = {}
        self.busy = 0
        self.unavailable = 0
        self.send_items = 0
        self.drops = 0
        self.busy_ms = itertools.cycle(options.busy_ms)
        self.forms = itertools.cycle(["fault", "message"])

    def decide(self, account, operation, now):
        """(sequence number, action, back-off in ms) for a request arriving `now`."""
        o = self.options
        with self.lock:
            seq = next(self.seq)
            alone = self.in_flight.get(account, 0) == 0
            self.in_flight[account] = self.in_flight.get(account, 0) + 1
            left = self.until.get(account, 0.0) - now
            if left > 0:
                return seq, "busy-again", max(1, int(left * 1000))
            if alone and self.busy < o.max_busy and seq % o.busy_every == 0:
                self.busy += 1
                ms = next(self.busy_ms)
                self.until[account] = now + ms / 1000
                form = next(self.forms) if operation != "request" else "fault"
                return seq, f"busy-{form}", ms
            if alone and self.unavailable < o.max_unavailable and seq % o.unavailable_every == 0:
                self.unavailable += 1
                self.until[account] = now + o.retry_after
                return seq, "unavailable", o.retry_after * 1000
            if operation == "SendItem":
                self.send_items += 1
                if self.drops < o.max_drops and self.send_items % o.drop_every == 0:
                    self.drops += 1
                    return seq, "drop", None
            return seq, "forward", None

    def done(self, account):
        with self.lock:
            self.in_flight[account] -= 1


class Handler(front_base.Handler):
    def do_POST(self):
        arrived = time.monotonic()
        # When the answer started to leave: the earliest the client can have read a back-off.
        # (`done` comes after the write, which a loaded machine can finish well after the client
        # has the answer.)
        self.answering = None
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length)
        account = basic_user(self.headers.get("Authorization", ""))
        action_header = self.headers.get("SOAPAction", "") or ""
        operation = action_header.strip('"').rsplit("/", 1)[-1] or "request"
        state = self.server.state
        seq, action, back_off = state.decide(account, operation, arrived)
        event = {
            "seq": seq,
            "account": account,
            "operation": operation,
            "action": action,
            "arrived": arrived,
            "back_off_ms": back_off,
            "body": body.decode("utf-8", "replace"),
        }
        try:
            if action == "busy-fault" or (action == "busy-again" and operation == "request"):
                self.answer(500, busy_fault(back_off))
            elif action in ("busy-message", "busy-again"):
                self.answer(200, busy_message(operation, back_off))
            elif action == "unavailable":
                self.answer(
                    503,
                    b"Service Unavailable\n",
                    "text/plain",
                    {"Retry-After": str(self.server.options.retry_after)},
                )
            else:
                status, content_type, answer = self.forward(body)
                event["upstream_status"] = status
                if operation == "SendItem":
                    event["upstream_answer"] = answer.decode("utf-8", "replace")
                if action == "drop":
                    # Executed upstream; the answer never leaves.
                    self.close_connection = True
                else:
                    self.answer(status, answer, content_type)
        finally:
            event["answering"] = self.answering
            event["done"] = time.monotonic()
            state.done(account)
            self.server.log(event)

    def answer(self, status, body, content_type="text/xml; charset=utf-8", headers=None):
        self.answering = time.monotonic()
        self.send(status, body, [("Content-Type", content_type), *(headers or {}).items()])

    def forward(self, body):
        headers = {
            name: self.headers[name]
            for name in ("Authorization", "Content-Type", "SOAPAction", "X-AnchorMailbox")
            if self.headers.get(name) is not None
        }
        status, content_type, answer = self.server.upstream.post(body, headers)
        return status, content_type or "text/xml; charset=utf-8", answer


def basic_user(authorization):
    """The user name of a Basic `Authorization` value, or "" (the password is dropped here)."""
    scheme, _, value = authorization.partition(" ")
    if scheme.lower() != "basic":
        return ""
    try:
        return base64.b64decode(value).decode("utf-8").split(":", 1)[0]
    except (ValueError, UnicodeDecodeError):
        return ""


class Server(front_base.Server):
    def __init__(self, options, context):
        super().__init__(Handler, context)
        self.options = options
        self.state = State(options)
        self.upstream = front_base.Upstream(options.upstream)
        self.log = front_base.Events(options.events).log


def certificate(ca_out):
    """A self-signed certificate for 127.0.0.1, written to `ca_out`, and the TLS context."""
    work = tempfile.mkdtemp()
    key = os.path.join(work, "key.pem")
    made = subprocess.run(
        [
            "openssl", "req", "-x509", "-newkey", "ec",
            "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes",
            "-keyout", key, "-out", ca_out, "-days", "2",
            "-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1",
        ],
        capture_output=True,
        text=True,
    )
    if made.returncode != 0:
        raise OSError(made.stderr.strip())
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(ca_out, key)
    return context


def main():
    parser = front_base.arguments()
    parser.add_argument("--busy-every", type=int, default=7)
    parser.add_argument(
        "--busy-ms", type=lambda v: [int(x) for x in v.split(",")], default=[800, 1200]
    )
    parser.add_argument("--max-busy", type=int, default=10)
    parser.add_argument("--unavailable-every", type=int, default=17)
    parser.add_argument("--retry-after", type=int, default=1)
    parser.add_argument("--max-unavailable", type=int, default=2)
    parser.add_argument("--drop-every", type=int, default=6)
    parser.add_argument("--max-drops", type=int, default=3)
    options = parser.parse_args()
    try:
        context = certificate(options.ca_out)
    except OSError as e:
        print(f"unavailable: cannot make a certificate with openssl: {e}", flush=True)
        sys.exit(3)
    front_base.serve(Server(options, context))


if __name__ == "__main__":
    main()
