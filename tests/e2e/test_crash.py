#!/usr/bin/env python3
# Crash safety: concurrent SMTP clients while ternd is killed with SIGKILL at random moments (and
# right after a 250), then restarted on the same data dir. Every message acknowledged with 250
# after DATA must be delivered in the end (RFC 5321 §4.1.1.4/§6.1: the 250 takes responsibility).
# Duplicates are allowed; loss is not. Must stay bounded in time (<2 minutes).
import os
import random
import signal
import smtplib
import sys
import threading
import time
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import ternlib  # noqa: E402
from ternlib import DOMAIN, header  # noqa: E402

THREADS = 4
ROUNDS = 4
TOTAL = 300
TIME_BUDGET = 75.0   # seconds of sending+killing; the drain check comes after


class Crash(unittest.TestCase):
    def test_acknowledged_mail_survives_sigkill(self):
        rng = random.Random(int(os.environ.get("TERN_CRASH_SEED", time.time_ns() % 1_000_000)))
        srv = ternlib.Server(protos=("smtp",), trace=False)
        srv.add_domain(DOMAIN)
        rcpt = f"crash@{DOMAIN}"
        rcpt2 = f"crash2@{DOMAIN}"
        srv.add_user(rcpt)
        srv.add_user(rcpt2)
        srv.start()
        port = srv.port("smtp")

        lock = threading.Lock()
        acked = {}            # token -> (round, recipients)
        attempts = [0]
        errors = []           # client-side exceptions (expected while the server is down)
        stop = threading.Event()
        arm_after_ack = threading.Event()   # next 250 triggers an immediate SIGKILL
        killed_after_ack = threading.Event()
        round_no = [0]
        pid = [srv.proc.pid]

        def sender(tid):
            n = 0
            s = None
            while not stop.is_set():
                with lock:
                    if round_no[0] >= ROUNDS and len(acked) >= TOTAL:
                        break
                    attempts[0] += 1
                n += 1
                tok = f"crash-{tid}-{n}"
                rcpts = [rcpt, rcpt2] if n % 5 == 0 else [rcpt]
                msg = (f"From: t{tid}@client.test\r\nTo: {', '.join(rcpts)}\r\nSubject: {tok}\r\n"
                       f"Message-ID: <{tok}@client.test>\r\n\r\nbody of {tok}\r\n" + "filler\r\n" * (n % 40))
                try:
                    if s is not None and n % 10 == 0:  # now and then a fresh connection
                        s.quit()
                        s = None
                    if s is None:
                        s = smtplib.SMTP("127.0.0.1", port, local_hostname="client.test", timeout=10)
                    refused = s.sendmail(f"t{tid}@client.test", rcpts, msg)
                    # sendmail returned: the 250 after DATA was received.
                    with lock:
                        acked[tok] = (round_no[0], [r for r in rcpts if r not in refused])
                        if arm_after_ack.is_set():
                            arm_after_ack.clear()
                            try:
                                os.kill(pid[0], signal.SIGKILL)
                            except ProcessLookupError:
                                pass
                            killed_after_ack.set()
                except (OSError, smtplib.SMTPException) as e:
                    with lock:
                        errors.append(f"{tok}: {type(e).__name__}: {e}")
                    try:
                        if s is not None:
                            s.close()
                    except Exception:
                        pass
                    s = None
                    time.sleep(0.05)
            if s is not None:
                try:
                    s.quit()
                except Exception:
                    s.close()

        threads = [threading.Thread(target=sender, args=(i,), daemon=True) for i in range(THREADS)]
        t0 = time.monotonic()
        for t in threads:
            t.start()
        try:
            def acked_at_least(n):
                return lambda: len(acked) >= n or time.monotonic() - t0 > TIME_BUDGET

            for r in range(ROUNDS):
                # Let some traffic through, then kill: odd rounds right after a 250, even ones at a
                # random moment (likely mid-transaction or mid-delivery).
                target = (r + 1) * TOTAL // (ROUNDS + 1)
                ternlib.wait_for(acked_at_least(target), timeout=TIME_BUDGET + 5, what=f"{target} acks")
                if r % 2 == 1:
                    arm_after_ack.set()
                    if not killed_after_ack.wait(timeout=10):
                        arm_after_ack.clear()
                        srv.kill9()
                    killed_after_ack.clear()
                else:
                    time.sleep(rng.uniform(0.0, 0.3))
                    srv.kill9()
                with lock:
                    srv.proc.wait()
                    round_no[0] = r + 1
                time.sleep(rng.uniform(0.0, 0.2))
                srv.start()
                with lock:
                    pid[0] = srv.proc.pid
            ternlib.wait_for(acked_at_least(TOTAL), timeout=TIME_BUDGET + 5, what=f"{TOTAL} acks")
            for t in threads:
                t.join(timeout=20)
        finally:
            stop.set()
            for t in threads:
                t.join(timeout=15)

        print(f"\ncrash test: {attempts[0]} attempts, {len(acked)} acknowledged, {len(errors)} client "
              f"errors, {srv.starts} starts, {time.monotonic() - t0:.1f}s", file=sys.stderr)
        self.assertGreater(len(acked), TOTAL // 3, "too few messages acknowledged:\n" + "\n".join(errors[-20:]))

        # Clean restart, then wait for the queue to drain: every acknowledged token delivered.
        srv.stop()
        srv.start()
        want = {rcpt: set(), rcpt2: set()}
        for tok, (_, rs) in acked.items():
            for r in rs:
                want[r].add(tok)

        def missing():
            out = {}
            for r, toks in want.items():
                have = set()
                for _, m in ternlib.parse_mbox(srv.export_mbox(r)):
                    subj = header(m, "Subject")
                    if subj:
                        have.add(subj)
                out[r] = toks - have
            return out

        deadline = time.monotonic() + 40
        left = missing()
        while any(left.values()) and time.monotonic() < deadline:
            time.sleep(0.5)
            left = missing()
        lost = {r: sorted(t, key=lambda x: (len(x), x)) for r, t in left.items() if t}
        if lost:
            detail = "\n".join(f"{r}: {len(t)} lost, e.g. {[(x, acked[x][0]) for x in t[:10]]} (token, round)"
                               for r, t in lost.items())
            self.fail("acknowledged messages were never delivered:\n" + detail)
        # Every delivered copy is intact.
        for _, m in ternlib.parse_mbox(srv.export_mbox(rcpt)):
            subj = header(m, "Subject")
            if subj and subj.startswith("crash-"):
                self.assertIn(f"body of {subj}".encode(), m)
        self.assertEqual(srv.stop(), 0)


if __name__ == "__main__":
    ternlib.main()
