#!/usr/bin/env python3
# The full-screen browser (`tern` with no subcommand on a terminal), driven through tmux at a fixed
# size (issue 10): mail fetched from a real ternd with `tern pop`, then keys sent to the pane and
# the screen read back with capture-pane: the header list shows the subjects, j moves the
# selection, Enter opens the reader (and marks the message read), q goes back, the folder list
# shows INBOX, q quits with status 0 and the terminal is given back; r replies through $EDITOR and
# sends over submission (the reply arrives, the original is \Answered), an HTML-only message is
# shown rendered as text, v saves an attachment byte for byte. Waits poll the pane (bounded).
import os
import random
import re
import shutil
import smtplib
import subprocess
import sys
import tempfile
import time
import unittest
from email.message import EmailMessage

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import ternlib  # noqa: E402
from ternclient import Client, fingerprint, tern_binary  # noqa: E402
from ternlib import DOMAIN  # noqa: E402

PASSWORD = "browser-pw"
USER = "carol@" + DOMAIN
BOB = "bob@" + DOMAIN  # the originals' sender: a local user, so replies can be checked where they arrive
KEYS = "q:Folders  Ret:Open  d:Del  u:Undel  N:New  F:Flag  /:Find  n:Next  r:Reply  m:Mail  v:Save  Q:Quit"  # the header list's bottom line
SUBJECTS = ["first lunch plan", "second Grüße aus Köln", "third quarterly report"]


def message(i, subject):
    return ("From: Bob Sender <" + BOB + ">\r\nTo: " + USER + "\r\nSubject: " + subject +
            "\r\nDate: Mon, 0" + str(i + 1) + " Dec 2025 10:00:00 +0000\r\nMessage-ID: <b" + str(i) +
            "@remote.example>\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n" +
            "body of message " + str(i + 1) + "\r\nsecond line\r\n").encode()


class Tmux:
    """One private tmux server (its own socket) running one pane at a fixed size."""

    def __init__(self, env, width=100, height=30):
        self.dir = tempfile.mkdtemp(prefix="tern-tmux-")
        self.socket = os.path.join(self.dir, "sock")
        conf = os.path.join(self.dir, "tmux.conf")
        with open(conf, "w") as f:
            f.write("set -g remain-on-exit on\nset -g default-terminal screen\nset -g status off\n")
        self.env = dict(env)
        self.env.pop("TMUX", None)
        self.env["TERM"] = "screen"
        self.conf = conf
        self.width, self.height = width, height

    def tmux(self, *args, check=True):
        p = subprocess.run(["tmux", "-S", self.socket, "-f", self.conf] + list(args), env=self.env,
                           capture_output=True, timeout=20)
        if check and p.returncode != 0:
            raise AssertionError(f"tmux {args} -> {p.returncode}: {p.stderr.decode(errors='replace')}")
        return p.stdout.decode(errors="replace")

    def start(self, command):
        self.tmux("new-session", "-d", "-s", "t", "-x", str(self.width), "-y", str(self.height), command)

    def keys(self, *keys):
        self.tmux("send-keys", "-t", "t", *keys)

    def screen(self):
        return self.tmux("capture-pane", "-p", "-t", "t")

    def wait_for(self, predicate, what, timeout=15.0):
        deadline = time.monotonic() + timeout
        while True:
            text = self.screen()
            if predicate(text):
                return text
            if time.monotonic() > deadline:
                raise AssertionError(f"timed out waiting for {what}; the screen:\n{text}")
            time.sleep(0.05)

    def wait_text(self, needle, timeout=15.0):
        return self.wait_for(lambda s: needle in s, repr(needle), timeout)

    def start_tern(self, *args):
        """tern in the pane under a shell that prints its exit status once it has exited (tmux
        3.3's own #{pane_dead_status} is sometimes never filled in: the child is left unreaped)."""
        cmd = " ".join([tern_binary()] + list(args))
        self.start(f"sh -c '{cmd}; echo \"tern exited with status $?\"'")

    def exit_status(self, timeout=15.0):
        """tern's exit status and the pane's text after it (with its scrollback: tmux's "Pane is
        dead" line may push the first lines off the screen)."""
        deadline = time.monotonic() + timeout
        while True:
            text = self.tmux("capture-pane", "-p", "-S", "-200", "-t", "t")
            m = re.search(r"tern exited with status (\d+)", text)
            if m:
                return int(m.group(1)), text
            if time.monotonic() > deadline:
                raise AssertionError("tern did not exit; the screen:\n" + text)
            time.sleep(0.05)

    def cleanup(self):
        self.tmux("kill-server", check=False)
        shutil.rmtree(self.dir, ignore_errors=True)


