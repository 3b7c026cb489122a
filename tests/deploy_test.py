#!/usr/bin/env python3
"""deploy/: the rendered Kubernetes manifests parse as YAML and say what the docs promise; the
systemd units pass systemd-analyze verify (where systemd is installed)."""
import base64
import os
import re
import shlex
import shutil
import subprocess
import tempfile
import unittest

import yaml

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
RENDER = os.path.join(ROOT, "deploy", "kubernetes", "render.sh")
SEED_BUCKETS = ["psql-tempus-safespring-ck8s", "influxdb-tempus-safespring-ck8s",
                "elasticsearch-tempus-safespring-ck8s", "velero-tempus-safespring-ck8s"]
CREDS = {"STO2_ACCESS_KEY_ID": "AKSTO2", "STO2_SECRET_ACCESS_KEY_ID": "sto2/secret+x",
         "OSL1_ACCESS_KEY_ID": "AKOSL1", "OSL1_SECRET_ACCESS_KEY_ID": "osl1-secret"}


def render(*args, env=None, check=True):
    p = subprocess.run([RENDER] + list(args), capture_output=True, text=True,
                       env=dict({k: v for k, v in os.environ.items() if k not in CREDS}, **(env or {})))
    if check and p.returncode:
        raise AssertionError("render.sh %s: %s" % (" ".join(args), p.stderr))
    return p


def docs(*args, env=None):
    return list(yaml.safe_load_all(render(*args, env=env).stdout))


def kube_expand(arg, env):
    """Kubernetes' expansion of a container's command and args: $(VAR) from its env (left as
    written when VAR is not there), $$ a literal $, any other $ kept."""
    return re.sub(r"\$\$|\$\(([A-Za-z_][A-Za-z0-9_]*)\)",
                  lambda m: "$" if m.group(0) == "$$" else env.get(m.group(1), m.group(0)), arg)


def container(pod_spec):
    (c,) = pod_spec["containers"]
    return c


