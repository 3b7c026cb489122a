"""--metrics-push against the real Prometheus Pushgateway (Debian's prometheus-pushgateway,
started here on loopback without persistence) and --notify-url against a small local receiver:
the series and grouping labels the gateway holds after a run, a second run replacing the group,
a failed run's outcome, dry runs pushing nothing, and failures that never change the exit code."""
import http.server
import json
import os
import shutil
import subprocess
import threading
import time
import urllib.request

from e2e import ROOT, for_each_kind, snapshot
import s3servers

GATEWAY_BIN = shutil.which("prometheus-pushgateway") or shutil.which("pushgateway")
_gw = {}  # "proc", "url": one gateway for the module, started on first use


def gateway():
    """The base URL of the module's Pushgateway (started at the first call)."""
    if "url" in _gw:
        return _gw["url"]
    port = s3servers.free_port()
    log = open(os.path.join(ROOT, "build", "pushgateway-e2e.log"), "w")
    # no persistence: Debian's default is a file under /var/lib/prometheus
    _gw["proc"] = subprocess.Popen([GATEWAY_BIN, "--web.listen-address=127.0.0.1:%d" % port,
                                    "--persistence.file="], stdout=log, stderr=subprocess.STDOUT)
    _gw["url"] = "http://127.0.0.1:%d" % port
    end = time.time() + 30
    while time.time() < end:
        try:
            urllib.request.urlopen(_gw["url"] + "/-/ready", timeout=2).read()
            return _gw["url"]
        except OSError:
            if _gw["proc"].poll() is not None:
                raise RuntimeError("pushgateway exited at start: see build/pushgateway-e2e.log")
            time.sleep(0.1)
    raise RuntimeError("pushgateway not ready in 30 s")


def tearDownModule():
    p = _gw.get("proc")
    if p:
        p.terminate()  # by its pid: the one we started
        try:
            p.wait(10)
        except subprocess.TimeoutExpired:
            p.kill()
            p.wait()


def groups():
    """{frozenset(grouping labels): {metric name: {frozenset(series labels): value}}}"""
    with urllib.request.urlopen(gateway() + "/api/v1/metrics", timeout=10) as r:
        data = json.load(r)["data"]
    out = {}
    for g in data:
        fams = {}
        for name, fam in g.items():
            if isinstance(fam, dict) and "metrics" in fam:
                fams[name] = {frozenset(m["labels"].items()): float(m["value"])
                              for m in fam["metrics"]}
        out[frozenset(g["labels"].items())] = fams
    return out


class Receiver(http.server.BaseHTTPRequestHandler):
    """Records (method, path, body) of each request; answers 200 (or the server's .status). A
    /start ping sets the server's .started and, when it has .release, waits for that first."""

    def do_POST(self):
        body = self.rfile.read(int(self.headers.get("Content-Length") or 0)).decode()
        self.server.got.append((self.command, self.path, body))
        if self.path.endswith("/start"):
            self.server.started.set()
            if self.server.release:
                self.server.release.wait(30)
        self.send_response(self.server.status)
        self.send_header("Content-Length", "2")
        self.end_headers()
        self.wfile.write(b"OK")

    def log_message(self, *args):
        pass


def receiver(test, uuid, status=200, hold_start=False):
    """A ping receiver on loopback for test's duration: (server, its URL /ping/uuid). With
    hold_start, a /start ping is answered once the server's .release is set."""
    srv = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Receiver)
    srv.got, srv.status, srv.started = [], status, threading.Event()
    srv.release = threading.Event() if hold_start else None
    srv.daemon_threads = True
    threading.Thread(target=srv.serve_forever, daemon=True).start()
    test.addCleanup(srv.server_close)
    test.addCleanup(srv.shutdown)
    if hold_start:
        test.addCleanup(srv.release.set)
    return srv, "http://127.0.0.1:%d/ping/%s" % (srv.server_address[1], uuid)


