"""TLS in front of a plain-HTTP S3 server: an nginx (Debian's nginx-light) terminating HTTPS on
127.0.0.1, with a CA made here by the openssl CLI, for the e2e tests and the bench.

    ca = tlsfront.make_ca(workdir)                       # once; a second CA = the "wrong CA" case
    with tlsfront.front(upstream_port, workdir) as (endpoint, ca_file):
        ...                                              # https://127.0.0.1:<port>, the CA's PEM
    f = tlsfront.Front(upstream_port, workdir, ca=ca)    # kept for a whole test class:
    endpoint = f.start(); ...; f.stop()                  #   start in setUpClass, stop in tearDown
    site = tlsfront.tls_site(site, workdir, ca)          # an s3servers.Site that speaks https
    off = f.log_offset(); ...; f.connections(off)        # nginx's view: connections, resumed

Each front has its own prefix directory under workdir (config, pid file, error log, temp dirs:
no root paths), runs with `daemon off;` as our child process and is stopped by its pid. nginx
keeps HTTP/1.1 connections to the upstream alive and streams both ways (no request or response
buffering, no body size limit) so that what the client sees is the server's behaviour plus TLS.
TLS session cache and tickets are on, as on a real endpoint, so session resumption can be seen.
Its access log (access.log, one line per request) tells for each request its connection number
and whether that connection resumed a TLS session: what the server saw, for the tests to compare
with what the client counted.
"""
import contextlib
import os
import shutil
import signal
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import s3servers  # noqa: E402

NGINX = shutil.which("nginx") or "/usr/sbin/nginx"

CONF = """daemon off;
master_process on;
worker_processes {workers};
pid {d}/nginx.pid;
error_log {d}/error.log warn;
events {{ worker_connections 4096; }}
http {{
    # one line per request: which TLS connection, resumed or not ("r"), the cipher, the client
    log_format tls '$connection $connection_requests $ssl_session_reused $ssl_protocol '
                   '$ssl_cipher $status $request_method "$http_user_agent"';
    access_log {access};
    client_body_temp_path {d}/body;
    proxy_temp_path {d}/proxy;
    fastcgi_temp_path {d}/fastcgi;
    uwsgi_temp_path {d}/uwsgi;
    scgi_temp_path {d}/scgi;
    upstream s3 {{
        server 127.0.0.1:{upstream};
        keepalive 256;
        keepalive_requests 100000;
        keepalive_timeout 300s;
    }}
    server {{
        listen 127.0.0.1:{port} ssl;
        server_name localhost;
        ssl_certificate {cert};
        ssl_certificate_key {key};
        ssl_protocols TLSv1.2 TLSv1.3;
        ssl_session_cache shared:tls:10m;
        ssl_session_timeout 1h;
        ssl_session_tickets on;
        keepalive_requests 100000;
        keepalive_timeout 300s;
        client_max_body_size 0;
        client_body_timeout 600s;
        send_timeout 600s;
        ignore_invalid_headers off;
        underscores_in_headers on;
        location / {{
            proxy_pass http://s3;
            proxy_http_version 1.1;
            proxy_set_header Connection "";
            proxy_set_header Host $http_host;
            proxy_request_buffering off;
            proxy_buffering off;
            proxy_max_temp_file_size 0;
            proxy_connect_timeout 60s;
            proxy_read_timeout 600s;
            proxy_send_timeout 600s;
        }}
    }}
}}
"""


class CA:
    """A CA (ca.pem) and a server certificate it signed for 127.0.0.1 and localhost."""

    def __init__(self, d):
        self.dir, self.ca_file = d, os.path.join(d, "ca.pem")
        self.cert, self.key = os.path.join(d, "server.pem"), os.path.join(d, "server.key")


def _openssl(*args, cwd):
    subprocess.run(["openssl"] + list(args), cwd=cwd, check=True, stdout=subprocess.DEVNULL,
                   stderr=subprocess.PIPE, timeout=60)


def make_ca(workdir, name="ca"):
    """Make a fresh CA and server certificate in workdir/name (RSA 2048, like most endpoints)."""
    d = os.path.join(workdir, name)
    os.makedirs(d, exist_ok=True)
    ca = CA(d)
    if os.path.exists(ca.cert):
        return ca
    _openssl("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", "ca.key", "-out",
             "ca.pem", "-days", "30", "-subj", "/CN=s3mirror test CA " + name,
             "-addext", "basicConstraints=critical,CA:TRUE",
             "-addext", "keyUsage=critical,keyCertSign,cRLSign", cwd=d)
    _openssl("req", "-newkey", "rsa:2048", "-nodes", "-keyout", "server.key", "-out",
             "server.csr", "-subj", "/CN=localhost", cwd=d)
    with open(os.path.join(d, "ext.cnf"), "w") as f:
        f.write("subjectAltName=IP:127.0.0.1,DNS:localhost\nbasicConstraints=CA:FALSE\n"
                "keyUsage=critical,digitalSignature,keyEncipherment\n"
                "extendedKeyUsage=serverAuth\n")
    _openssl("x509", "-req", "-in", "server.csr", "-CA", "ca.pem", "-CAkey", "ca.key",
             "-CAcreateserial", "-out", "server.pem", "-days", "30", "-extfile", "ext.cnf",
             cwd=d)
    return ca


