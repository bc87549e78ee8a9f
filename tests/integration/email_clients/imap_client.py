#!/usr/bin/python3
"""Drives the email plugin's IMAP (and POP3) server the way a person's mail client does, with
python's own imaplib/poplib/smtplib, for tests/integration/email_client_test.cpp. Each command
prints "step: <name> <status> <data>" lines the test checks, and exits 0 when it ran to the
end (the test decides whether the answers were right)."""
import imaplib
import json
import poplib
import smtplib
import socket
import ssl
import sys
import time


def step(name, status, data=None):
    if isinstance(data, list):
        data = [d.decode("utf-8", "replace") if isinstance(d, bytes) else
                [x.decode("utf-8", "replace") if isinstance(x, bytes) else x for x in d]
                if isinstance(d, tuple) else d for d in data]
    print("step: %s %s %s" % (name, status, json.dumps(data)), flush=True)


def login(port, user, password):
    imap = imaplib.IMAP4("127.0.0.1", port, timeout=60)
    typ, data = imap.login(user, password)
    step("login", typ, data)
    return imap


def workout(port, user, password):
    """Read, search, flag, copy, move, expunge and append, as a client does."""
    m = login(port, user, password)
    typ, data = m.select("INBOX")
    step("select", typ, data)
    typ, data = m.uid("SEARCH", None, "UNSEEN")
    step("search-unseen", typ, data)
    typ, data = m.uid("SEARCH", None, "SUBJECT", '"Lunch"')
    step("search-subject", typ, data)
    typ, data = m.uid("FETCH", "1", "(FLAGS BODY.PEEK[HEADER.FIELDS (SUBJECT)])")
    step("fetch-subject", typ, data)
    typ, data = m.uid("FETCH", "1", "(BODY[])")
    step("fetch-body", typ, data)
    typ, data = m.uid("FETCH", "1", "(FLAGS)")
    step("flags-after-read", typ, data)
    typ, data = m.uid("STORE", "1", "+FLAGS", "(\\Flagged)")
    step("store", typ, data)
    typ, data = m.create("Archive")
    step("create", typ, data)
    typ, data = m.uid("COPY", "1", "Archive")
    step("copy", typ, data)
    typ, data = m.uid("MOVE", "2", "Archive")
    step("move", typ, m.response("COPYUID")[1])
    typ, data = m.uid("STORE", "1", "+FLAGS", "(\\Deleted)")
    typ, data = m.expunge()
    step("expunge", typ, data)
    typ, data = m.append("Archive", "(\\Seen)", None,
                         b"From: bob@demo.example\r\nSubject: note to self\r\n\r\nremember\r\n")
    step("append", typ, data)
    typ, data = m.status("Archive", "(MESSAGES UNSEEN UIDNEXT)")
    step("status", typ, data)
    typ, data = m.list()
    step("list", typ, data)
    m.logout()


def listing(port, user, password, folder):
    """The UIDs, flags and subjects of a folder, one step per message."""
    m = login(port, user, password)
    typ, data = m.select(folder, readonly=True)
    step("select", typ, data)
    typ, data = m.uid("FETCH", "1:*", "(FLAGS BODY.PEEK[HEADER.FIELDS (SUBJECT)])")
    step("listing", typ, data)
    m.logout()


def idle(port, user, password, smtp_port, sender, sender_password):
    """IDLE on INBOX (imaplib in python 3.11 has no IDLE: the lines are written by hand), then
    send a message to ourselves through `smtp_port` and wait for the EXISTS it brings."""
    s = socket.create_connection(("127.0.0.1", port), timeout=60)
    f = s.makefile("rb")
    f.readline()
    s.sendall(b'a1 LOGIN "%s" "%s"\r\n' % (user.encode(), password.encode()))
    line = f.readline()
    while not line.startswith(b"a1 "):
        line = f.readline()
    step("login", line.split()[1].decode())
    s.sendall(b"a2 SELECT INBOX\r\n")
    exists = None
    while True:
        line = f.readline()
        if line.endswith(b" EXISTS\r\n"):
            exists = int(line.split()[1])
        if line.startswith(b"a2 "):
            break
    step("select", line.split()[1].decode(), exists)
    s.sendall(b"a3 IDLE\r\n")
    step("idle", f.readline().decode().strip())
    with smtplib.SMTP("127.0.0.1", smtp_port, timeout=60) as smtp:
        smtp.login(sender, sender_password)
        smtp.sendmail(sender, [user], "From: %s\r\nTo: %s\r\nSubject: while idling\r\n\r\nhi\r\n"
                      % (sender, user))
    step("sent", "OK")
    deadline = time.time() + 60
    s.settimeout(60)
    seen = None
    while time.time() < deadline:
        line = f.readline()
        if not line:
            break
        if line.endswith(b" EXISTS\r\n"):
            seen = int(line.split()[1])
            break
    step("exists", "OK" if seen else "NO", seen)
    s.sendall(b"DONE\r\n")
    line = f.readline()
    while line and not line.startswith(b"a3 "):
        line = f.readline()
    step("done", line.decode().strip())
    s.close()


