# Unit test of tests/e2e/dnslib.py (the private dnsmasq the relay tests point ternd's resolver at):
# its MX, A/AAAA and Null MX answers, NXDOMAIN for unlisted names under the local zone, and that
# stop() really ends it. Needs no ternd (--ternd is accepted and ignored).
import sys
import unittest

from dnslib import Dnsmasq, query


class DnslibTest(unittest.TestCase):
    def test_records_served_and_stopped(self):
        d = Dnsmasq(mx={"far.test": [("mx1.far.test", 10), ("mx2.far.test", 20)], "null.test": [(".", 0)]},
                    hosts={"mx1.far.test": ["127.0.0.2"], "mx2.far.test": ["127.0.0.3", "::3"]})
        with d:
            self.assertEqual(d.resolver, f"127.0.0.1:{d.port}")
            rc, mx = query(d.port, "far.test", "MX")
            self.assertEqual((rc, sorted(mx)), (0, [(10, "mx1.far.test"), (20, "mx2.far.test")]))
            self.assertEqual(query(d.port, "mx1.far.test", "A"), (0, ["127.0.0.2"]))
            self.assertEqual(query(d.port, "mx2.far.test", "AAAA"), (0, ["::3"]))
            self.assertEqual(query(d.port, "null.test", "MX"), (0, [(0, ".")]))
            self.assertEqual(query(d.port, "nobody.test", "A")[0], 3)     # NXDOMAIN, not forwarded
            port = d.port
        self.assertIsNotNone(d.proc.returncode)
        with self.assertRaises(OSError):
            query(port, "far.test", "MX", timeout=0.3)


if __name__ == "__main__":
    argv = [a for i, a in enumerate(sys.argv) if a != "--ternd" and sys.argv[i - 1] != "--ternd"
            and not a.startswith("--ternd=")]
    unittest.main(argv=argv, verbosity=2)
