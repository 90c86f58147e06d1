"""What the HTTPS fronts in this folder (`*_front.py`) share: their options for the upstream, the
CA file and the event log; a certificate signed by a CA of their own; a threading HTTPS server
whose TLS handshakes run on each connection's thread; a request handler that answers quietly;
the upstream EWS endpoint; the event log, one JSON object a line; and serving until the test
closes standard input.

A front is started by path (`python tests/interop/NAME_front.py`), so Python puts this folder
first on `sys.path` and `import front_base` finds this file from any working directory.
`cryptography` is imported only where a certificate is made with it: a front that makes its
certificate otherwise runs on the standard library alone.
"""

import argparse
import datetime
import http.client
import ipaddress
import json
import os
import ssl
import sys
import tempfile
import threading
import urllib.parse
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


def arguments():
    """A parser with the options every front takes: --upstream, --ca-out and --events."""
    parser = argparse.ArgumentParser()
    parser.add_argument("--upstream", required=True)
    parser.add_argument("--ca-out", required=True)
    parser.add_argument("--events", required=True)
    return parser


# ------------------------------------------------------------------------------------------
# Certificates (with `cryptography`)


def _name(common_name):
    from cryptography import x509
    from cryptography.x509.oid import NameOID

    return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)])


def _builder(subject, issuer, key):
    """A certificate builder valid from an hour ago for a day."""
    from cryptography import x509

    now = datetime.datetime.now(datetime.timezone.utc)
    return (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(issuer)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(hours=1))
        .not_valid_after(now + datetime.timedelta(days=1))
    )


def make_ca(common_name):
    """A CA's key and certificate, named `common_name`."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes
    from cryptography.hazmat.primitives.asymmetric import ec

    key = ec.generate_private_key(ec.SECP256R1())
    cert = (
        _builder(_name(common_name), _name(common_name), key)
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=True,
                content_commitment=False,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=True,
                crl_sign=True,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .sign(key, hashes.SHA256())
    )
    return key, cert


def make_leaf(ca_key, ca_cert):
    """A server certificate for localhost and 127.0.0.1 that the CA signed, and its key."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import ExtendedKeyUsageOID

    key = ec.generate_private_key(ec.SECP256R1())
    cert = (
        _builder(_name("localhost"), ca_cert.subject, key)
        .add_extension(
            x509.SubjectAlternativeName(
                [x509.DNSName("localhost"), x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]
            ),
            critical=False,
        )
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
        .sign(ca_key, hashes.SHA256())
    )
    return key, cert


def write_ca(path, ca_cert):
    """Writes the CA's certificate, PEM, to `path`, for the test to trust."""
    from cryptography.hazmat.primitives import serialization

    with open(path, "wb") as f:
        f.write(ca_cert.public_bytes(serialization.Encoding.PEM))


def server_context(key, cert):
    """A TLS server context serving `cert` with `key`."""
    from cryptography.hazmat.primitives import serialization

    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    with tempfile.TemporaryDirectory() as tmp:
        chain = os.path.join(tmp, "chain.pem")
        with open(chain, "wb") as f:
            f.write(
                key.private_bytes(
                    serialization.Encoding.PEM,
                    serialization.PrivateFormat.PKCS8,
                    serialization.NoEncryption(),
                )
            )
            f.write(cert.public_bytes(serialization.Encoding.PEM))
        context.load_cert_chain(chain)
    return context


# ------------------------------------------------------------------------------------------
# Serving


class Handler(BaseHTTPRequestHandler):
    """A request handler that logs nothing to stderr, does its TLS handshake on its own thread
    (within `handshake_timeout` seconds), and answers with `send`."""

    protocol_version = "HTTP/1.1"
    handshake_timeout = 60

    def setup(self):
        self.request.settimeout(self.handshake_timeout)
        self.request.do_handshake()
        self.request.settimeout(self.timeout)
        super().setup()

    def log_message(self, format, *args):
        pass

    def send(self, status, body=b"", headers=(), close=False):
        """Answers `status` with `headers` (name, value pairs) and `body`; closes the connection
        after it when `close`."""
        self.send_response(status)
        for name, value in headers:
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(body)))
        if close:
            self.send_header("Connection", "close")
            self.close_connection = True
        self.end_headers()
        self.wfile.write(body)
        self.wfile.flush()


class Server(ThreadingHTTPServer):
    """A threading HTTPS server on a loopback port; [`Handler`] does each TLS handshake."""

    daemon_threads = True
    allow_reuse_address = True

    def __init__(self, handler, context):
        super().__init__(("127.0.0.1", 0), handler)
        self.context = context

    def get_request(self):
        sock, address = self.socket.accept()
        return self.context.wrap_socket(sock, server_side=True, do_handshake_on_connect=False), address

    def handle_error(self, request, client_address):
        # A client that hangs up or refuses the certificate is no failure of the front.
        pass


def serve(server):
    """Serves on a thread, prints "listening PORT", and serves until standard input closes."""
    threading.Thread(target=server.serve_forever, daemon=True).start()
    print("listening %d" % server.server_address[1], flush=True)
    sys.stdin.read()
    server.shutdown()


class Upstream:
    """The EWS endpoint at `url` (plain HTTP) requests go on to."""

    def __init__(self, url):
        parts = urllib.parse.urlsplit(url)
        self.host = parts.hostname
        self.port = parts.port or 80
        self.path = parts.path or "/"

    def connect(self, timeout):
        return http.client.HTTPConnection(self.host, self.port, timeout=timeout)

    def post(self, body, headers, timeout=60):
        """POSTs `body` with `headers` on a connection of its own: (status, Content-Type or None,
        the answer's body)."""
        connection = self.connect(timeout)
        try:
            connection.request("POST", self.path, body=body, headers=headers)
            response = connection.getresponse()
            return response.status, response.getheader("Content-Type"), response.read()
        finally:
            connection.close()


class Events:
    """The event log: one JSON object a line, appended as requests are dealt with."""

    def __init__(self, path):
        self.lock = threading.Lock()
        self.file = open(path, "a", encoding="utf-8")

    def log(self, event):
        with self.lock:
            self.file.write(json.dumps(event) + "\n")
            self.file.flush()
