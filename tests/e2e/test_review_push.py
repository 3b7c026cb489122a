"""Review of --metrics-push and --notify-url: what the man page and docs/running-nightly.md
promise, tried against a local receiver and Debian's real prometheus-pushgateway (the one
test_push.py starts): secrets of a URL kept out of stderr, a stop by SIGTERM while a ping waits,
a run turned away by the lock, a metrics file that cannot be written."""
import os
import signal
import socket
import subprocess
import time

from e2e import BIN, for_each_kind
from test_push import gateway, groups, receiver, GATEWAY_BIN
import test_push


def setUpModule():
    p = test_push._gw.get("proc")
    if p is not None and p.poll() is not None:  # test_push's, stopped at its module's end
        test_push._gw.clear()


def tearDownModule():
    test_push.tearDownModule()  # the gateway this module may have started
    test_push._gw.clear()


@for_each_kind
class ReviewPushTest:
    def setUp(self):
        if not GATEWAY_BIN:
            self.skipTest("prometheus-pushgateway not installed (make deps installs it)")
        self.sb = self.bucket(self.src, "src")
        self.db = self.bucket(self.dst, "dst")

    def receiver(self):
        return receiver(self, "SECRET-UUID-42", hold_start=True)

    def popen(self, *args):
        return subprocess.Popen([BIN, "--config", self.conf] + list(args), stdout=subprocess.PIPE,
                                stderr=subprocess.PIPE, text=True)

    def test_review_url_secrets_stay_out_of_usage_errors(self):
        # "the log names only the host: a check's URL is its secret" -- a URL refused for its
        # query or fragment must not be echoed whole to stderr (a CronJob's log)
        for opt, url in (("--metrics-push", "http://user:s3cr3t-pw@127.0.0.1:9091/?x=1"),
                         ("--notify-url", "https://hc-ping.example/SECRET-UUID-42?create=1"),
                         ("--notify-url", "https://user:s3cr3t-pw@hc.example/p#frag")):
            p = self.s3m("sync", "sto2:" + self.sb, "osl1:" + self.db, opt, url, check=1)
            self.assertIn(opt, p.stderr)
            self.assertNotIn("s3cr3t-pw", p.stderr)
            self.assertNotIn("SECRET-UUID-42", p.stderr)

    def test_review_sigterm_during_start_ping_pings_fail(self):
        # docs: "a stop by SIGTERM (143)" pings /fail. A SIGTERM that comes while the /start
        # ping waits (up to 10 s) must stop the run like any other: exit 143, /fail pinged,
        # the outcome pushed -- not a death by the signal with nothing told
        self.put_many(self.src, self.sb, ["a", "b"])
        srv, url = self.receiver()
        p = self.popen("sync", "sto2:" + self.sb, "osl1:" + self.db, "--notify-url", url,
                       "--metrics-push", gateway())
        try:
            self.assertTrue(srv.started.wait(30), "no /start ping")
            p.send_signal(signal.SIGTERM)
            time.sleep(0.5)
            srv.release.set()
            out, err = p.communicate(timeout=60)
        finally:
            if p.poll() is None:
                p.kill()
                p.wait()
        self.assertEqual(p.returncode, 128 + signal.SIGTERM, err)
        paths = [path for _, path, _ in srv.got]
        self.assertEqual(paths, ["/ping/SECRET-UUID-42/start", "/ping/SECRET-UUID-42/fail"])
        self.assertIn("exit code 143", srv.got[-1][2])
        key = frozenset({"job": "s3mirror", "src": "sto2:" + self.sb,
                         "dst": "osl1:" + self.db}.items())
        self.assertIn(key, groups())

    def test_review_locked_run_pings_and_pushes_nothing(self):
        # held: exit 11 pings nothing and pushes nothing (the run holding the lock does)
        self.put_many(self.src, self.sb, ["a"])
        srv, url = self.receiver()
        first = self.popen("sync", "sto2:" + self.sb, "osl1:" + self.db, "--notify-url", url)
        try:
            self.assertTrue(srv.started.wait(30))
            p = self.s3m("sync", "sto2:" + self.sb, "osl1:" + self.db, "--notify-url", url,
                         "--metrics-push", gateway(), check=11)
            self.assertEqual([path for _, path, _ in srv.got], ["/ping/SECRET-UUID-42/start"])
            key = frozenset({"job": "s3mirror", "src": "sto2:" + self.sb,
                             "dst": "osl1:" + self.db}.items())
            self.assertNotIn(key, groups(), p.stderr)
            srv.release.set()
            first.communicate(timeout=60)
        finally:
            if first.poll() is None:
                first.kill()
                first.wait()
        self.assertEqual(first.returncode, 0)
        self.assertEqual([path for _, path, _ in srv.got][-1], "/ping/SECRET-UUID-42")

    def test_review_pushed_exit_code_is_the_runs(self):
        # a run whose --metrics-file cannot be written exits non-zero and pings /fail; the
        # gateway must not be told exit 0 (and PUT a last success) for that same run
        self.put_many(self.src, self.sb, ["a"])
        srv, url = self.receiver()
        srv.release.set()
        bad = os.path.join(self.tmp, "no-such-dir", "m.prom")
        p = self.s3m("sync", "sto2:" + self.sb, "osl1:" + self.db, "--metrics-file", bad,
                     "--metrics-push", gateway(), "--notify-url", url)
        self.assertNotEqual(p.returncode, 0)
        self.assertIn("exit code %d" % p.returncode, srv.got[-1][2])
        key = frozenset({"job": "s3mirror", "src": "sto2:" + self.sb,
                         "dst": "osl1:" + self.db}.items())
        fams = groups()[key]
        codes = list(fams["s3mirror_last_run_exit_code"].values())
        self.assertEqual(codes, [p.returncode])

    def hanging_gateway(self):
        """A base URL whose server takes connections and never answers."""
        s = socket.socket()
        s.bind(("127.0.0.1", 0))
        s.listen(16)
        self.addCleanup(s.close)
        return "http://127.0.0.1:%d" % s.getsockname()[1]

    def test_review_second_signal_exits_during_the_end_push(self):
        # man SIGNALS: "A second signal exits immediately." While the end push waits for a
        # gateway that never answers (10 s, then the ping's 10 s), two SIGTERMs must end it
        self.put_many(self.src, self.sb, ["a"])
        p = self.popen("sync", "sto2:" + self.sb, "osl1:" + self.db, "--metrics-push",
                       self.hanging_gateway(), "-v")
        try:
            end = time.time() + 60
            while time.time() < end and not self.dst.list_objects_v2(Bucket=self.db).get(
                    "KeyCount"):
                time.sleep(0.2)
            time.sleep(1.5)  # the copy is done: the run is in its end push
            p.send_signal(signal.SIGTERM)
            time.sleep(0.3)
            p.send_signal(signal.SIGTERM)
            t0 = time.time()
            p.communicate(timeout=60)
            waited = time.time() - t0
        finally:
            if p.poll() is None:
                p.kill()
                p.wait()
        self.assertLess(waited, 3, "a second SIGTERM waited %.1f s for the push" % waited)
        self.assertEqual(p.returncode, 128 + signal.SIGTERM)

    def test_review_option_usage_error_pings_nothing(self):
        # man --notify-url: a command line whose options cannot be read (exit 1) pings nothing
        # (its URL may be what is wrong); a usage error found once they were read pings /fail
        srv, url = self.receiver()
        srv.release.set()
        self.s3m("sync", "sto2:" + self.sb, "osl1:" + self.db, "--notify-url", url,
                 "--transfers", "many", check=1)
        self.assertEqual(srv.got, [])

    def test_review_check_does_not_replace_the_syncs_group(self):
        # "one group per job ... no run overwrites another job's series": a `check` of the same
        # pair (read-only, like a dry run, which pushes nothing) PUTs into the sync's group,
        # replacing its outcome (copied 0) and moving its last success to a run that synced
        # nothing
        self.put_many(self.src, self.sb, ["a", "b"])
        self.s3m("sync", "sto2:" + self.sb, "osl1:" + self.db, "--metrics-push", gateway(),
                 check=0)
        key = frozenset({"job": "s3mirror", "src": "sto2:" + self.sb,
                         "dst": "osl1:" + self.db}.items())
        before = groups()[key]
        time.sleep(1.1)
        self.s3m("check", "sto2:" + self.sb, "osl1:" + self.db, "--metrics-push", gateway(),
                 check=0)
        after = groups()[key]
        for name in ("s3mirror_last_run_objects", "s3mirror_last_success_timestamp_seconds"):
            self.assertEqual(after[name], before[name], name)
        mine = groups()[frozenset(dict(key, command="check").items())]
        self.assertIn("s3mirror_last_run_objects", mine)

    def test_review_malformed_url_is_a_usage_error(self):
        # bad input gets a clear error before the run: a URL curl cannot even parse (no host,
        # a port out of range, an unclosed IPv6 bracket) was taken, the night synced, and the
        # push or ping lost at its end with only a warning
        self.put_many(self.src, self.sb, ["a"])
        for opt in ("--metrics-push", "--notify-url"):
            for url in ("http://:9091", "http://pushgateway:99999", "http://[::1:9091"):
                p = self.s3m("sync", "sto2:" + self.sb, "osl1:" + self.db, opt, url)
                self.assertEqual(p.returncode, 1, "%s %s: %s" % (opt, url, p.stderr))
                self.assertIn(opt, p.stderr)
        self.assertEqual(self.dst.list_objects_v2(Bucket=self.db).get("KeyCount"), 0)
