#!/usr/bin/env python3
"""A scan-to-e-mail client as multifunction printers behave: Python's
smtplib, STARTTLS with the relay's certificate pinned by its SHA-256
fingerprint, AUTH, one message with the scans attached.

Prints one JSON line: {"stage": ..., "code": N, "message": "..."}, the
stage being where the relay answered last ("sent" when it took the
message). The password is read from standard input, never from argv.
"""
import argparse
import hashlib
import json
import re
import smtplib
import ssl
import sys
from email.message import EmailMessage


def result(stage, code, message):
    if isinstance(message, bytes):
        message = message.decode("utf-8", "replace")
    print(json.dumps({"stage": stage, "code": code, "message": message}))
    sys.exit(0)


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--port", type=int, required=True)
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--fingerprint", default="", help="SHA-256 of the relay's certificate, hex")
    p.add_argument("--no-tls", action="store_true", help="never STARTTLS (an old MFD)")
    p.add_argument("--auth-first", action="store_true", help="AUTH PLAIN before STARTTLS")
    p.add_argument("--auth", default="PLAIN", choices=["PLAIN", "LOGIN", "NONE"])
    p.add_argument("--user", default="")
    p.add_argument("--to", action="append", default=[])
    p.add_argument("--subject", default="Scan from MFD")
    p.add_argument("--attach", action="append", default=[])
    p.add_argument("--no-size", action="store_true", help="do not declare SIZE in MAIL FROM")
    p.add_argument("--message-id", default="", help="the Message-ID header (MFDs set one; none by default)")
    p.add_argument("--hang-up-after-data", action="store_true",
                   help="send the message and its final '.', then drop the connection without reading the reply (a network drop)")
    a = p.parse_args()
    password = sys.stdin.readline().rstrip("\n")

    try:
        s = smtplib.SMTP(a.host, a.port, timeout=30)
    except smtplib.SMTPConnectError as e:
        result("connect", e.smtp_code, e.smtp_error)
    except (smtplib.SMTPServerDisconnected, ConnectionError) as e:
        result("connect", 0, str(e))
    s.ehlo("mfd.example")
    if a.auth_first:
        code, msg = s.docmd("AUTH", "PLAIN " + __import__("base64").b64encode(
            b"\0" + a.user.encode() + b"\0" + password.encode()).decode())
        result("auth", code, msg)
    if not a.no_tls:
        ctx = ssl.create_default_context()
        ctx.check_hostname = False
        ctx.verify_mode = ssl.CERT_NONE  # pinned below, as MFDs do
        s.starttls(context=ctx)
        der = s.sock.getpeercert(binary_form=True)
        got = hashlib.sha256(der).hexdigest()
        if a.fingerprint and got != a.fingerprint.replace(":", "").lower():
            result("tls", 0, "certificate fingerprint mismatch: " + got)
        s.ehlo("mfd.example")
    if a.auth != "NONE":
        try:
            if a.auth == "LOGIN":
                s.user, s.password = a.user, password
                code, msg = s.auth("LOGIN", s.auth_login, initial_response_ok=False)
            else:
                code, msg = s.login(a.user, password)
        except smtplib.SMTPAuthenticationError as e:
            result("auth", e.smtp_code, e.smtp_error)
        except smtplib.SMTPNotSupportedError as e:
            result("auth", 0, "AUTH not offered: " + str(e))

    m = EmailMessage()
    m["From"] = "scanner@clinic.example"
    m["To"] = ", ".join(a.to)
    m["Subject"] = a.subject
    if a.message_id:
        m["Message-ID"] = a.message_id
    m.set_content("Scanned by the front desk MFD.\n")
    for path in a.attach:
        with open(path, "rb") as f:
            data = f.read()
        name = path.rsplit("/", 1)[-1]
        if name.endswith(".pdf"):
            m.add_attachment(data, maintype="application", subtype="pdf", filename=name)
        else:
            m.add_attachment(data, maintype="application", subtype="octet-stream", filename=name)
    try:
        opts = [] if a.no_size else ["SIZE=%d" % len(m.as_bytes())]
        code, msg = s.mail("scanner@clinic.example", opts)
        if code != 250:
            result("mail", code, msg)
        for rcpt in a.to:
            code, msg = s.rcpt(rcpt)
            if code not in (250, 251):
                result("rcpt", code, msg)
        if a.hang_up_after_data:
            code, msg = s.docmd("DATA")
            if code != 354:
                result("data", code, msg)
            body = re.sub(rb"(?:\r\n|\n|\r(?!\n))", b"\r\n", m.as_bytes())
            body = re.sub(rb"(?m)^\.", b"..", body)
            if not body.endswith(b"\r\n"):
                body += b"\r\n"
            s.send(body + b".\r\n")
            s.sock.close()
            result("hung-up", 0, "the final '.' was sent; the reply was not read")
        code, msg = s.data(m.as_bytes())
    except smtplib.SMTPDataError as e:
        result("data", e.smtp_code, e.smtp_error)
    except smtplib.SMTPServerDisconnected as e:
        result("data", 0, "disconnected: " + str(e))
    if code != 250:
        result("data", code, msg)
    s.quit()
    result("sent", code, msg)


main()
