"""A small HTTP proxy between s3mirror and a real S3 server that injects faults, scriptable per
test: fail some requests with 5xx / 429 (+Retry-After) / a dropped connection, stall, truncate
bodies, reset or stall in the middle of a body, answer 200 with an <Error> document, reorder or
duplicate keys of listing pages, drop <IsTruncated> from a page (strip_is_truncated), answer a
listing with an empty truncated page that always names the same continuation token
(empty_truncated), or run a callback and refuse (call: a test stops its client at an exact
request), or send a body slowly (slow_body: `rate` bytes per second, after the headers; the
end event then comes after the last byte), or forward a request late (delay: `seconds`).
Counts requests by method and path, and records when
each starts and ends (events: the end is recorded before the client gets the answer, so an event
after another's end was sent after the client could know of it; each event's last member is its
time.monotonic()); wait_idle() waits for the requests in flight.
With `meter` set to a list it records the body bytes as they pass, with their times.

A rule applies to the Nth matching request on (after=N-1, times=...), or to a share of them
(share=0.3, from a seeded generator so a run is reproducible). `method` is one method or a
tuple of them (("PUT", "POST", "DELETE"): the Nth write).

Rules are (predicate, action) pairs tried in order for each request; the first whose predicate
matches and whose `times` is not used up applies. Listening on 127.0.0.1, started and stopped
by the test (a thread, no process)."""
import http.client
import random
import re
import socket
import socketserver
import threading
import time
from http.server import BaseHTTPRequestHandler

HOP = {"connection", "keep-alive", "transfer-encoding", "proxy-connection", "te", "upgrade"}


class Rule:
    def __init__(self, action, method=None, path=None, query=None, times=None, after=0,
                 share=None, seed=1, **kw):
        self.action, self.method, self.times, self.after = action, method, times, after
        self.share, self.rng, self.hits = share, random.Random(seed), 0
        self.path = re.compile(path) if path else None
        self.query = re.compile(query) if query else None
        self.kw, self.seen = kw, 0

    def matches(self, method, path, query):
        if self.method and method not in (
                (self.method,) if isinstance(self.method, str) else self.method):
            return False
        if self.path and not self.path.search(path):
            return False
        if self.query and not self.query.search(query):
            return False
        self.seen += 1
        if self.seen <= self.after:
            return False
        if self.share is not None and self.rng.random() >= self.share:
            return False
        self.hits += 1
        if self.times is not None and self.hits > self.times:
            return False
        return True