class Front:
    """One nginx terminating TLS on a free 127.0.0.1 port in front of upstream_port."""

    def __init__(self, upstream_port, workdir, ca=None, workers=1, access_log=True):
        self.upstream, self.workers, self.access_log = upstream_port, workers, access_log
        self.ca = ca or make_ca(workdir)
        self.port = s3servers.free_port()
        self.dir = os.path.join(workdir, "tlsfront-%d" % self.port)
        self.endpoint = "https://127.0.0.1:%d" % self.port
        self.ca_file = self.ca.ca_file
        self.proc = None

    def start(self):
        os.makedirs(self.dir, exist_ok=True)
        conf = os.path.join(self.dir, "nginx.conf")
        with open(conf, "w") as f:
            f.write(CONF.format(d=self.dir, workers=self.workers, upstream=self.upstream,
                                port=self.port, cert=self.ca.cert, key=self.ca.key,
                                access=self.log_path() + " tls" if self.access_log else "off"))
        self.log = open(os.path.join(self.dir, "stderr.log"), "wb")
        self.proc = subprocess.Popen([NGINX, "-p", self.dir, "-c", conf, "-e",
                                      os.path.join(self.dir, "error.log")],
                                     stdout=self.log, stderr=subprocess.STDOUT,
                                     start_new_session=True)
        try:
            s3servers.wait_port(self.port, 30, self.proc)
        except RuntimeError as e:
            self.stop()
            raise RuntimeError("nginx: %s; see %s/error.log" % (e, self.dir)) from None
        return self.endpoint

    def log_path(self):
        return os.path.join(self.dir, "access.log")

    def log_offset(self):
        """where the access log ends now: give it to connections() to see what came after"""
        p = self.log_path()
        return os.path.getsize(p) if os.path.exists(p) else 0

    def connections(self, since=0, agent="s3mirror"):
        """{connection number: (requests, resumed, protocol, cipher)} of the requests logged
        after offset since whose User-Agent starts with agent (nginx writes each line as the
        request ends, unbuffered)."""
        out = {}
        with open(self.log_path(), "rb") as f:
            f.seek(since)
            for line in f.read().decode(errors="replace").splitlines():
                w = line.split(" ", 7)
                if len(w) == 8 and w[7].strip('"').startswith(agent):
                    n, resumed = out.get(w[0], (0, False))[:2]
                    out[w[0]] = (n + 1, resumed or w[2] == "r", w[3], w[4])
        return out

    def stop(self):
        """SIGQUIT (graceful) to our master by pid, SIGKILL to its group after 10 s."""
        p, self.proc = self.proc, None
        if p is None:
            return
        if p.poll() is None:
            p.send_signal(signal.SIGQUIT)
            try:
                p.wait(10)
            except subprocess.TimeoutExpired:
                os.killpg(p.pid, signal.SIGKILL)
                p.wait()
        self.log.close()

    def __enter__(self):
        self.start()
        return self

    def __exit__(self, *exc):
        self.stop()


@contextlib.contextmanager
def front(upstream_port, workdir, ca=None, workers=1, access_log=True):
    """with front(port, workdir) as (endpoint, ca_file): an https endpoint for the test."""
    with Front(upstream_port, workdir, ca, workers, access_log) as f:
        yield f.endpoint, f.ca_file


def port_of(endpoint):
    return int(endpoint.rsplit(":", 1)[1].split("/")[0])


class TLSSite(s3servers.Site):
    """An s3servers.Site reached through a Front: boto3 verifies against the front's CA."""

    def __init__(self, site, f):
        super().__init__(site.kind, site.name, f.endpoint, site.access_key, site.secret_key,
                         f.stop)
        self.plain, self.front, self.ca_file = site, f, f.ca_file

    def client(self):
        import boto3
        from botocore.config import Config
        kw = {}
        try:  # botocore >= 1.36 over https streams PUT bodies aws-chunked without a
            # Content-Length by default, which Debian's radosgw refuses (MissingContentLength)
            Config(request_checksum_calculation="when_required")
            kw["request_checksum_calculation"] = "when_required"
        except TypeError:
            pass
        return boto3.client(
            "s3", endpoint_url=self.endpoint, aws_access_key_id=self.access_key,
            aws_secret_access_key=self.secret_key, region_name="us-east-1", verify=self.ca_file,
            config=Config(s3={"addressing_style": "path"}, retries={"max_attempts": 3}, **kw))


def tls_site(site, workdir, ca=None, workers=1):
    """Start a Front before site (an s3servers.Site); return it as a TLSSite (stop() = front)."""
    f = Front(port_of(site.endpoint), workdir, ca, workers)
    f.start()
    return TLSSite(site, f)