def pop3(port, user, password):
    """Reads and deletes everything with POP3."""
    p = poplib.POP3("127.0.0.1", port, timeout=60)
    p.user(user)
    step("pass", p.pass_(password).decode())
    count, size = p.stat()
    step("stat", "OK", [count, size])
    step("uidl", "OK", p.uidl()[1])
    for n in range(1, count + 1):
        resp, lines, octets = p.retr(n)
        step("retr", resp.decode(), [octets, b"\r\n".join(lines).decode("utf-8", "replace")])
        p.dele(n)
    step("quit", p.quit().decode())


def tls(imap_port, smtp_port, pop3_port, user, password, cafile):
    """STARTTLS (IMAP, SMTP) and STLS (POP3) with the node's certificate verified against
    `cafile`, then a login and a little work over each."""
    context = ssl.create_default_context(cafile=cafile)
    m = imaplib.IMAP4("127.0.0.1", imap_port, timeout=60)
    typ, data = m.starttls(ssl_context=context)
    step("imap-starttls", typ, data)
    step("imap-cipher", "OK", m.sock.version())
    typ, data = m.login(user, password)
    step("imap-login", typ)
    typ, data = m.select("INBOX")
    step("imap-select", typ, data)
    m.logout()
    with smtplib.SMTP("127.0.0.1", smtp_port, timeout=60) as smtp:
        code, _ = smtp.starttls(context=context)
        step("smtp-starttls", str(code))
        smtp.login(user, password)
        smtp.sendmail(user, [user], "From: %s\r\nTo: %s\r\nSubject: over TLS\r\n\r\nsecret\r\n"
                      % (user, user))
        step("smtp-sent", "OK")
    p = poplib.POP3("127.0.0.1", pop3_port, timeout=60)
    step("pop3-stls", p.stls(context=context).decode())
    p.user(user)
    step("pop3-pass", p.pass_(password).decode())
    p.quit()


def implicit_tls(imaps_port, smtps_port, pop3s_port, user, password, cafile):
    """The implicit-TLS ports (RFC 8314): TLS from the first byte, then the protocols."""
    context = ssl.create_default_context(cafile=cafile)
    m = imaplib.IMAP4_SSL("127.0.0.1", imaps_port, ssl_context=context, timeout=60)
    typ, data = m.login(user, password)
    step("imaps-login", typ)
    typ, data = m.select("INBOX")
    step("imaps-select", typ, data)
    m.logout()
    with smtplib.SMTP_SSL("127.0.0.1", smtps_port, context=context, timeout=60) as smtp:
        smtp.login(user, password)
        smtp.sendmail(user, [user], "From: %s\r\nTo: %s\r\nSubject: implicit TLS\r\n\r\nhi\r\n"
                      % (user, user))
        step("smtps-sent", "OK")
    p = poplib.POP3_SSL("127.0.0.1", pop3s_port, context=context, timeout=60)
    p.user(user)
    step("pop3s-pass", p.pass_(password).decode())
    p.quit()


if __name__ == "__main__":
    what, args = sys.argv[1], sys.argv[2:]
    try:
        if what == "workout":
            workout(int(args[0]), args[1], args[2])
        elif what == "listing":
            listing(int(args[0]), args[1], args[2], args[3])
        elif what == "idle":
            idle(int(args[0]), args[1], args[2], int(args[3]), args[4], args[5])
        elif what == "tls":
            tls(int(args[0]), int(args[1]), int(args[2]), args[3], args[4], args[5])
        elif what == "implicit-tls":
            implicit_tls(int(args[0]), int(args[1]), int(args[2]), args[3], args[4], args[5])
        elif what == "pop3":
            pop3(int(args[0]), args[1], args[2])
        else:
            sys.exit("unknown command " + what)
    except Exception as e:  # noqa: the test reads the failure from the output
        step("error", "EXCEPTION", repr(e))
        sys.exit(1)