@for_each_kind
class PushTest:
    def setUp(self):
        if not GATEWAY_BIN:
            self.skipTest("prometheus-pushgateway not installed (make deps installs it)")
        self.sb = self.bucket(self.src, "src")
        self.db = self.bucket(self.dst, "dst")
        self.key = frozenset({"job": "s3mirror", "src": "sto2:" + self.sb,
                              "dst": "osl1:" + self.db}.items())

    def sync(self, *extra, check=0, conf=None, dst=None):
        return self.s3m("sync", "sto2:" + self.sb, dst or "osl1:" + self.db, *extra,
                        check=check, conf=conf)

    def bad_dst_conf(self, remote):
        """A config whose remote `remote` is the destination gone wrong: a wrong secret (Ceph),
        or nothing listening at its endpoint (moto verifies no signature)."""
        if self.kind == "ceph":
            extra = self.osl1.remote_conf(remote, secret="WRONG" + self.osl1.secret_key[5:])
        else:
            extra = ("[%s]\ntype = s3\naccess_key_id = A\nsecret_access_key = B\n"
                     "endpoint = http://127.0.0.1:%d\n\n" % (remote, s3servers.free_port()))
        path = os.path.join(self.tmp, "bad-%s-%d.conf" % (remote, len(os.listdir(self.tmp))))
        with open(path, "w") as f:
            f.write(self.sto2.remote_conf() + extra)
        return path

    def value(self, fams, name, **labels):
        """The one series of metric name in fams whose labels include labels."""
        hits = [v for k, v in fams[name].items() if set(labels.items()) <= set(k)]
        self.assertEqual(len(hits), 1, "%s%s in %s" % (name, labels, fams.get(name)))
        return hits[0]

    def test_push_grouping_and_replace(self):
        self.put_many(self.src, self.sb, ["a", "b/c", "d"], body=lambda k: b"x" * 1000)
        self.sync("--dry-run", "--metrics-push", gateway())
        self.assertNotIn(self.key, groups())  # a dry run pushes nothing
        self.sync("--metrics-push", gateway())
        fams = groups()[self.key]
        self.assertEqual(self.value(fams, "s3mirror_last_run_exit_code"), 0)
        self.assertEqual(self.value(fams, "s3mirror_last_run_objects", action="copy"), 3)
        self.assertEqual(self.value(fams, "s3mirror_last_run_bytes", action="copy"), 3000)
        self.assertEqual(self.value(fams, "s3mirror_last_run_errors"), 0)
        first_ok = self.value(fams, "s3mirror_last_success_timestamp_seconds")
        self.assertGreater(first_ok, time.time() - 300)
        # the series carry the grouping labels (job, src, dst), nothing of another group
        for k in fams["s3mirror_last_run_exit_code"]:
            self.assertEqual(dict(k)["src"], "sto2:" + self.sb)
        # a series the next run does not send: the next successful run's PUT drops it
        url = (gateway() + "/metrics/job/s3mirror/src@base64/%s/dst@base64/%s" % (
            b64("sto2:" + self.sb), b64("osl1:" + self.db)))
        req = urllib.request.Request(url, data=b"s3mirror_stale_series 1\n", method="POST")
        urllib.request.urlopen(req, timeout=10).read()
        self.assertIn("s3mirror_stale_series", groups()[self.key])
        # another job (other destination) gets its own group: neither overwrites the other
        other = self.bucket(self.dst, "other")
        self.sync("--metrics-push", gateway(), dst="osl1:" + other)
        okey = frozenset({"job": "s3mirror", "src": "sto2:" + self.sb,
                          "dst": "osl1:" + other}.items())
        self.assertEqual(self.value(groups()[okey], "s3mirror_last_run_objects", action="copy"), 3)
        self.src.put_object(Bucket=self.sb, Key="e", Body=b"y" * 10)
        self.sync("--metrics-push", gateway() + "/")
        g = groups()
        fams = g[self.key]
        self.assertNotIn("s3mirror_stale_series", fams)
        self.assertEqual(self.value(fams, "s3mirror_last_run_objects", action="copy"), 1)
        self.assertEqual(self.value(fams, "s3mirror_last_run_bytes", action="copy"), 10)
        self.assertEqual(self.value(fams, "s3mirror_last_run_objects", action="skip"), 3)
        self.assertGreaterEqual(self.value(fams, "s3mirror_last_success_timestamp_seconds"),
                                first_ok)
        self.assertEqual(self.value(g[okey], "s3mirror_last_run_objects", action="copy"), 3)

    def test_apply_pushes_as_a_real_run(self):
        # a reviewed plan's run (apply) pushes like the sync it is; the options are runtime-only
        self.put_many(self.src, self.sb, ["a", "b"])
        plan = os.path.join(self.tmp, "plan-%s.jsonl" % self.sb)
        self.sync("--dry-run", "--plan", plan)
        self.s3m("apply", plan, "--metrics-push", gateway(), check=0)
        fams = groups()[self.key]
        self.assertEqual(self.value(fams, "s3mirror_last_run_objects", action="copy"), 2)

    def test_shards_keep_their_own_groups(self):
        # the pods of a sharded Job: one group per shard, none overwrites another
        keys = ["k%02d" % i for i in range(20)]
        self.put_many(self.src, self.sb, keys)
        for i in range(2):
            self.sync("--shard", "%d/2" % i, "--metrics-push", gateway())
        g = groups()
        copied = [self.value(g[self.key | {("shard", "%d/2" % i)}], "s3mirror_last_run_objects",
                             action="copy") for i in range(2)]
        self.assertEqual(sum(copied), len(keys))
        self.assertTrue(all(copied), copied)
        self.assertNotIn(self.key, g)

    def test_nothing_to_do_is_a_success(self):
        # --error-on-no-transfer's exit 9 is a good night: it pings success, so the metrics must
        # say success too (outcome, the last success's time, a PUT), or the stale alert would
        # fire on a bucket that rarely changes
        self.put_many(self.src, self.sb, ["a", "b"])
        prom = os.path.join(self.tmp, "m-%s.prom" % self.sb)
        self.sync("--metrics-push", gateway(), "--metrics-file", prom)
        first_ok = self.value(groups()[self.key], "s3mirror_last_success_timestamp_seconds")
        url = (gateway() + "/metrics/job/s3mirror/src@base64/%s/dst@base64/%s" % (
            b64("sto2:" + self.sb), b64("osl1:" + self.db)))
        req = urllib.request.Request(url, data=b"s3mirror_stale_series 1\n", method="POST")
        urllib.request.urlopen(req, timeout=10).read()
        time.sleep(1.1)
        self.sync("--metrics-push", gateway(), "--metrics-file", prom, "--error-on-no-transfer",
                  check=9)
        fams = groups()[self.key]
        self.assertEqual(self.value(fams, "s3mirror_last_run_exit_code"), 9)
        self.assertEqual(self.value(fams, "s3mirror_last_run_outcome", outcome="success"), 1)
        self.assertEqual(self.value(fams, "s3mirror_last_run_outcome", outcome="failed"), 0)
        self.assertGreater(self.value(fams, "s3mirror_last_success_timestamp_seconds"), first_ok)
        self.assertNotIn("s3mirror_stale_series", fams)  # a success PUTs its group whole
        text = open(prom).read()
        self.assertIn("s3mirror_last_run_exit_code{", text)
        self.assertRegex(text, r'outcome="success"\} 1')
        end = float(text.split("s3mirror_last_run_end_timestamp_seconds{")[1].split("} ")[1].split()[0])
        ok = float(text.split("s3mirror_last_success_timestamp_seconds{")[1].split("} ")[1].split()[0])
        self.assertEqual(ok, end)  # this run's end, not the first run's carried over

    def test_unwritable_metrics_file_fails_a_success(self):
        """a run that succeeded but could not write its --metrics-file exits 2 and pings /fail,
        exit 9 as exit 0; the gateway gets that exit code and its outcome (failed), so an alert
        on the outcome sees it (review of 9d42363)"""
        self.put_many(self.src, self.sb, ["a"])
        self.sync()
        bad = os.path.join(self.tmp, "no-such-dir", "m.prom")
        srv, url = self.receiver()
        for extra in ([], ["--error-on-no-transfer"]):
            del srv.got[:]
            p = self.sync("--metrics-file", bad, "--notify-url", url, "--metrics-push", gateway(),
                          *extra, check=2)
            self.assertIn("cannot write metrics file", p.stderr)
            self.assertEqual(srv.got[-1][1], "/ping/abc-123/fail")
            fams = groups()[self.key]
            self.assertEqual(self.value(fams, "s3mirror_last_run_exit_code"), 2)
            self.assertEqual(self.value(fams, "s3mirror_last_run_outcome", outcome="failed"), 1)
            self.assertEqual(self.value(fams, "s3mirror_last_run_outcome", outcome="success"), 0)

    def test_failed_sync_pushes_its_outcome(self):
        self.put_many(self.src, self.sb, ["a", "b"])
        self.sync("--metrics-push", gateway())
        first_ok = self.value(groups()[self.key], "s3mirror_last_success_timestamp_seconds")
        self.src.put_object(Bucket=self.sb, Key="c", Body=b"c")
        # the same job (same names) with a wrong secret for the destination
        bad, fast = self.bad_dst_conf("osl1"), ["--low-level-retries", "1", "--retries", "1"]
        plain = self.sync(*fast, check=None, conf=bad)
        self.assertNotEqual(plain.returncode, 0)
        p = self.sync("--metrics-push", gateway(), *fast, check=plain.returncode, conf=bad)
        self.assertNotIn("--metrics-push", p.stderr)  # the push itself went through
        fams = groups()[self.key]
        self.assertEqual(self.value(fams, "s3mirror_last_run_exit_code"), plain.returncode)
        self.assertGreaterEqual(self.value(fams, "s3mirror_last_run_errors"), 1)
        self.assertEqual(self.value(fams, "s3mirror_last_run_objects", action="copy"), 0)
        # the gateway keeps the last success of the job (a failed run POSTs without it)
        self.assertEqual(self.value(fams, "s3mirror_last_success_timestamp_seconds"), first_ok)

    def test_unreachable_gateway_is_a_warning(self):
        self.put_many(self.src, self.sb, ["a"])
        down = "http://127.0.0.1:%d" % s3servers.free_port()
        t0 = time.time()
        p = self.sync("--metrics-push", down, check=0)
        self.assertIn("--metrics-push to %s failed" % down, p.stderr)
        self.assertLess(time.time() - t0, 30)
        self.assertEqual(set(snapshot(self.dst, self.db)), {"a"})
        # a gateway that refuses the push (a path it has no handler for): a warning, exit 0
        p = self.sync("--metrics-push", gateway() + "/nothing-here", check=0)
        self.assertIn("--metrics-push to %s refused: HTTP 404" % gateway(), p.stderr)
        # a URL that is none: a usage error before anything runs
        p = self.sync("--metrics-push", "pushgateway:9091", check=1)
        self.assertIn("is not an http:// or https:// URL", p.stderr)

    def receiver(self, status=200):
        return receiver(self, "abc-123", status)

    def test_notify_pings(self):
        self.put_many(self.src, self.sb, ["a", "b"])
        srv, url = self.receiver()
        self.sync("--notify-url", url, "--dry-run")
        self.assertEqual(srv.got, [])  # a dry run pings nothing
        # check finding differences (exit 10) is a failure
        self.s3m("check", "sto2:" + self.sb, "osl1:" + self.db, "--notify-url", url, check=10)
        self.assertEqual([path for _, path, _ in srv.got], ["/ping/abc-123/start",
                                                             "/ping/abc-123/fail"])
        del srv.got[:]
        p = self.sync("--notify-url", url)
        self.assertEqual([(m, path) for m, path, _ in srv.got],
                         [("POST", "/ping/abc-123/start"), ("POST", "/ping/abc-123")])
        self.assertIn("sto2:%s osl1:%s: started" % (self.sb, self.db), srv.got[0][2])
        summary = [ln for ln in p.stdout.splitlines() if ln.startswith("sync ")]
        self.assertEqual(len(summary), 1, p.stdout)
        self.assertEqual(srv.got[1][2], summary[0] + "\nexit code 0\n")
        self.assertIn("copied 2", srv.got[1][2])
        # nothing to do under --error-on-no-transfer (exit 9) is a success too
        del srv.got[:]
        self.sync("--notify-url", url, "--error-on-no-transfer", check=9)
        self.assertEqual([path for _, path, _ in srv.got], ["/ping/abc-123/start", "/ping/abc-123"])
        self.assertIn("exit code 9", srv.got[1][2])
        # a failing sync pings /fail with its exit code
        del srv.got[:]
        self.src.put_object(Bucket=self.sb, Key="c", Body=b"c")
        p = self.sync("--notify-url", url, "--low-level-retries", "1", "--retries", "1",
                      check=None, conf=self.bad_dst_conf("osl1bad"), dst="osl1bad:" + self.db)
        self.assertNotEqual(p.returncode, 0)
        self.assertEqual([path for _, path, _ in srv.got],
                         ["/ping/abc-123/start", "/ping/abc-123/fail"])
        self.assertIn("exit code %d" % p.returncode, srv.got[1][2])

    def test_notify_failures_keep_the_exit_code(self):
        self.put_many(self.src, self.sb, ["a"])
        down = "http://127.0.0.1:%d/ping/x" % s3servers.free_port()
        p = self.sync("--notify-url", down, check=0)
        self.assertIn("start ping to http://127.0.0.1", p.stderr)
        self.assertIn("success ping to http://127.0.0.1", p.stderr)
        self.assertNotIn("/ping/x", p.stderr)  # the check's path (its UUID) is never logged
        srv, url = self.receiver(status=500)
        p = self.sync("--notify-url", url, check=0)
        self.assertIn("refused: HTTP 500", p.stderr)
        self.assertEqual(len(srv.got), 2)


def b64(s):
    import base64
    return base64.urlsafe_b64encode(s.encode()).decode()