class Render(unittest.TestCase):
    def check_pod(self, spec, bucket, dry):
        self.assertEqual(spec["restartPolicy"], "Never")
        self.assertTrue(spec["securityContext"]["runAsNonRoot"])
        c = container(spec)
        a = c["args"]
        self.assertEqual(a[:5], ["sync", "sto2:" + bucket, "osl1:" + bucket, "--config",
                                 "/etc/s3mirror/rclone.conf"])
        self.assertEqual("--dry-run" in a, dry)
        # every ${VAR} of the config comes from the Secret, nothing else is in the env
        env = {e["name"]: e["valueFrom"]["secretKeyRef"] for e in c["env"] if "secretKeyRef" in e["valueFrom"]}
        self.assertEqual(sorted(env), sorted(CREDS))
        for k, ref in env.items():
            self.assertEqual((ref["name"], ref["key"]), ("s3mirror-config", k))
        mounts = {m["mountPath"]: m for m in c["volumeMounts"]}
        self.assertTrue(mounts["/etc/s3mirror"]["readOnly"])
        self.assertIn("/tmp", mounts)  # the delete list and the lock; the root fs is read-only
        self.assertTrue(c["securityContext"]["readOnlyRootFilesystem"])
        vols = {v["name"]: v for v in spec["volumes"]}
        self.assertEqual(vols["config"]["secret"]["secretName"], "s3mirror-config")
        self.assertGreaterEqual(spec["terminationGracePeriodSeconds"], 60)

    def test_cronjobs_one_per_seed_bucket(self):
        d = docs("cronjobs")
        self.assertEqual([x["metadata"]["name"] for x in d], ["sync-" + b for b in SEED_BUCKETS])
        for x, b in zip(d, SEED_BUCKETS):
            self.assertEqual((x["apiVersion"], x["kind"]), ("batch/v1", "CronJob"))
            self.assertEqual(x["metadata"]["namespace"], "kube-system")
            s = x["spec"]
            self.assertEqual((s["schedule"], s["timeZone"], s["concurrencyPolicy"]),
                             ("0 5 * * *", "Etc/UTC", "Forbid"))
            self.check_pod(s["jobTemplate"]["spec"]["template"]["spec"], b, dry=False)

    def test_options_and_dry_run_variant(self):
        d = docs("--dry-run", "--namespace", "backup", "--image", "registry.local/s3mirror:1.0",
                 "--schedule", "30 4 * * *", "--extra", "--max-delete 10%", "cronjobs", "a.b-c")
        (x,) = d
        self.assertEqual(x["metadata"]["name"], "sync-a-b-c")
        self.assertEqual(x["metadata"]["labels"]["s3mirror/dry-run"], "true")
        self.assertEqual(x["spec"]["schedule"], "30 4 * * *")
        spec = x["spec"]["jobTemplate"]["spec"]["template"]["spec"]
        self.check_pod(spec, "a.b-c", dry=True)
        self.assertEqual(container(spec)["image"], "registry.local/s3mirror:1.0")
        self.assertEqual(container(spec)["args"][-2:], ["--max-delete", "10%"])

    def test_one_off_job(self):
        d = docs("job", "velero-tempus-safespring-ck8s", "psql-tempus-safespring-ck8s")
        self.assertEqual(len(d), 2)
        for x in d:
            self.assertEqual(x["kind"], "Job")
            self.assertRegex(x["metadata"]["name"], r"^sync-[a-z0-9-]+-manual-\d{14}$")
            self.assertEqual(x["spec"]["backoffLimit"], 0)
        self.check_pod(d[0]["spec"]["template"]["spec"], "velero-tempus-safespring-ck8s", False)

    def test_one_off_job_name_fits(self):
        (x,) = docs("job", "b" * 63)
        self.assertLessEqual(len(x["metadata"]["name"]), 63)
        self.assertEqual(x["metadata"]["labels"]["s3mirror/bucket"], "b" * 63)

    def test_indexed_job_for_shards(self):
        (x,) = docs("sharded", "velero-tempus-safespring-ck8s", "4")
        s = x["spec"]
        self.assertEqual((s["completionMode"], s["completions"], s["parallelism"]), ("Indexed", 4, 4))
        c = container(s["template"]["spec"])
        self.assertEqual(c["args"][-2:], ["--shard", "$(SHARD_INDEX)/4"])
        idx = [e for e in c["env"] if e["name"] == "SHARD_INDEX"][0]
        self.assertIn("job-completion-index", idx["valueFrom"]["fieldRef"]["fieldPath"])

    def test_indexed_job_with_a_shard_plan(self):
        with tempfile.NamedTemporaryFile("w", suffix=".plan") as f:
            f.write("# plan\nb%2Fx\nm\n")
            f.flush()
            cm, job = docs("sharded", "velero-tempus-safespring-ck8s", "3", f.name)
            self.assertEqual(cm["kind"], "ConfigMap")
            self.assertEqual(cm["data"]["plan"], "# plan\nb%2Fx\nm\n")
            spec = job["spec"]["template"]["spec"]
            self.assertEqual(container(spec)["args"][-4:], ["--shard", "$(SHARD_INDEX)/3",
                                                            "--shard-boundaries",
                                                            "/etc/s3mirror-shards/plan"])
            vols = {v["name"]: v for v in spec["volumes"]}
            self.assertEqual(vols["shard-plan"]["configMap"]["name"], cm["metadata"]["name"])
            p = render("sharded", "velero-tempus-safespring-ck8s", "4", f.name, check=False)
            self.assertEqual(p.returncode, 1)
            self.assertIn("boundaries of 3 shards, not 4", p.stderr)

    def test_secret_from_environment(self):
        (x,) = docs("secret", env=CREDS)
        self.assertEqual((x["kind"], x["metadata"]["name"]), ("Secret", "s3mirror-config"))
        data = {k: base64.b64decode(v).decode() for k, v in x["data"].items()}
        for k, v in CREDS.items():
            self.assertEqual(data[k], v)
        conf = data["rclone.conf"]
        self.assertIn("${STO2_SECRET_ACCESS_KEY_ID}", conf)  # references, expanded by s3mirror
        for v in CREDS.values():
            self.assertNotIn(v, conf)

    def test_config_without_variables(self):
        # keys written out in the config (or none): nothing to take from the environment; the
        # render used to stop here with exit 1 and no message
        with tempfile.NamedTemporaryFile("w", suffix=".conf") as f:
            f.write("[sto2]\ntype = s3\nprovider = Ceph\nenv_auth = true\n")
            f.flush()
            (sec,) = docs("--config", f.name, "secret")
            self.assertEqual(list(sec["data"]), ["rclone.conf"])
            (x,) = docs("--config", f.name, "cronjobs", "b-one")
            self.assertNotIn("env", container(x["spec"]["jobTemplate"]["spec"]["template"]["spec"]))

    def test_missing_variable_names_it_and_prints_no_value(self):
        env = dict(CREDS)
        del env["OSL1_SECRET_ACCESS_KEY_ID"]
        p = render("secret", env=env, check=False)
        self.assertEqual(p.returncode, 1)
        self.assertEqual(p.stdout, "")
        self.assertIn("OSL1_SECRET_ACCESS_KEY_ID", p.stderr)
        for v in env.values():
            self.assertNotIn(v, p.stderr)

    # the copy order per seed bucket (docs/backup-repositories.md, "The seed's four buckets")
    SEED_ORDER = {"psql-tempus-safespring-ck8s": ["--layout", "wal-g"],
                  "influxdb-tempus-safespring-ck8s": ["--copy-last", "*.manifest"],
                  "elasticsearch-tempus-safespring-ck8s": ["--layout", "elasticsearch"],
                  "velero-tempus-safespring-ck8s": ["--layout", "velero"]}

    def test_copy_order_per_seed_bucket(self):
        for x in docs("cronjobs"):
            b = x["metadata"]["labels"]["s3mirror/bucket"]
            a = container(x["spec"]["jobTemplate"]["spec"]["template"]["spec"])["args"]
            self.assertEqual(a[7:9], self.SEED_ORDER[b], b)  # after --stats 1m, before the rest
        (x,) = docs("cronjobs", "other-bucket")  # not a seed bucket: no order
        a = container(x["spec"]["jobTemplate"]["spec"]["template"]["spec"])["args"]
        self.assertNotIn("--layout", a)
        self.assertNotIn("--copy-last", a)
        (x,) = docs("--layout", "restic", "job", "other-bucket")
        self.assertEqual(container(x["spec"]["template"]["spec"])["args"][7:9], ["--layout", "restic"])
        (x,) = docs("--layout", "none", "job", "psql-tempus-safespring-ck8s")
        self.assertNotIn("--layout", container(x["spec"]["template"]["spec"])["args"])
        p = render("--layout", "borg", "cronjobs", check=False)
        self.assertEqual(p.returncode, 1)
        self.assertRegex(p.stderr, r"^render.sh: error: unknown --layout 'borg'")

    def test_systemd_examples_per_seed_bucket(self):
        src = os.path.join(ROOT, "deploy", "systemd")
        for name, order in (("psql", "--layout wal-g"), ("influxdb", "--copy-last *.manifest"),
                            ("elasticsearch", "--layout elasticsearch"), ("velero", "--layout velero")):
            env = dict(l.split("=", 1) for l in open(os.path.join(src, name + ".env.example"))
                       if l.strip() and not l.startswith("#"))
            self.assertEqual(env["SRC"].strip(), "sto2:%s-tempus-safespring-ck8s" % name)
            self.assertIn(order, env["S3MIRROR_ARGS"])

    def test_bad_input(self):
        for args in (["cronjobs", "Bad_Bucket"], ["job"], ["sharded", "b-1", "0"], ["nope"],
                     ["--bogus", "cronjobs"], ["cronjobs", "x" * 60]):
            p = render(*args, check=False)
            self.assertEqual(p.returncode, 1, args)
            self.assertRegex(p.stderr, r"^render.sh: error: .+\n$")


