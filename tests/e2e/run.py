#!/usr/bin/env python3
"""Start the S3 servers once, run every tests/e2e/test_*.py against them, stop the servers.

    run.py [--servers moto,ceph] [-k PATTERN] [unittest args]
"""
import argparse
import os
import shutil
import sys
import time
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import e2e  # noqa: E402
import s3servers  # noqa: E402


# Ceph radosgw (Debian's packages) always; moto_server as well where it is installed.
DEFAULT_SERVERS = os.environ.get("S3M_E2E_SERVERS", "moto,ceph")
MOTO_HINT = ("python3 -m venv --system-site-packages ~/.venv/moto && ~/.venv/moto/bin/pip install "
             "'moto[server]' && PATH=~/.venv/moto/bin:$PATH make check")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--servers")
    ap.add_argument("-k", dest="pattern", action="append")
    ap.add_argument("-v", dest="verbosity", action="count", default=1)
    a = ap.parse_args()
    if not os.access(e2e.BIN, os.X_OK):
        sys.exit("e2e: %s is not built" % e2e.BIN)
    kinds = [k for k in (a.servers or DEFAULT_SERVERS).split(",") if k]
    skipped_moto = "moto" in kinds and not shutil.which("moto_server")
    if skipped_moto:
        if a.servers:  # asked for by name (--quick): say how to get it
            sys.exit("e2e: moto_server is not installed; to get it: %s" % MOTO_HINT)
        kinds.remove("moto")
    # Locks and learned key ranges are keyed by the remote specs, which repeat from run to run
    # (sto2:t1-...): a run of its own, so two suites at once (or an earlier run's cache) never meet.
    import tempfile
    own = tempfile.mkdtemp(prefix="s3m-e2e-run-")
    for var, sub in (("XDG_RUNTIME_DIR", "run"), ("S3MIRROR_CACHE_DIR", "cache")):
        os.makedirs(os.path.join(own, sub), mode=0o700)
        os.environ[var] = os.path.join(own, sub)
    t0 = time.time()
    with s3servers.sites(kinds) as sites:
        e2e.SITES.update(sites)
        print("[e2e] servers up in %.1fs: %s" % (time.time() - t0, ", ".join(kinds)),
              file=sys.stderr)
        loader = unittest.TestLoader()
        if a.pattern:
            loader.testNamePatterns = ["*%s*" % p for p in a.pattern]
        suite = loader.discover(os.path.dirname(os.path.abspath(__file__)), pattern="test_*.py")
        res = unittest.TextTestRunner(verbosity=a.verbosity + 1, stream=sys.stdout).run(suite)
    shutil.rmtree(own, ignore_errors=True)
    n = res.testsRun
    bad = len(res.failures) + len(res.errors)
    skipped = sum(1 for t, _ in res.skipped if isinstance(t, unittest.TestCase))
    print("e2e: %d tests, %d passed, %d failed, %d skipped (%d classes skipped) in %.0fs" % (
        n, n - bad - skipped, bad, skipped, len(res.skipped) - skipped, time.time() - t0))
    if skipped_moto:
        print("e2e: moto leg skipped (moto_server is not installed; it is no Debian package): to run "
              "it too: %s" % MOTO_HINT)
    sys.exit(0 if res.wasSuccessful() else 1)


if __name__ == "__main__":
    main()
