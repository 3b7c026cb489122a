"""tags_cost.py KIND N - what object tags cost: N objects (every 5th tagged) on two local
servers of KIND (moto or ceph), then a first sync, a no-change sync and a no-change sync with
--compare etag,tags, each with its wall time and request counts (s3mirror -v stats lines).
S3MIRROR_BIN: the binary (default build/s3mirror)."""
import sys, os, subprocess, tempfile, time, re
ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, "tests", "harness"))
import s3servers
from concurrent.futures import ThreadPoolExecutor
kind = sys.argv[1]; n = int(sys.argv[2]); BIN = os.environ.get("S3MIRROR_BIN") or os.path.join(ROOT, "build", "s3mirror")
gen = s3servers.sites([kind]); sites = gen.__enter__()
try:
    a, b = sites[kind]["sto2"], sites[kind]["osl1"]
    ca = a.client()
    conf = tempfile.mktemp(); open(conf, "w").write(a.remote_conf() + b.remote_conf())
    ca.create_bucket(Bucket="src")
    def put(i):
        kw = {"Tagging": "team=ops&class=keep%20me"} if i % 5 == 0 else {}
        ca.put_object(Bucket="src", Key="k%05d" % i, Body=b"x" * 100, **kw)
    with ThreadPoolExecutor(16) as ex: list(ex.map(put, range(n)))
    env = dict(os.environ, XDG_RUNTIME_DIR=tempfile.mkdtemp())
    for label, extra in (("first sync", []), ("no-change", []), ("no-change --compare etag,tags", ["--compare", "etag,tags"])):
        t = time.time()
        p = subprocess.run([BIN, "--config", conf, "sync", "sto2:src", "osl1:dst", "-v", "--no-lock"] + extra, capture_output=True, text=True, env=env)
        dt = time.time() - t
        reqs = re.findall(r"(source|destination) requests: ([^;]*)", p.stderr)
        print("%-32s exit %d %.2fs %s" % (label, p.returncode, dt, " | ".join("%s: %s" % r for r in reqs)))
finally:
    gen.__exit__(None, None, None)