class Proxy:
    def __init__(self, upstream):
        m = re.match(r"http://([^:/]+):(\d+)", upstream)
        self.host, self.port = m.group(1), int(m.group(2))
        self.rules, self.log, self.lock = [], [], threading.Lock()
        # {real ETag: fake ETag}: the source's ETags as a server whose ETags are no MD5s shows
        # them (listings, HEAD and GET answers); the client's If-Match goes back as the real one
        self.etag_alias = {}
        self.keys = None  # (access key, secret key) of the upstream, to sign aliased requests
        self.busy, self.idle_cv = 0, threading.Condition(self.lock)  # requests in flight
        # ("start" | "end", method, path, query, POST body or b"", status, time.monotonic())
        self.events = []
        # set to a list to meter: (time.monotonic(), "up" | "down", bytes) per chunk of a request
        # body read and of a response body written (small socket buffer: written is sent), and
        # (time, "req", 0) when a request's headers came
        self.meter = None
        proxy = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *a):
                pass

            def handle_one(self):
                proxy.handle(self)

            do_GET = do_PUT = do_POST = do_DELETE = do_HEAD = handle_one

        class Server(socketserver.ThreadingMixIn, socketserver.TCPServer):
            daemon_threads = True
            allow_reuse_address = True
            request_queue_size = 1024  # listen backlog: --transfers 128 connect at once (5 drops SYNs)

            def handle_error(self, request, client_address):
                import sys
                if not isinstance(sys.exc_info()[1], (BrokenPipeError, ConnectionResetError)):
                    super().handle_error(request, client_address)  # a client hanging up is normal

        self.server = Server(("127.0.0.1", 0), Handler)
        self.endpoint = "http://127.0.0.1:%d" % self.server.server_address[1]
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def stop(self):
        self.server.shutdown()
        self.server.server_close()

    def add(self, action, **kw):
        r = Rule(action, **kw)
        with self.lock:
            self.rules.append(r)
        return r

    def clear(self):
        with self.lock:
            self.rules, self.log, self.events = [], [], []

    def event(self, *ev):
        with self.lock:
            self.events.append(ev + (time.monotonic(),))

    def count(self, method=None, query=None):
        with self.lock:
            return sum(1 for m, p, q in self.log if (not method or m == method) and
                       (query is None or re.search(query, q)))

    def wait_idle(self, timeout=60):
        """Wait until no request is in flight (a killed client leaves some being forwarded)."""
        with self.lock:
            if not self.idle_cv.wait_for(lambda: self.busy == 0, timeout):
                raise TimeoutError("proxy: %d requests still in flight" % self.busy)

    # ---- the proxying ----
    def handle(self, h):
        with self.lock:
            self.busy += 1
        try:
            self.handle_request(h)
        finally:
            with self.lock:
                self.busy -= 1
                self.idle_cv.notify_all()

    def handle_request(self, h):
        path, _, query = h.path.partition("?")
        if self.meter is not None:  # when each request came (its headers read)
            with self.lock:
                self.meter.append((time.monotonic(), "req", 0))
        length = int(h.headers.get("Content-Length") or 0)
        body = self.read_body(h, length) if length else b""
        if len(body) < length:  # the client died in the body (SIGKILL): no request to forward
            return self.reset(h)
        with self.lock:
            self.log.append((h.command, path, query))
            body_kept = body if h.command == "POST" else b""  # a DeleteObjects' keys, not data
            self.events.append(("start", h.command, path, query, body_kept, None,
                                time.monotonic()))
            rule = next((r for r in self.rules if r.matches(h.command, path, query)), None)
        if rule and rule.action == "call":  # the callback (it may kill the client); not forwarded
            rule.kw["call"](h.command, path, query)
        if rule and rule.action in ("status", "drop", "stall", "error200", "empty_truncated",
                                    "call"):
            if rule.action != "stall":
                self.event("end", h.command, path, query, body_kept, rule.action)
            return self.fault(h, rule)
        if rule and rule.action == "delay":  # forwarded after `seconds`
            time.sleep(rule.kw.get("seconds", 1))
        conn = http.client.HTTPConnection(self.host, self.port, timeout=60)
        headers = {k: v for k, v in h.headers.items() if k.lower() not in HOP}
        aliased = {k: v for k, v in headers.items()}
        for real, fake in self.etag_alias.items():
            aliased = {k: v.replace(fake, real) for k, v in aliased.items()}
        if aliased != headers:  # a signed header changed: sign again with the site's keys
            headers = self.sign(h.command, h.path, aliased)
        conn.request(h.command, h.path, body=body, headers=headers)
        resp = conn.getresponse()
        data = resp.read()
        slow = rule and rule.action == "slow_body" and h.command != "HEAD"
        if not slow:
            self.event("end", h.command, path, query, body_kept, resp.status)
        if rule and rule.action == "listing":
            data = rule.kw["edit"](data)
        if "xml" in (resp.getheader("Content-Type") or ""):
            for real, fake in self.etag_alias.items():
                data = data.replace(real.encode(), fake.encode())
        h.send_response(resp.status, resp.reason)
        drop = {k.lower() for k in (rule.kw.get("drop_headers", ()) if rule else ())}
        for k, v in resp.getheaders():
            if k.lower() not in HOP and k.lower() != "content-length" and k.lower() not in drop:
                if k.lower() == "etag":
                    for real, fake in self.etag_alias.items():
                        v = v.replace(real, fake)
                h.send_header(k, v)
        for k, v in (rule.kw.get("set_headers", {}) if rule else {}).items():
            h.send_header(k, v)  # a header that lies (rule action "headers")
        declared = len(data)
        if h.command == "HEAD":  # no body, but the length of what a GET would send (or a part's)
            declared = int(resp.getheader("Content-Length") or 0)
            if rule and "head_length" in rule.kw:
                declared = rule.kw["head_length"]
        if rule and rule.action == "truncate":
            data = data[: rule.kw.get("keep", len(data) // 2)]
            h.send_header("Connection", "close")
            h.close_connection = True
        if rule and rule.action == "wrong_length":
            declared = len(data) + rule.kw.get("extra", 10)
            h.send_header("Connection", "close")
            h.close_connection = True
        h.send_header("Content-Length", str(declared))
        h.end_headers()
        if rule and rule.action in ("reset", "stall_body") and h.command != "HEAD":
            # part of the body, then a connection reset (RST) or silence
            h.wfile.write(data[: rule.kw.get("keep", len(data) // 2)])
            h.wfile.flush()
            if rule.action == "stall_body":
                time.sleep(rule.kw.get("seconds", 30))
            self.reset(h)
        elif slow:  # rate bytes per second, in small writes; a client that hangs up ends it
            step = max(1, min(len(data), rule.kw.get("rate", 65536) // 20))
            try:
                for i in range(0, len(data), step):
                    h.wfile.write(data[i:i + step])
                    h.wfile.flush()
                    time.sleep(step / rule.kw.get("rate", 65536))
            finally:
                self.event("end", h.command, path, query, body_kept, resp.status)
        elif h.command != "HEAD":
            self.write_body(h, data)
        conn.close()

    def read_body(self, h, length):
        if self.meter is None:
            return h.rfile.read(length)
        parts, left = [], length
        while left:
            chunk = h.rfile.read1(min(left, 65536))
            if not chunk:
                break
            parts.append(chunk)
            left -= len(chunk)
            with self.lock:
                self.meter.append((time.monotonic(), "up", len(chunk)))
        return b"".join(parts)

    def write_body(self, h, data):
        if self.meter is None:
            return h.wfile.write(data)
        # a chunk is metered once the kernel took it, before the client has it: a send buffer
        # of a few KiB keeps what waits unsent small, else 64 connections' buffers (32 KiB each,
        # doubled by the kernel) count some 4 MiB as moved in the first second
        h.connection.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, 4096)
        for i in range(0, len(data), 16384):
            h.wfile.write(data[i:i + 16384])
            h.wfile.flush()
            with self.lock:
                self.meter.append((time.monotonic(), "down", len(data[i:i + 16384])))

    def sign(self, method, path, headers):
        """SigV4 anew (botocore) for a request whose headers the proxy changed: self.keys are
        the upstream's (access key, secret key); region and payload hash kept as sent."""
        from botocore.auth import S3SigV4Auth
        from botocore.awsrequest import AWSRequest
        from botocore.credentials import Credentials
        auth = next(v for k, v in headers.items() if k.lower() == "authorization")
        region = re.search(r"Credential=[^/]+/\d+/([^/]+)/", auth).group(1)
        keep = {k: v for k, v in headers.items()
                if k.lower() not in ("authorization", "x-amz-date", "host")}
        req = AWSRequest(method=method, url="http://%s:%d%s" % (self.host, self.port, path),
                         headers=keep)
        S3SigV4Auth(Credentials(*self.keys), "s3", region).add_auth(req)
        return dict(req.headers.items())

    @staticmethod
    def reset(h):
        h.close_connection = True
        try:
            h.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, b"\x01\0\0\0\0\0\0\0")
        except OSError:
            pass
        h.connection.close()

    def fault(self, h, rule):
        if rule.action == "drop":
            return self.reset(h)
        if rule.action == "stall":
            time.sleep(rule.kw.get("seconds", 30))
            h.close_connection = True
            return
        if rule.action == "empty_truncated":  # not forwarded: a page that never progresses
            body = ("<?xml version=\"1.0\" encoding=\"UTF-8\"?><ListBucketResult><Name>%s</Name>"
                    "<Prefix></Prefix><KeyCount>0</KeyCount><MaxKeys>1000</MaxKeys>"
                    "<IsTruncated>true</IsTruncated><NextContinuationToken>%s"
                    "</NextContinuationToken></ListBucketResult>" % (
                        h.path.split("?")[0].strip("/"), rule.kw.get("token", "loop"))).encode()
            h.send_response(200)
            h.send_header("Content-Type", "application/xml")
            h.send_header("Content-Length", str(len(body)))
            h.end_headers()
            return h.wfile.write(body)
        status = rule.kw.get("status", 503)
        code = rule.kw.get("code", {503: "SlowDown", 500: "InternalError", 429: "SlowDown"}.get(status, "Fault"))
        if rule.action == "error200":
            code = rule.kw.get("code", "InternalError")
        body = ("<?xml version=\"1.0\" encoding=\"UTF-8\"?><Error><Code>%s</Code><Message>injected"
                "</Message><RequestId>fault</RequestId></Error>" % code).encode()
        if rule.action == "error200":  # the request is not forwarded: nothing happened
            status = 200
        h.send_response(status)
        if "retry_after" in rule.kw:
            h.send_header("Retry-After", str(rule.kw["retry_after"]))
        h.send_header("Content-Type", "application/xml")
        h.send_header("Content-Length", str(len(body)))
        h.end_headers()
        if h.command != "HEAD":
            h.wfile.write(body)


def swap_first_keys(data):
    """Listing edit: swap the first two <Key>s (a page out of order)."""
    keys = re.findall(rb"<Key>.*?</Key>", data)
    if len(keys) < 2:
        return data
    a, b = keys[0], keys[1]
    return data.replace(a, b"\0TMP\0", 1).replace(b, a, 1).replace(b"\0TMP\0", b, 1)


def duplicate_first_key(data):
    """Listing edit: the first <Contents> entry twice (a duplicated key)."""
    m = re.search(rb"<Contents>.*?</Contents>", data, re.S)
    if not m:
        return data
    return data[:m.end()] + m.group(0) + data[m.end():]


def strip_is_truncated(data):
    """Listing edit: the page without its <IsTruncated> element."""
    return re.sub(rb"<IsTruncated>[^<]*</IsTruncated>", b"", data)


def keep_buckets(names):
    """ListBuckets edit: only the buckets named (a whole-remote test sees its own buckets)."""
    def edit(data):
        def keep(m):
            n = re.search(rb"<Name>([^<]*)</Name>", m.group(0))
            return m.group(0) if n and n.group(1).decode() in names else b""
        return re.sub(rb"<Bucket>.*?</Bucket>", keep, data, flags=re.S)
    return edit