class Containerfile(unittest.TestCase):
    """No container engine runs here, so the recipe is checked for what can go stale: every
    COPY source exists, every package it installs exists in Debian, the build packages cover
    the libraries the Makefile links, and the image runs unprivileged."""

    def setUp(self):
        self.text = open(os.path.join(ROOT, "deploy", "Containerfile")).read().replace("\\\n", " ")

    def test_copy_sources_exist(self):
        import re
        checked = 0
        for line in self.text.splitlines():
            m = re.match(r"COPY\s+(?!--from)(.+)\s+(\S+)$", line)
            if m:
                for src in m.group(1).split():
                    self.assertTrue(os.path.exists(os.path.join(ROOT, src)), src)
                    checked += 1
        self.assertGreaterEqual(checked, 5)  # Makefile VERSION include src man

    def test_packages(self):
        import re
        pkgs = set()
        for m in re.finditer(r"apt-get install -y --no-install-recommends ([^&]+)", self.text):
            pkgs.update(m.group(1).split())
        for lib in ("make", "pkg-config", "libcurl4-openssl-dev", "libssl-dev", "libxml2-dev", "libuv1-dev",
                    "libcurl4", "libssl3", "libxml2", "libuv1", "ca-certificates"):
            self.assertIn(lib, pkgs)
        if shutil.which("apt-cache"):
            p = subprocess.run(["apt-cache", "show"] + sorted(pkgs), capture_output=True, text=True)
            found = set(re.findall(r"(?m)^Package: (\S+)", p.stdout))
            self.assertEqual(sorted(pkgs - found), [])

    def test_built_and_installed_by_make(self):
        # the image gets what `make install` installs: binary, man page, completions
        self.assertRegex(self.text, r"(?m)^RUN make WERROR=1 .*make install PREFIX=/usr/local DESTDIR=/out")
        self.assertIn("COPY --from=build /out/usr/local /usr/local", self.text)

    def test_unprivileged(self):
        self.assertRegex(self.text, r"(?m)^USER 65532:65532$")
        self.assertIn('ENTRYPOINT ["/usr/local/bin/s3mirror"]', self.text)


