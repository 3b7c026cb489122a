"""Review of --bwlimit/--tpslimit (issue 17): the cases the feature's own tests leave out, on both
servers behind metering proxies (tests/harness/faultproxy.py), the data checked with boto3."""
import signal
import subprocess
import sys
import time

from e2e import BIN, for_each_kind, snapshot
from test_limits import MeteredSites, rates, span
from test_sync import MiB


@for_each_kind
class ReviewLimitsTest(MeteredSites):
    def sigterm_after(self, secs, *args):
        """sync through the proxies, SIGTERM after secs: exit 143 within 5 s of it"""
        p = subprocess.Popen([BIN, "--config", self.pconf, "sync", *args],
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        time.sleep(secs)
        t0 = time.monotonic()
        p.send_signal(signal.SIGTERM)
        out, err = p.communicate(timeout=60)
        self.assertEqual(p.returncode, 143, err[-2000:])
        self.assertLess(time.monotonic() - t0, 5)

    def test_review_2m_destination_writes_single_part_transfers_8(self):
        """the brief's figure: --bwlimit 2M, --transfers 8, single-part objects of 1 to 8 MiB
        (36 MiB, some 18 s): every 10 s window of the destination's writes within 10 %"""
        rate = 2 * MiB
        sb, db = self.source("acc", [(i % 8 + 1) * MiB for i in range(8)])
        p, secs = self.metered("copy", "psrc:" + sb, "pdst:" + db, "--bwlimit", "2M",
                               "--transfers", "8")
        first, last, total = span(self.pdst.meter, "up")
        self.assertLess(abs(total - 36 * MiB), 64 * 1024)
        windows = rates(self.pdst.meter, "up", 10, first, last)
        sys.stderr.write("\n[%s] 2M t8 dest writes, 10 s windows (MiB/s): %s; %.1f s\n" % (
            self.kind, " ".join("%.3f" % (w / MiB) for w in windows), last - first))
        self.assertGreaterEqual(len(windows), 6)
        for w in windows:
            self.assertLess(abs(w / rate - 1), 0.10, [round(x / MiB, 3) for x in windows])
        self.assert_copied(sb, db)

    def test_review_low_rate_many_transfers_do_not_time_out(self):
        """a limit at which a transfer waits its turn in the limiter's queue longer than --timeout
        (24 transfers x 4 KiB chunks at 16 KiB/s: 6 s per round, --timeout 2; as --bwlimit 1k
        with the default transfers and --timeout 60): the limiter's own pauses must not be
        taken for an idle server. Now curl's low-speed check (1 B/s over --timeout) counts a
        send paused for tokens: "Operation too slow", the object copied again (at default
        --low-level-retries, a run that can fail outright)"""
        sb, db = self.source("slow", [12 * 1024] * 24)  # 288 KiB at 16 KiB/s: about 18 s
        p, secs = self.metered("copy", "psrc:" + sb, "pdst:" + db, "--bwlimit", "16k",
                               "--transfers", "24", "--timeout", "2", "--log-level", "info",
                               check=None)
        slow = [line for line in p.stderr.splitlines() if "too slow" in line]
        sys.stderr.write("\n[%s] 16k t24 --timeout 2: exit %d in %.1f s, %d 'too slow'\n%s\n" % (
            self.kind, p.returncode, secs, len(slow), "\n".join(slow[:3])))
        self.assertEqual(p.returncode, 0, p.stderr[-3000:])
        self.assert_copied(sb, db)
        self.assertEqual(slow, [])
        self.assertRegex(p.stderr, r"destination requests: .*PutObject=24;")

    def test_review_max_duration_while_transfers_wait_for_tokens(self):
        """--max-duration (hard) reached while every transfer is paused by the limiter: exit 15
        at the deadline, not when the tokens come; no upload left, nothing deleted"""
        sb, db = self.source("cut", [4 * MiB] * 4)
        self.dst.put_object(Bucket=db, Key="keep", Body=b"only on the destination")
        p, secs = self.metered("sync", "psrc:" + sb, "pdst:" + db, "--bwlimit", "256k",
                               "--max-duration", "3s", check=None, timeout=60)
        self.assertEqual(p.returncode, 15, p.stderr[-2000:])
        self.assertLess(secs, 8, p.stderr[-3000:])
        self.assertIn("keep", snapshot(self.dst, db))
        self.assertEqual(self.dst.list_multipart_uploads(Bucket=db).get("Uploads", []), [])

    def test_review_fractional_tpslimit_with_retries(self):
        """--tpslimit 0.5: a request every 2 s per endpoint, retries (503 SlowDown) included"""
        sb, db = self.source("tpsr", [1024] * 3)
        self.pdst.add("status", method="PUT", status=503, times=2)
        p, secs = self.metered("copy", "psrc:" + sb, "pdst:" + db, "--tpslimit", "0.5",
                               "--transfers", "4", timeout=120)
        self.assert_copied(sb, db)
        for proxy in (self.psrc, self.pdst):
            starts = sorted(t for t, d, _ in proxy.meter if d == "req")
            gaps = [b - a for a, b in zip(starts, starts[1:])]
            sys.stderr.write("\n[%s] --tpslimit 0.5 at %s: %d requests, gaps %s\n" % (
                self.kind, proxy.endpoint, len(starts), " ".join("%.2f" % g for g in gaps)))
            self.assertGreaterEqual(len(starts), 4)
            self.assertGreater(min(gaps), 1.9, gaps)

    def test_review_sigterm_while_paused_many_transfers(self):
        """SIGTERM with 32 transfers paused by a low limit (both directions): exit 143 at once"""
        sb, db = self.source("term", [256 * 1024] * 32)
        self.sigterm_after(3, "psrc:" + sb, "pdst:" + db, "--bwlimit", "32k", "--transfers", "32")

    def test_review_stop_while_requests_wait_for_tps_tokens(self):
        """--tpslimit 0.5 with 20 objects queues some 40 s of requests per endpoint: SIGTERM
        exits 143 at once and --max-duration 3s exits 15 at its deadline, not when the queue
        has drained"""
        sb, db = self.source("tpsq", [1024] * 20)
        self.sigterm_after(3, "psrc:" + sb, "pdst:" + db, "--tpslimit", "0.5")
        p, secs = self.metered("sync", "psrc:" + sb, "pdst:" + db, "--tpslimit", "0.5",
                               "--max-duration", "3s", check=None, timeout=90)
        self.assertEqual(p.returncode, 15, p.stderr[-2000:])
        self.assertLess(secs, 8, p.stderr[-3000:])

    def test_review_reads_hold_10pct_with_default_transfers(self):
        """the issue's 10 % over every 10 s window on the read side too, with as many objects as
        the default transfers: each new connection's socket buffers take their first bytes
        unpaced (the limiter's rcvbuf is per connection), 48 of them at once"""
        rate = 2 * MiB
        sb, db = self.source("rd", [MiB] * 48)  # 48 MiB at 2 MiB/s: 24 s
        p, secs = self.metered("copy", "psrc:" + sb, "pdst:" + db, "--bwlimit", "2M")
        first, last, total = span(self.psrc.meter, "down")
        windows = rates(self.psrc.meter, "down", 10, first, last)
        sys.stderr.write("\n[%s] 2M, 48 x 1 MiB, default transfers, source reads, 10 s windows "
                         "(MiB/s): %s\n" % (self.kind, " ".join("%.3f" % (w / MiB) for w in windows)))
        self.assert_copied(sb, db)
        for w in windows:
            self.assertLess(abs(w / rate - 1), 0.10, [round(x / MiB, 3) for x in windows])
