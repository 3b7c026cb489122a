#!/usr/bin/env python3
"""Self-test of the layout checkers, no server needed: states A and B of every generator are
consistent, and removing any object a pointer names (from B, and from the middle states a tool
passes through while it writes B) is reported as a dangling pointer that names it.

    python3 tests/layouts/selftest.py
"""
import os
import sys
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from common import View, apply_op  # noqa: E402
from registry import LAYOUTS  # noqa: E402


class CheckerSelfTest(unittest.TestCase):
    def test_states_a_and_b_are_consistent(self):
        for name, mod in LAYOUTS.items():
            g = mod.generate()
            for label, state in (("A", g.state_a), ("B", g.state_b)):
                w = mod.check(View.of_dict(state))
                self.assertEqual(w.dangling, [], "%s state %s" % (name, label))
                self.assertTrue(w.roots and w.edges, "%s state %s" % (name, label))
            self.assertTrue(any(len(op[2]) > 5 << 20 for op in g.ops_b if op[0] == "put"),
                            "%s: B has a multipart-sized object" % name)

    def test_every_named_object_is_needed(self):
        for name, mod in LAYOUTS.items():
            state = mod.generate().state_b
            targets = {t for _, t in mod.check(View.of_dict(state)).edges if t in state}
            self.assertTrue(targets, name)
            for t in sorted(targets):
                cut = dict(state)
                del cut[t]
                cut.pop(t + ".copy", None)  # pgBackRest falls back to the copy: both go
                found = mod.check(View.of_dict(cut)).dangling
                self.assertTrue(found, "%s: %s removed, nothing dangles" % (name, t))

    def test_data_after_pointers_breaks(self):
        """B's new objects written in reverse (pointers first): some prefix is inconsistent."""
        for name, mod in LAYOUTS.items():
            g = mod.generate()
            state, broken = dict(g.state_a), 0
            for op in reversed([op for op in g.ops_b if op[0] == "put"]):
                apply_op(state, op)
                broken += bool(mod.check(View.of_dict(state)).dangling)
            self.assertGreater(broken, 0, name)

    def test_kopia_gc_index_before_the_snapshot_deletion(self):
        """kopia B: packs there, the GC's index blob (deletion marks) but not the earlier one
        with the snapshot's deletion: the snapshot still listed names deleted contents."""
        mod = LAYOUTS["kopia"]
        g = mod.generate()
        state = dict(g.state_a)
        puts = [op for op in g.ops_b if op[0] == "put"]
        for op in puts:
            if not op[1].startswith("x"):
                apply_op(state, op)
        xn = [op for op in puts if op[1].startswith("xn")]  # new snapshot, deletion, GC, rewrite
        apply_op(state, xn[2])
        self.assertEqual({d.kind for d in mod.check(View.of_dict(state)).dangling}, {"deleted"})
        apply_op(state, xn[1])
        self.assertEqual(mod.check(View.of_dict(state)).dangling, [])


if __name__ == "__main__":
    unittest.main()
