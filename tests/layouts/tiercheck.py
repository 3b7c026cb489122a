"""Cross-check of a layout's pointers against the tiers of an ordered sync (issue 15): an object
a pointer names must be copied in a tier that is over before the pointer can be reached.

An object is reachable once every object on some path from a root to it is there; with tiers,
that is no earlier than the highest tier on the path. So reach(root) = tier(root) and
reach(x) = min over its referrers p of max(reach(p), tier(x)); a pointer p -> x is safe when
tier(x) < reach(p) (x's tier is complete before p can be reached), and a mismatch otherwise
(x in the same tier as, or a later one than, what makes p reachable).
"""


def mismatches(walk, tier_of):
    """[(referrer, target, tier of referrer's reach, tier of target)] of a checker's Walk."""
    reach = {r: tier_of(r) for r in walk.roots}
    changed = True
    while changed:  # a fixed point: the pointer graphs are small and acyclic
        changed = False
        for p, x in walk.edges:
            if p in reach:
                r = max(reach[p], tier_of(x))
                if r < reach.get(x, 1 << 30):
                    reach[x], changed = r, True
    out = set()
    for p, x in walk.edges:
        if p in reach and tier_of(x) >= reach[p]:
            out.add((p, x, reach[p], tier_of(x)))
    return sorted(out)


def generalize(key):
    """A key with its generated names replaced by *, to report a mismatch once per kind."""
    import re
    key = re.sub(r"[0-9a-f]{16,}", "*", key)
    key = re.sub(r"(?<=/)[A-Za-z0-9_-]{22}(?=/|\.|$)", "*", key)
    key = re.sub(r"(?<=[-_])[A-Za-z0-9_-]{22}(?=\.dat|$)", "*", key)
    key = re.sub(r"\d{8}-\d{6}[FDI]", "LABEL", key)
    key = re.sub(r"[0-9A-F]{24}", "SEG", key)
    return key
