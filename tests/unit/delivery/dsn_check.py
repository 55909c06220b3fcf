#!/usr/bin/env python3
"""Checks DSN files written by dsn_test.cpp with Python's own MIME parser, an independent reader.

Usage: dsn_check.py FILE...  Each FILE is a whole message; FILE.json (if present) says what to
expect: {"report_type", "part3" (content type or null), "to", "subject", "recipients": [{field:
value, ...}], "message_fields": {field: value}, "returned_subject"}. Exits non-zero with a message
on the first mismatch. Never modifies the files.
"""
import email
import email.policy
import json
import os
import sys


def fail(path, why):
    print(f"{path}: {why}", file=sys.stderr)
    sys.exit(1)


def check_lines(path, data):
    # RFC 5322 §2.1.1 / §2.3: CRLF only, at most 998 octets per line.
    i = 0
    for n, line in enumerate(data.split(b"\r\n")):
        if b"\r" in line or b"\n" in line:
            fail(path, f"bare CR or LF in line {n + 1}")
        if len(line) > 998:
            fail(path, f"line {n + 1} has {len(line)} octets")
        i += 1
    if not data.endswith(b"\r\n"):
        fail(path, "does not end with CRLF")


def raw_parts(data, boundary):
    # The parts' raw bytes, split on the delimiter lines (RFC 2046 §5.1.1).
    delim = b"\r\n--" + boundary.encode()
    body = data[data.index(b"\r\n\r\n") + 2:]
    pieces = body.split(delim)
    out = []
    for p in pieces[1:]:
        if p.startswith(b"--"):
            break
        out.append(p[2:])  # after the CRLF ending the delimiter line
    return out


def status_blocks(raw_part):
    # message/(global-)delivery-status body: blocks of fields separated by empty lines (RFC 3464 §2.1).
    head, _, body = raw_part.partition(b"\r\n\r\n")
    blocks = [b for b in body.split(b"\r\n\r\n") if b.strip()]
    return [email.message_from_bytes(b + b"\r\n\r\n", policy=email.policy.default) for b in blocks]


def check(path):
    with open(path, "rb") as f:
        data = f.read()
    exp = {}
    if os.path.exists(path + ".json"):
        with open(path + ".json") as f:
            exp = json.load(f)
    check_lines(path, data)
    msg = email.message_from_bytes(data, policy=email.policy.default)
    if msg.defects:
        fail(path, f"defects: {msg.defects}")
    if not msg.is_multipart():
        fail(path, "not multipart")
    if msg.get_content_type() != "multipart/report":
        fail(path, f"content type {msg.get_content_type()}")
    report_type = exp.get("report_type", "delivery-status")
    if msg.get_param("report-type") != report_type:
        fail(path, f"report-type {msg.get_param('report-type')!r}, expected {report_type!r}")
    if msg["Auto-Submitted"] != "auto-replied":
        fail(path, "Auto-Submitted is not auto-replied")
    if "MAILER-DAEMON@" not in str(msg["From"]):
        fail(path, f"From: {msg['From']}")
    if not msg["Date"] or msg["Date"].datetime is None:
        fail(path, "no parsable Date:")
    if not msg["Message-ID"]:
        fail(path, "no Message-ID:")
    if "to" in exp and msg["To"].addresses[0].addr_spec != exp["to"]:
        fail(path, f"To: {msg['To']}")
    if "subject" in exp and msg["Subject"] != exp["subject"]:
        fail(path, f"Subject: {msg['Subject']}")

    parts = msg.get_payload()
    part3 = exp.get("part3", "message/rfc822")
    if len(parts) != (3 if part3 else 2):
        fail(path, f"{len(parts)} parts")
    if parts[0].get_content_type() != "text/plain":
        fail(path, f"part 1 is {parts[0].get_content_type()}")
    for p in parts:
        if p.defects:
            fail(path, f"part defects: {p.defects}")
    ds_type = "message/" + report_type
    if parts[1].get_content_type() != ds_type:
        fail(path, f"part 2 is {parts[1].get_content_type()}, expected {ds_type}")

    # The delivery-status fields, from the raw part (Python parses message/global-delivery-status
    # as one message), cross-checked against Python's own block split where it makes one.
    blocks = status_blocks(raw_parts(data, msg.get_boundary())[1])
    if ds_type == "message/delivery-status":
        py_blocks = parts[1].get_payload()
        if len(py_blocks) != len(blocks):
            fail(path, f"python sees {len(py_blocks)} status blocks, split gives {len(blocks)}")
    per_message, per_rcpt = blocks[0], blocks[1:]
    if not str(per_message["Reporting-MTA"]).startswith("dns;"):
        fail(path, f"Reporting-MTA: {per_message['Reporting-MTA']}")
    for k, v in exp.get("message_fields", {}).items():
        if str(per_message[k]) != v:
            fail(path, f"per-message {k}: {per_message[k]!r}, expected {v!r}")
    want = exp.get("recipients")
    if want is not None and len(want) != len(per_rcpt):
        fail(path, f"{len(per_rcpt)} recipient blocks, expected {len(want)}")
    for i, block in enumerate(per_rcpt):
        for f in ("Final-Recipient", "Action", "Status"):
            if not block[f]:
                fail(path, f"recipient {i}: no {f}")
        if want is not None:
            for k, v in want[i].items():
                got = block[k]
                if v is None:
                    if got is not None:
                        fail(path, f"recipient {i}: unexpected {k}: {got!r}")
                elif got is None or " ".join(str(got).split()) != v:
                    fail(path, f"recipient {i}: {k}: {got!r}, expected {v!r}")

    if part3:
        if parts[2].get_content_type() != part3:
            fail(path, f"part 3 is {parts[2].get_content_type()}, expected {part3}")
        if "returned_subject" in exp:
            if parts[2].is_multipart() or isinstance(parts[2].get_payload(), list):
                inner = parts[2].get_payload()[0]  # message/rfc822, message/global(-headers)
                subject = inner["Subject"]
            else:
                inner = email.message_from_string(parts[2].get_content(), policy=email.policy.default)
                subject = inner["Subject"]
            if subject != exp["returned_subject"]:
                fail(path, f"returned message's Subject: {subject!r}")


def main():
    if len(sys.argv) < 2:
        fail("dsn_check.py", "usage: dsn_check.py FILE...")
    for path in sys.argv[1:]:
        check(path)
    print(f"{len(sys.argv) - 1} DSN(s) OK")


if __name__ == "__main__":
    main()
