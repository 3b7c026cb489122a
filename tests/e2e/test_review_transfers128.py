"""Review of --transfers' default 128 (d9fc539): --bwlimit sizes each connection's receive buffer
for the transfers in flight (net/ratelimit.c rcvbuf_of: rate / (8 x conns)), but
cli/limits.c passes `o->transfers ? o->transfers : 32`: a run at the default is sized for 32
connections while 128 (+8) may be open, so the receive buffers together hold 4x what the
limiter means to let cross unpaced (1/4 s of the read rate; here about 1 s at 16M)."""
import os
import re
import shutil
import subprocess
import unittest

from e2e import BIN, for_each_kind


@for_each_kind
class ReviewTransfers128Test:
    def rcvbufs(self, sb, *extra):
        db = self.bucket(self.dst, "rt128")
        cmd = ["strace", "-f", "-qq", "-e", "trace=setsockopt", BIN, "--config", self.conf,
               "copy", "sto2:" + sb, "osl1:" + db, "--bwlimit", "16M", "--no-progress"]
        # LeakSanitizer cannot run under ptrace (make check-asan): leaks are checked elsewhere
        env = dict(os.environ, ASAN_OPTIONS=(os.environ.get("ASAN_OPTIONS", "") +
                                             ":detect_leaks=0").lstrip(":"))
        p = subprocess.run(cmd + list(extra), capture_output=True, text=True, timeout=120,
                           env=env)
        self.assertEqual(p.returncode, 0, p.stderr[-3000:])
        return set(int(v) for v in re.findall(r"SO_RCVBUF, \[(\d+)\]", p.stderr))

    @unittest.skipUnless(shutil.which("strace"), "needs strace")
    def test_bwlimit_receive_buffers_sized_for_the_default_transfers(self):
        """the default run and --transfers 128 (the default, spelled out) must size the
        sockets' receive buffers alike"""
        sb = self.bucket(self.src, "rt128src")
        self.put_many(self.src, sb, ["k%02d" % i for i in range(4)])
        default, explicit = self.rcvbufs(sb), self.rcvbufs(sb, "--transfers", "128")
        self.assertTrue(default and explicit, (default, explicit))
        self.assertEqual(default, explicit)