def selected_line(tmux):
    """The message line drawn in reverse video (the selection), read from capture-pane -e."""
    for line in tmux.tmux("capture-pane", "-p", "-e", "-t", "t").splitlines():
        if "\x1b[7m" in line and any(s.split()[0] in line for s in SUBJECTS):
            return line
    return "(no selected line in: " + repr(tmux.tmux("capture-pane", "-p", "-e", "-t", "t")) + ")"


class TernBrowser(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.server = ternlib.Server(protos=("smtp", "pop3s", "submissions"))
        cls.server.start()
        cls.server.add_domain()
        cls.server.add_user(USER, PASSWORD)
        cls.server.add_user(BOB, PASSWORD)
        fp = fingerprint(cls.server)
        with smtplib.SMTP("127.0.0.1", cls.server.port("smtp")) as s:
            for i, subject in enumerate(SUBJECTS):
                s.sendmail(BOB, [USER], message(i, subject))
        cls.server.wait_count(USER, len(SUBJECTS))
        cls.client = Client()
        cls.client.run("account", "add", "home", "--address", USER, "--pop3",
                       f"127.0.0.1:{cls.server.port('pop3s')}", "--smtp",
                       f"127.0.0.1:{cls.server.port('submissions')}", "--fingerprint", fp, input=PASSWORD + "\n")
        out = cls.client.run("pop").stdout.decode()
        assert "3 new messages downloaded" in out, out

    @classmethod
    def tearDownClass(cls):
        cls.client.cleanup()
        cls.server.cleanup()

    def setUp(self):
        self.tmux = Tmux(self.client.env)
        self.addCleanup(self.tmux.cleanup)

    def test_browse_read_and_quit(self):
        t = self.tmux
        t.start_tern()
        screen = t.wait_text("third quarterly report")
        for s in SUBJECTS:
            self.assertIn(s, screen)
        self.assertIn("tern: INBOX", screen)
        self.assertIn("Bob Sender", screen)
        self.assertEqual(screen.splitlines()[-1].rstrip(), KEYS)  # the keys on the bottom line
        self.assertLessEqual(max(len(line) for line in screen.splitlines()), 100)
        # All unread: the selection starts on the first message; j moves it down.
        t.wait_for(lambda s: "[1/3]" in s, "position 1/3")
        self.assertIn("first", selected_line(t))
        t.keys("j")
        t.wait_for(lambda s: "[2/3]" in s, "position 2/3")
        self.assertIn("second", selected_line(t))
        # Enter opens the reader.
        t.keys("Enter")
        screen = t.wait_text("body of message 2")
        self.assertIn("Subject: second Grüße aus Köln", screen)
        self.assertIn("From: Bob Sender <" + BOB + ">", screen)
        self.assertIn("q:Back", screen)
        # q goes back to the header list, where it is no longer new.
        t.keys("q")
        t.wait_text("q:Folders")
        flags = {m["subject"]: m["flags"] for m in self.client.json("list")}
        self.assertIn("\\Seen", flags["second Grüße aus Köln"])
        self.assertNotIn("\\Seen", flags["first lunch plan"])
        # c: the folder list shows INBOX with its counts.
        t.keys("c")
        screen = t.wait_text("tern: folders")
        self.assertIn("INBOX", screen)
        self.assertIn("3 messages, 2 unread", screen)
        # q quits; the pane's process exits with status 0.
        t.keys("q")
        status, screen = t.exit_status()
        self.assertEqual(status, 0)
        self.assertNotIn("tern: folders", screen)  # the terminal is given back (curses screen gone)

    def test_resize_and_search(self):
        t = self.tmux
        t.start_tern("browse")
        t.wait_text("third quarterly report")
        t.keys("/")
        t.wait_text("Search subjects and senders:")
        t.keys("-l", "quarterly")
        t.keys("Enter")
        t.wait_for(lambda s: "[3/3]" in s, "the match selected")
        self.assertIn("third", selected_line(t))
        t.tmux("resize-window", "-t", "t", "-x", "60", "-y", "12")
        screen = t.wait_for(lambda s: s.rstrip("\n").splitlines()[-1] == KEYS[:60].rstrip(), "the redraw at 60x12")
        self.assertLessEqual(max(len(line) for line in screen.splitlines()), 60)
        t.keys("Q")
        self.assertEqual(t.exit_status()[0], 0)

    def editor(self, script):
        path = os.path.join(self.tmux.dir, "editor.sh")
        with open(path, "w") as f:
            f.write("#!/bin/sh\n" + script)
        os.chmod(path, 0o700)
        self.tmux.env["EDITOR"] = path

    def test_reply_through_the_editor_is_sent(self):
        t = self.tmux
        mode_file = os.path.join(t.dir, "mode")
        self.editor("stat -c %a \"$1\" > " + mode_file + "\nprintf 'Thanks, see you there.\\n' >> \"$1\"\n")
        t.start_tern()
        t.wait_text("third quarterly report")
        t.keys("j")
        t.wait_for(lambda s: "[2/3]" in s, "position 2/3")
        t.keys("r")
        t.wait_text("sent <")
        with open(mode_file) as f:
            self.assertEqual(f.read().strip(), "600")  # the temporary file is private
        # It arrives at the original's sender, threaded and quoting it.
        reply = self.server.wait_message_with(BOB, "Thanks, see you there.").replace(b"\r\n", b"\n")  # mbox: LF
        self.assertIn(b"\nSubject: Re: second =?UTF-8?", reply)  # "Grüße" travels RFC 2047-encoded
        self.assertIn(b"\nIn-Reply-To: <b1@remote.example>\n", reply)
        self.assertIn(b"\nTo: Bob Sender <" + BOB.encode() + b">\n", reply)
        self.assertIn(b"\n> body of message 2\n", reply)
        self.assertNotIn(b"\nCc:", reply)  # left empty: none
        # The original is \Answered; the copy is in Sent.
        flags = {m["subject"]: m["flags"] for m in self.client.json("list")}
        self.assertIn("\\Answered", flags["second Grüße aus Köln"])
        self.assertIn("Re: second Grüße aus Köln", [m["subject"] for m in self.client.json("list", "--folder", "Sent")])
        # The browser is still running and drawn after the editor.
        t.keys("c")
        screen = t.wait_text("tern: folders")
        self.assertIn("Sent", screen)
        t.keys("q")
        self.assertEqual(t.exit_status()[0], 0)

    def test_compose_through_the_editor_is_sent(self):
        t = self.tmux
        self.editor("printf 'To: " + BOB + "\\nCc: \\nBcc: \\nSubject: composed in the browser\\n\\nnew words here\\n' > \"$1\"\n")
        t.start_tern()
        t.wait_text("third quarterly report")
        t.keys("m")
        t.wait_text("sent <")
        got = self.server.wait_message_with(BOB, "new words here").replace(b"\r\n", b"\n")
        self.assertIn(b"\nSubject: composed in the browser\n", got)
        self.assertIn(b"\nFrom: " + USER.encode() + b"\n", got)
        t.keys("Q")
        self.assertEqual(t.exit_status()[0], 0)

    def test_unsendable_draft_is_kept(self):
        # The editor empties To: the message cannot be built, so what was written is kept in Drafts.
        t = self.tmux
        self.editor("sed -i 's/^To: .*/To:/' \"$1\"\nprintf 'no recipient here\\n' >> \"$1\"\n")
        t.start_tern()
        t.wait_text("third quarterly report")
        t.keys("r")
        t.wait_text("kept in Drafts as message")
        drafts = self.client.json("list", "--folder", "Drafts")
        self.assertEqual(len(drafts), 1)
        self.assertIn("\\Draft", drafts[0]["flags"])
        with open(self.client.maildir_files("home", "Drafts")[0], "rb") as f:
            self.assertIn(b"no recipient here\r\n", f.read())
        self.assertNotIn("\\Answered", {m["subject"]: m["flags"] for m in self.client.json("list")}["first lunch plan"])
        t.keys("Q")
        self.assertEqual(t.exit_status()[0], 0)

    def test_no_terminal_prints_help(self):
        p = self.client.run(check=False)
        self.assertEqual(p.returncode, 1)
        self.assertIn(b"browse", p.stdout)
        self.assertIn(b"Subcommands", p.stdout)


class TernBrowserReader(unittest.TestCase):
    """The reader shows what `tern read` shows (src/mua/render), and v saves attachments."""

    @classmethod
    def setUpClass(cls):
        cls.server = ternlib.Server(protos=("smtp", "pop3s"))
        cls.server.start()
        cls.server.add_domain()
        cls.server.add_user(USER, PASSWORD)
        fp = fingerprint(cls.server)
        cls.blob = random.Random(3).randbytes(50000)
        html = EmailMessage()
        html["From"] = "Hal <hal@remote.example>"
        html["To"] = USER
        html["Subject"] = "html only"
        html.set_content("<html><head><style>p {color: red}</style></head><body><h1>Big News</h1>"
                         "<p>Please <b>read</b> <a href=\"https://news.example/x\">the article</a>.</p></body></html>",
                         subtype="html")
        att = EmailMessage()
        att["From"] = "Ann <ann@remote.example>"
        att["To"] = USER
        att["Subject"] = "with attachment"
        att.set_content("see the file\n")
        att.add_attachment(cls.blob, maintype="application", subtype="octet-stream", filename="report.bin")
        with smtplib.SMTP("127.0.0.1", cls.server.port("smtp")) as s:
            s.send_message(html)
            s.send_message(att)
        cls.server.wait_count(USER, 2)
        cls.client = Client()
        cls.client.run("account", "add", "home", "--address", USER, "--pop3",
                       f"127.0.0.1:{cls.server.port('pop3s')}", "--fingerprint", fp, input=PASSWORD + "\n")
        out = cls.client.run("pop").stdout.decode()
        assert "2 new messages downloaded" in out, out

    @classmethod
    def tearDownClass(cls):
        cls.client.cleanup()
        cls.server.cleanup()

    def setUp(self):
        self.tmux = Tmux(self.client.env)
        self.addCleanup(self.tmux.cleanup)

    def test_html_is_rendered_as_text(self):
        t = self.tmux
        t.start_tern()
        t.wait_text("with attachment")
        t.keys("Home")
        t.wait_for(lambda s: "[1/2]" in s, "position 1/2")
        t.keys("Enter")
        screen = t.wait_text("Big News")
        self.assertIn("Please read the article [1].", screen)
        self.assertIn("[1] https://news.example/x", screen)
        self.assertNotIn("<h1>", screen)
        self.assertNotIn("color", screen)
        t.keys("Q")
        self.assertEqual(t.exit_status()[0], 0)

    def test_save_attachment(self):
        t = self.tmux
        out = os.path.join(t.dir, "saved")
        os.mkdir(out)
        t.start_tern()
        t.wait_text("with attachment")
        t.keys("End")
        t.wait_for(lambda s: "[2/2]" in s, "position 2/2")
        t.keys("Enter")
        t.wait_text("see the file")
        t.keys("v")
        t.wait_text("Save attachments to:")
        t.keys("C-u")
        t.keys("-l", out)
        t.keys("Enter")
        t.wait_text("Saved 1 of 1 attachment")
        with open(os.path.join(out, "report.bin"), "rb") as f:
            self.assertEqual(f.read(), self.blob)
        # Again: the file exists and is not overwritten; the screen says so.
        t.keys("v")
        t.wait_text("Save attachments to:")
        t.keys("C-u")
        t.keys("-l", out)
        t.keys("Enter")
        t.wait_text("Saved 0 of 1 attachment")
        t.keys("Q")
        self.assertEqual(t.exit_status()[0], 0)


if __name__ == "__main__":
    ternlib.main()
