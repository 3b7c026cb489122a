"""Shared pieces of the layout generators and checkers (issue 15): a repository is built as a list
of writes and deletes in the order its tool makes them; a checker reads a bucket through a View
(keys, and the bytes of a key on demand) and returns the pointers it followed and those that
dangle. Independent of s3mirror's code and of its presets: each layout module says where its
reading of the format comes from."""
import hashlib
import random

MiB = 1024 * 1024
PART = 5 * MiB  # S3's smallest part but the last: objects above it are written as multipart


class Dangling:
    """A pointer from `referrer` (reached from `root`) to `target`, which is not there.
    kind "missing": target is absent; "retired": target exists no more for its tool (a kopia
    snapshot manifest with a deletion entry) although the bytes may still be in the bucket;
    "deleted": a live object names a content its tool's index marks deleted (kopia: the index
    blob of a garbage collection is there, the earlier one that deleted the snapshot is not)."""

    def __init__(self, root, referrer, target, kind="missing"):
        self.root, self.referrer, self.target, self.kind = root, referrer, target, kind

    def __repr__(self):
        return "%s -> %s (%s, from root %s)" % (self.referrer, self.target, self.kind, self.root)


class Walk:
    """What a checker found: the roots it started from (keys its tool reads first), every pointer
    it followed (referrer key, target key) and the dangling ones."""

    def __init__(self, view):
        self.view, self.edges, self.dangling, self.roots = view, [], [], set()

    def need(self, root, referrer, target):
        """Follow referrer -> target; True when target is there."""
        self.edges.append((referrer, target))
        if target in self.view.keys:
            return True
        self.dangling.append(Dangling(root, referrer, target))
        return False

    def retired(self, root, referrer, target, kind="retired"):
        self.dangling.append(Dangling(root, referrer, target, kind))


class View:
    """The keys of a repository, and the bytes of a key on demand (cached)."""

    def __init__(self, keys, get):
        self.keys, self._get, self._cache = set(keys), get, {}

    def get(self, key):
        if key not in self._cache:
            self._cache[key] = self._get(key)
        return self._cache[key]

    @classmethod
    def of_dict(cls, state):
        return cls(state.keys(), state.__getitem__)

    @classmethod
    def of_bucket(cls, client, bucket, prefix=""):
        keys = []
        for page in client.get_paginator("list_objects_v2").paginate(Bucket=bucket,
                                                                     Prefix=prefix):
            keys += [o["Key"] for o in page.get("Contents", [])]
        return cls(keys, lambda k: client.get_object(Bucket=bucket, Key=k)["Body"].read())


class Repo:
    """A repository being written: the operations in the tool's order, and the resulting state."""

    def __init__(self, seed, prefix=""):
        self.rng, self.prefix = random.Random(seed), prefix
        self.ops, self.state = [], {}

    def put(self, key, data):
        if isinstance(data, str):
            data = data.encode()
        self.ops.append(("put", self.prefix + key, data))
        self.state[self.prefix + key] = data

    def delete(self, key):
        self.ops.append(("delete", self.prefix + key))
        del self.state[self.prefix + key]

    def has(self, key):
        return self.prefix + key in self.state

    def keys(self, under=""):
        n = len(self.prefix)
        return sorted(k[n:] for k in self.state if k.startswith(self.prefix + under))

    def mark(self):
        """The operations so far end state A; those after it lead to state B."""
        return len(self.ops)

    def hexid(self, n=32):
        return "%0*x" % (n, self.rng.getrandbits(4 * n))

    def uuid(self):
        """An Elasticsearch-style url-safe base64 UUID (22 characters)."""
        abc = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
        return "".join(self.rng.choice(abc) for _ in range(22))

    def data(self, n):
        return self.rng.randbytes(n)


def sha(data, n=32):
    return hashlib.sha256(data).hexdigest()[:n]


class Generated:
    """A generator's result: ops up to state A, ops from A to B, and both states."""

    def __init__(self, repo, mark):
        self.ops_a, self.ops_b = repo.ops[:mark], repo.ops[mark:]
        self.state_a, self.state_b = {}, {}
        for op in self.ops_a:
            apply_op(self.state_a, op)
        self.state_b = dict(self.state_a)
        for op in self.ops_b:
            apply_op(self.state_b, op)
        assert self.state_b == repo.state


def apply_op(state, op):
    if op[0] == "put":
        state[op[1]] = op[2]
    else:
        state.pop(op[1], None)


def write(client, bucket, ops):
    """Apply ops to a bucket with boto3 in their order; objects above PART go multipart."""
    for op in ops:
        if op[0] == "delete":
            client.delete_object(Bucket=bucket, Key=op[1])
        elif len(op[2]) > PART:
            put_multipart(client, bucket, op[1], op[2])
        else:
            client.put_object(Bucket=bucket, Key=op[1], Body=op[2])


def put_multipart(client, bucket, key, data):
    mp = client.create_multipart_upload(Bucket=bucket, Key=key)
    parts = []
    for i in range(0, len(data), PART):
        r = client.upload_part(Bucket=bucket, Key=key, UploadId=mp["UploadId"],
                               PartNumber=len(parts) + 1, Body=data[i:i + PART])
        parts.append({"PartNumber": len(parts) + 1, "ETag": r["ETag"]})
    client.complete_multipart_upload(Bucket=bucket, Key=key, UploadId=mp["UploadId"],
                                     MultipartUpload={"Parts": parts})
