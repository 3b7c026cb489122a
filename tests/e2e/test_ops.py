"""Unattended operation: log file (JSON fields, SIGHUP reopen), --stats lines, the live progress
line on a terminal, and secrets that never reach any output."""
import json
import os
import pty
import select
import signal
import subprocess
import time

from e2e import BIN, conf_with, for_each_kind, snapshot, unique
from faultproxy import Proxy


@for_each_kind
class OpsTest:
    def setUp(self):
        self.sb = self.bucket(self.src, "src")
        self.db = self.bucket(self.dst, "dst")
        self.put_many(self.src, self.sb, ["o%02d" % i for i in range(6)] + ["bad"],
                      body=lambda k: k.encode() * 1000)
        self.proxy = Proxy(self.sto2.endpoint)
        self.fconf = conf_with(self.conf, "[flaky]\ntype = s3\nprovider = Other\naccess_key_id = %s\n"
                               "secret_access_key = %s\nendpoint = %s\n\n" % (
                                   self.sto2.access_key, self.sto2.secret_key, self.proxy.endpoint))

    def tearDown(self):
        self.proxy.stop()

    def popen(self, *args, **kw):
        return subprocess.Popen([BIN, "--config", self.fconf] + list(args), stdout=subprocess.PIPE,
                                stderr=subprocess.PIPE, text=True, **kw)

    def test_json_log_file_carries_key_bucket_remote_code_request_id(self):
        self.proxy.add("status", method="GET", path="/bad$", status=500)
        log = os.path.join(self.tmp, unique("s3mirror.log"))
        with open(log, "w") as f:
            f.write("earlier run\n")  # appended to, never truncated
        p = self.s3m("sync", "flaky:" + self.sb, "osl1:" + self.db, "--log-file", log,
                     "--log-format", "json", "-v", "--low-level-retries", "1", "--retries", "1",
                     conf=self.fconf, check=6)
        self.assertEqual(p.stderr, "")  # everything went to the file
        self.assertIn("errors 1", p.stdout)  # the summary still on stdout
        text = open(log).read()
        self.assertTrue(text.startswith("earlier run\n"))
        lines = [json.loads(l) for l in text.splitlines()[1:]]
        for l in lines:
            self.assertRegex(l["time"], r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$")
            self.assertIn(l["level"], ("ERROR", "WARN", "NOTICE", "INFO", "DEBUG"))
        err = [l for l in lines if l["level"] == "ERROR" and l.get("key") == "bad"]
        self.assertEqual(len(err), 1, lines)
        e = err[0]
        self.assertEqual((e["remote"], e["bucket"], e["code"], e["http_status"], e["request_id"]),
                         ("flaky", self.sb, "InternalError", 500, "fault"))
        self.assertIn("failed", e["msg"])
        summary = [l for l in lines if l["subsys"] == "summary"]
        self.assertEqual(len(summary), 1)
        self.assertIn("copied 6", summary[0]["msg"])
        self.assertTrue(any(l["msg"].endswith("start") for l in lines if l["level"] == "INFO"))

    def test_log_file_reopened_on_sighup(self):
        # one object hangs for 3 s: the run is alive when logrotate moves the file and signals
        self.proxy.add("stall", method="GET", path="/o03$", times=1, seconds=3)
        log = os.path.join(self.tmp, unique("s3mirror.log"))
        p = self.popen("sync", "flaky:" + self.sb, "osl1:" + self.db, "--log-file", log, "-vv",
                       "--timeout", "2", "--low-level-retries", "3")
        deadline = time.time() + 20
        while time.time() < deadline and not (os.path.exists(log) and "o00" in open(log).read()):
            time.sleep(0.05)
        os.rename(log, log + ".1")
        p.send_signal(signal.SIGHUP)
        out, err = p.communicate(timeout=60)
        self.assertEqual(p.returncode, 0, err)
        self.assertIn("copied 7", out)
        old, new = open(log + ".1").read(), open(log).read()
        self.assertIn("start", old)
        self.assertIn("summary", new)  # the rest went to the new file
        self.assertNotIn("summary", old)

    def test_stats_lines_off_a_terminal(self):
        self.proxy.add("stall", method="GET", path="/o03$", times=1, seconds=3)
        p = self.s3m("sync", "flaky:" + self.sb, "osl1:" + self.db, "--stats", "1s", "--timeout",
                     "2", conf=self.fconf, check=0)
        stats = [l for l in p.stderr.splitlines() if " stats: " in l]
        self.assertGreaterEqual(len(stats), 2, p.stderr)
        self.assertRegex(stats[-1], r"objects \d+ / \d+, in flight \d+, errors 0, deleted 0 / 0")
        self.assertNotIn("\r", p.stderr)  # no live line off a terminal
        self.assertRegex(p.stdout, r"copied 7 .*errors 0")
        # bad values are usage errors
        self.s3m("sync", "sto2:" + self.sb, "osl1:" + self.db, "--stats", "often", check=1)

    def test_live_progress_line_on_a_terminal(self):
        self.proxy.add("stall", method="GET", path="/o03$", times=1, seconds=2)
        master, slave = pty.openpty()
        p = subprocess.Popen([BIN, "--config", self.fconf, "sync", "flaky:" + self.sb,
                              "osl1:" + self.db, "--timeout", "1"], stdout=subprocess.PIPE,
                             stderr=slave, text=True)
        os.close(slave)
        seen = b""
        while True:
            r, _, _ = select.select([master], [], [], 30)
            if not r:
                break
            try:
                chunk = os.read(master, 4096)
            except OSError:
                break
            if not chunk:
                break
            seen += chunk
        out = p.communicate(timeout=30)[0]
        os.close(master)
        self.assertEqual(p.returncode, 0, seen)
        text = seen.decode()
        self.assertIn("\r\x1b[K", text)
        self.assertRegex(text, r"B / [\d.]+ \w*B\+?( \(\d+%\))?, [\d.]+ \w*B/s, ETA \S+; objects \d+ / \d+")
        self.assertTrue(text.endswith("\r\x1b[K") or "\r\x1b[K" in text[-40:])  # erased at the end
        self.assertIn("copied 7", out)
        # --no-progress: nothing but log lines
        self.assertEqual(snapshot(self.dst, self.db).keys(), snapshot(self.src, self.sb).keys())

    def test_secrets_never_in_any_output(self):
        secret = self.sto2.secret_key
        dsecret = self.osl1.secret_key
        env_secret = "envsecret-Zq9wX7"
        bad = conf_with(self.conf, "[envrem]\ntype = s3\naccess_key_id = AKIAENV\n"
                        "secret_access_key = ${S3M_TEST_SECRET}\nendpoint = %s\n\n"
                        "[unset]\ntype = s3\naccess_key_id = A\nsecret_access_key = ${S3M_NOPE_UNSET}\n"
                        "endpoint = %s\n\n" % (self.sto2.endpoint, self.sto2.endpoint))
        log = os.path.join(self.tmp, unique("secret.log"))
        runs = [
            (["sync", "sto2:" + self.sb, "osl1:" + self.db, "-vv"], None),
            (["sync", "sto2:" + self.sb, "osl1:" + self.db, "-vv", "--log-format", "json",
              "--log-file", log, "--dry-run"], None),
            (["ls", "sto2bad:" + self.sb, "-vv"], None),             # wrong secret
            (["ls", "envrem:" + self.sb, "-vv"], {"S3M_TEST_SECRET": env_secret}),
            (["ls", "unset:" + self.sb, "-vv"], None),               # unset ${VAR}
            (["ls", "down:x", "-vv", "--low-level-retries", "1"], None),  # refused connection
            (["sync", "flaky:" + self.sb, "osl1:" + self.db, "-vv", "--low-level-retries", "1",
              "--retries", "1"], None),                           # a failing object
        ]
        self.proxy.add("status", method="GET", path="/bad$", status=500)
        outputs = []
        for args, env in runs:
            p = self.s3m(*args, env=env, conf=bad if "envrem:" in " ".join(args) or "unset:" in
                         " ".join(args) else self.fconf)
            outputs.append(p.stdout + p.stderr)
        outputs.append(open(log).read())
        joined = "\n".join(outputs)
        self.assertIn("S3M_NOPE_UNSET", joined)  # the errors did happen and were reported
        if self.kind != "moto":  # moto does not verify signatures
            self.assertIn("SignatureDoesNotMatch", joined)
        for s in (secret, dsecret, env_secret, "WRONG" + secret[5:]):
            self.assertNotIn(s, joined)


@for_each_kind
class DeployTest:
    def test_rendered_cronjob_runs_as_written(self):
        """deploy/kubernetes/render.sh: the Secret and the CronJob's command line, run here as the
        pod would run them (env from the Secret, config from the Secret's rclone.conf, $(VAR) in
        args expanded from that env as Kubernetes does); the --notify-url's key, a ${VAR} of
        the render, stays in the Secret and the pings reach the bucket's check."""
        import base64
        import re
        import yaml
        from e2e import ROOT
        from test_push import receiver
        sb = self.bucket(self.src, "deploy")
        self.dst.create_bucket(Bucket=sb)
        self.put_many(self.src, sb, ["a", "b/c"])
        self.put_many(self.dst, sb, ["stale"])
        tmpl = os.path.join(self.tmp, unique("template.conf"))
        with open(tmpl, "w") as f:
            for site, name in ((self.sto2, "STO2"), (self.osl1, "OSL1")):
                f.write("[%s]\ntype = s3\nprovider = Other\naccess_key_id = ${%s_ACCESS_KEY_ID}\n"
                        "secret_access_key = ${%s_SECRET_ACCESS_KEY_ID}\nendpoint = %s\n\n" % (
                            name.lower(), name, name, site.endpoint))
        creds = {"STO2_ACCESS_KEY_ID": self.sto2.access_key,
                 "STO2_SECRET_ACCESS_KEY_ID": self.sto2.secret_key,
                 "OSL1_ACCESS_KEY_ID": self.osl1.access_key,
                 "OSL1_SECRET_ACCESS_KEY_ID": self.osl1.secret_key}
        creds["HC_KEY"] = "hc-key-" + unique("k")
        srv, base = receiver(self, "")
        notify = ["--notify-url", base.rsplit("/ping/", 1)[0] + "/${HC_KEY}/s3m-{bucket}"]
        render = os.path.join(ROOT, "deploy", "kubernetes", "render.sh")

        def run(*args, **kw):
            return subprocess.run([render, "--config", tmpl] + notify + list(args), check=True,
                                  capture_output=True, text=True, **kw).stdout

        def kube_expand(arg, env):  # $(VAR) from the container's env, $$ a literal $
            return re.sub(r"\$\$|\$\(([A-Za-z_][A-Za-z0-9_]*)\)",
                          lambda m: "$" if m.group(0) == "$$" else env.get(m.group(1), m.group(0)),
                          arg)

        secret = yaml.safe_load(run("secret", env=dict(os.environ, **creds)))
        data = {k: base64.b64decode(v).decode() for k, v in secret["data"].items()}
        conf = os.path.join(self.tmp, unique("mounted.conf"))
        with open(conf, "w") as f:
            f.write(data.pop("rclone.conf"))
        for variant in ("--dry-run", None):
            text = run(*([variant] if variant else []), "cronjobs", sb)
            self.assertNotIn(creds["HC_KEY"], text)
            cj = yaml.safe_load(text)
            c = cj["spec"]["jobTemplate"]["spec"]["template"]["spec"]["containers"][0]
            env = {e["name"]: data[e["valueFrom"]["secretKeyRef"]["key"]] for e in c["env"]}
            args = [conf if a == "/etc/s3mirror/rclone.conf" else kube_expand(a, env)
                    for a in c["args"]]
            p = subprocess.run([BIN] + args, capture_output=True, text=True, timeout=120,
                               env=dict({k: v for k, v in os.environ.items()
                                         if not k.startswith(("STO2_", "OSL1_"))}, **env))
            self.assertEqual(p.returncode, 0, p.stderr)
            if variant:
                self.assertIn("would be deleted 1", p.stdout)
                self.assertEqual(sorted(snapshot(self.dst, sb)), ["stale"])
        self.assertEqual(sorted(snapshot(self.dst, sb)), ["a", "b/c"])
        self.assertEqual([path for _, path, _ in srv.got],  # the dry run pinged nothing
                         ["/%s/s3m-%s/start" % (creds["HC_KEY"], sb),
                          "/%s/s3m-%s" % (creds["HC_KEY"], sb)])

        # the Indexed Job of a sharded sync: its pods' command lines, index by index, with the
        # shard plan from the rendered ConfigMap
        self.put_many(self.src, sb, ["d%02d/x" % i for i in range(20)])
        self.put_many(self.dst, sb, ["d05/old", "zz-old"])
        direct = conf_with(self.conf, "")
        planf = os.path.join(self.tmp, unique("plan"))
        self.s3m("shard-plan", "sto2:" + sb, "3", "-o", planf, conf=direct, check=0)
        cm, job = yaml.safe_load_all(run("sharded", sb, "3", planf))
        mounted = os.path.join(self.tmp, unique("mounted-plan"))
        with open(mounted, "w") as f:
            f.write(cm["data"]["plan"])
        c = job["spec"]["template"]["spec"]["containers"][0]
        env = {e["name"]: data[e["valueFrom"]["secretKeyRef"]["key"]] for e in c["env"]
               if "secretKeyRef" in e["valueFrom"]}
        for index in range(job["spec"]["completions"]):
            args = [conf if a == "/etc/s3mirror/rclone.conf" else
                    mounted if a == "/etc/s3mirror-shards/plan" else
                    kube_expand(a, dict(env, SHARD_INDEX=str(index))) for a in c["args"]]
            p = subprocess.run([BIN] + args, capture_output=True, text=True, timeout=120,
                               env=dict(os.environ, **env))
            self.assertEqual(p.returncode, 0, p.stderr)
        self.assertEqual(snapshot(self.dst, sb), snapshot(self.src, sb))