class Systemd(unittest.TestCase):
    def test_quarantine_option(self):
        # --backup-dir: each bucket's quarantine in its own folder, tonight's date as --suffix
        # through the image's /bin/sh ($$ is Kubernetes' escape of a literal $)
        (job,) = docs("--backup-dir", "osl1:quar/", "job", "b-one")
        c = container(job["spec"]["template"]["spec"])
        self.assertEqual(c["args"][c["args"].index("--backup-dir") + 1], "osl1:quar/b-one")
        self.assertEqual(c["command"][:2], ["/bin/sh", "-c"])
        script = c["command"][2].replace("$$", "$")
        p = subprocess.run(["sh", "-c", script.replace("/usr/local/bin/s3mirror", "printf '%s\\n'"),
                            "s3mirror", "sync", "a b"], capture_output=True, text=True)
        day = subprocess.run(["date", "-u", "+%F"], capture_output=True, text=True).stdout.strip()
        self.assertEqual(p.stdout.splitlines(), ["sync", "a b", "--suffix", "-" + day])
        (job,) = docs("job", "b-one")  # without it: the image's entrypoint, no shell
        self.assertNotIn("command", container(job["spec"]["template"]["spec"]))

    def test_metrics_push_and_notify(self):
        # every pod pushes to the one gateway; each bucket's pings go to its own check
        d = docs("--metrics-push", "http://pushgateway.monitoring:9091", "--notify-url",
                 "https://hc.example/ping/KEY/s3m-{bucket}", "cronjobs", "b-one", "b-two")
        for x, b in zip(d, ["b-one", "b-two"]):
            a = container(x["spec"]["jobTemplate"]["spec"]["template"]["spec"])["args"]
            self.assertEqual(a[a.index("--metrics-push") + 1], "http://pushgateway.monitoring:9091")
            self.assertEqual(a[a.index("--notify-url") + 1], "https://hc.example/ping/KEY/s3m-" + b)
        (x,) = docs("job", "b-one")
        self.assertNotIn("--metrics-push", container(x["spec"]["template"]["spec"])["args"])

    def test_url_keys_stay_in_the_secret(self):
        # a ${VAR} in --notify-url or --metrics-push is a secret like the config's: the CronJob
        # holds $(VAR), which Kubernetes expands from the pod's environment, and the
        # environment takes VAR from the Secret, so reading the CronJob shows no key
        url, push = "https://hc.example/ping/${HC_KEY}/s3m-{bucket}", "http://u:${PG_PASS}@pg:9091"
        d = docs("--notify-url", url, "--metrics-push", push, "cronjobs", "b-one", "b-two")
        for x, b in zip(d, ["b-one", "b-two"]):
            c = container(x["spec"]["jobTemplate"]["spec"]["template"]["spec"])
            a = c["args"]
            self.assertEqual(a[a.index("--notify-url") + 1], "https://hc.example/ping/$(HC_KEY)/s3m-" + b)
            self.assertEqual(a[a.index("--metrics-push") + 1], "http://u:$(PG_PASS)@pg:9091")
            env = {e["name"]: e["valueFrom"]["secretKeyRef"] for e in c["env"]}
            for v in ("HC_KEY", "PG_PASS", "STO2_ACCESS_KEY_ID"):
                self.assertEqual(env[v], {"name": "s3mirror-config", "key": v})
        keys = dict(CREDS, HC_KEY="hc-sekrit-key", PG_PASS="pg-sekrit")
        (sec,) = docs("--notify-url", url, "--metrics-push", push, "secret", env=keys)
        data = {k: base64.b64decode(v).decode() for k, v in sec["data"].items()}
        self.assertEqual((data["HC_KEY"], data["PG_PASS"]), ("hc-sekrit-key", "pg-sekrit"))
        p = render("--notify-url", url, "cronjobs", "b-one", env=keys)
        self.assertNotIn("hc-sekrit-key", p.stdout)  # the key's value never reaches the spec
        del keys["HC_KEY"]
        p = render("--notify-url", url, "secret", env=keys, check=False)
        self.assertEqual((p.returncode, p.stdout), (1, ""))
        self.assertIn("HC_KEY", p.stderr)
        # every other $ is escaped for Kubernetes, which turns $$ into $: a literal $( or $$
        # reaches the pod as written
        url = "https://hc.example/a$$b$(c)$d/${HC_KEY}/x"
        (x,) = docs("--notify-url", url, "cronjobs", "b-one")
        a = container(x["spec"]["jobTemplate"]["spec"]["template"]["spec"])["args"]
        self.assertEqual(kube_expand(a[a.index("--notify-url") + 1], {"HC_KEY": "k"}),
                         "https://hc.example/a$$b$(c)$d/k/x")
        # the pods need the key in the Secret: the render says so (a `secret` render without the
        # option, re-applied, drops it)
        p = render("--notify-url", url, "cronjobs", "b-one")
        self.assertIn("the pods read HC_KEY from the Secret", p.stderr)
        self.assertEqual(render("--notify-url", url, "secret", env=dict(CREDS, HC_KEY="k")).stderr,
                         "")

    def test_max_duration(self):
        # the run cuts itself off softly; the Job does not retry a cut-off run (exit 15) and
        # its deadline stays behind the run's own
        (x,) = docs("--max-duration", "2h", "cronjobs", "b-one")
        spec = x["spec"]["jobTemplate"]["spec"]
        a = container(spec["template"]["spec"])["args"]
        self.assertEqual(a[a.index("--max-duration") + 1], "2h")
        self.assertEqual(a[a.index("--cutoff-mode") + 1], "soft")
        self.assertEqual(spec["activeDeadlineSeconds"], 2 * 3600 + 1800)
        self.assertEqual(spec["podFailurePolicy"]["rules"],
                         [{"action": "FailJob", "onExitCodes": {"operator": "In", "values": [15]}}])
        (z,) = docs("--bwlimit", "05:00,50M 07:00,10M 22:00,off", "cronjobs", "b-one")
        a = container(z["spec"]["jobTemplate"]["spec"]["template"]["spec"])["args"]
        self.assertEqual(a[a.index("--bwlimit") + 1], "05:00,50M 07:00,10M 22:00,off")
        (y,) = docs("cronjobs", "b-one")
        self.assertNotIn("--bwlimit", container(y["spec"]["jobTemplate"]["spec"]["template"]["spec"])["args"])
        self.assertNotIn("podFailurePolicy", y["spec"]["jobTemplate"]["spec"])
        self.assertEqual(y["spec"]["jobTemplate"]["spec"]["activeDeadlineSeconds"], 21600)
        for bad in ("2", "h", "0m", "1.5h", "-1h"):
            p = render("--max-duration", bad, "cronjobs", "b-one", check=False)
            self.assertEqual(p.returncode, 1, bad)
            self.assertIn("--max-duration", p.stderr)

    def test_unit_command_line(self):
        # the service's ExecStart as systemd hands it to sh ($$ -> $, %% -> %, %i the instance)
        text = open(os.path.join(ROOT, "deploy", "systemd", "s3mirror@.service")).read()
        line = text.split("ExecStart=", 1)[1].split("\n# SIGTERM")[0].replace("\\\n", " ")
        argv = shlex.split(line.replace("$$", "$").replace("%%", "%").replace("%i", "velero"))
        self.assertEqual(argv[:2], ["/bin/sh", "-c"])
        script = argv[2].replace("/usr/local/bin/s3mirror", "printf '%s\\n'")
        env = {"PATH": os.environ["PATH"], "SRC": "sto2:v", "DST": "osl1:v",
               "S3MIRROR_ARGS": "--max-delete 10%"}
        p = subprocess.run(["sh", "-c", script], env=env, capture_output=True, text=True)
        base = ["sync", "sto2:v", "osl1:v", "--config", "/etc/s3mirror/rclone.conf", "--stats",
                "1m", "--lock-file", "/run/s3mirror/velero.lock", "--metrics-file",
                "/var/lib/node_exporter/textfile_collector/s3mirror-velero.prom",
                "--max-delete", "10%"]
        self.assertEqual(p.stdout.splitlines(), base)
        env["BACKUP_DIR"] = "osl1:quar/velero"
        p = subprocess.run(["sh", "-c", script], env=env, capture_output=True, text=True)
        day = subprocess.run(["date", "-u", "+%F"], capture_output=True, text=True).stdout.strip()
        self.assertEqual(p.stdout.splitlines(),
                         base + ["--backup-dir", "osl1:quar/velero", "--suffix", "-" + day])
        del env["BACKUP_DIR"]
        env.update(NOTIFY_URL="https://hc.example/ping/u", METRICS_PUSH="http://pg:9091")
        p = subprocess.run(["sh", "-c", script], env=env, capture_output=True, text=True)
        self.assertEqual(p.stdout.splitlines(), base + ["--notify-url", "https://hc.example/ping/u",
                                                        "--metrics-push", "http://pg:9091"])

    def test_units_verify(self):
        if not shutil.which("systemd-analyze"):
            self.skipTest("systemd-analyze not installed")
        src = os.path.join(ROOT, "deploy", "systemd")
        with tempfile.TemporaryDirectory() as d:
            for n in ("s3mirror@.service", "s3mirror@.timer"):
                text = open(os.path.join(src, n)).read()
                # verify checks that the binary exists: point it at one that does
                text = text.replace("/usr/local/bin/s3mirror", shutil.which("true"))
                with open(os.path.join(d, n.replace("@", "@velero")), "w") as f:
                    f.write(text)
            p = subprocess.run(["systemd-analyze", "verify", "--man=no",
                                os.path.join(d, "s3mirror@velero.service"),
                                os.path.join(d, "s3mirror@velero.timer")],
                               capture_output=True, text=True)
            self.assertEqual(p.returncode, 0, p.stderr)
            self.assertNotIn("nknown", p.stderr)


if __name__ == "__main__":
    unittest.main(verbosity=2)
