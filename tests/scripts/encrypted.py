"""Clients of DNS over TLS and DNS over HTTPS, kind and unkind (the tests
prepend dnswire.py). Each mode prints one JSON object.

Usage: encrypted.py MODE SERVER CA ARGS...
  pipeline SERVER CA NAME...     one DoT connection, every query written at
                                 once: the IDs in the order answered, RCODEs
  hold SERVER CA COUNT SECONDS   COUNT DoT connections opened at once and
                                 held: opened (handshakes done), kept
  silent SERVER CA PORT LIMIT    a TCP connection that sends nothing:
                                 seconds until the server closes it
  garbage SERVER CA PORT         4 KiB that are not TLS: seconds until closed
  idle SERVER CA LIMIT           one DoT query, then nothing: seconds until
                                 the server closes the connection
  rapid_reset SERVER CA COUNT    HTTP/2: COUNT streams, each reset as soon as
                                 it is opened: sent, goaway, closed, seconds
  outsider SERVER CA SOURCE PORT a handshake from SOURCE: whether it was
                                 done, and the seconds it took to end
  certificate SERVER CA          the SHA-256 of the certificate presented
  resume SERVER CA               per TLS version (1.2: session ID, 1.3:
                                 ticket), whether a second DoT connection
                                 resumed the first's session, and answered
  stream SERVER CA SECONDS RATE  DoT queries at RATE a second for SECONDS, a
                                 new connection every 10: sent, answered,
                                 failed
"""
import base64
import hashlib
import json
import os
import socket
import ssl
import struct
import sys
import time

NODE_NAME = "dns.anycast.lab"
MODE, SERVER, CA = sys.argv[1], sys.argv[2], sys.argv[3]
ARGS = sys.argv[4:]


def tls(alpn, port, timeout=5, source=None, context=None, session=None):
    context = context or ssl.create_default_context(cafile=CA)
    context.set_alpn_protocols(alpn)
    raw = socket.create_connection((SERVER, port), timeout=timeout, source_address=(source, 0) if source else None)
    return context.wrap_socket(raw, server_hostname=NODE_NAME, session=session)


def dot(timeout=5):
    return tls(["dot"], 853, timeout)


def read_exact(s, n):
    data = b""
    while len(data) < n:
        chunk = s.recv(n - len(data))
        if not chunk:
            raise EOFError("closed")
        data += chunk
    return data


def framed(wire):
    return len(wire).to_bytes(2, "big") + wire


def read_response(s):
    return read_exact(s, int.from_bytes(read_exact(s, 2), "big"))


def seconds_until_closed(s, limit):
    """Seconds until the peer closes `s` (EOF or reset), at most `limit`."""
    start = time.monotonic()
    s.settimeout(limit)
    try:
        while s.recv(4096):
            pass
    except (socket.timeout, TimeoutError):
        return limit
    except (OSError, ssl.SSLError):
        pass
    return time.monotonic() - start


def pipeline(names):
    s = dot()
    s.sendall(b"".join(framed(query(name, qid=i + 1)) for i, name in enumerate(names)))
    order, rcodes = [], {}
    for _ in names:
        wire = read_response(s)
        qid = int.from_bytes(wire[:2], "big")
        order.append(qid)
        rcodes[qid] = wire[3] & 0x0F
    s.close()
    return {"order": order, "rcodes": [rcodes[i + 1] for i in range(len(names))]}


def hold(count, seconds):
    conns = []
    for _ in range(count):
        try:
            conns.append(dot(timeout=2))
        except (OSError, ssl.SSLError):
            pass
    time.sleep(seconds)
    kept = 0
    for s in conns:
        # Readable may be the server's session tickets: only an end of
        # stream or a reset is a close.
        s.setblocking(False)
        try:
            kept += 1 if s.recv(1) else 0
        except (ssl.SSLWantReadError, BlockingIOError):
            kept += 1
        except (OSError, ssl.SSLError):
            pass
    return {"opened": len(conns), "kept": kept}


def silent(port, limit):
    s = socket.create_connection((SERVER, port), timeout=5)
    return {"seconds": seconds_until_closed(s, limit)}


def garbage(port):
    s = socket.create_connection((SERVER, port), timeout=5)
    s.sendall(b"GET / HTTP/1.0\r\n\r\n" + os.urandom(4096))
    return {"seconds": seconds_until_closed(s, 10)}


def idle(limit):
    s = dot()
    s.sendall(framed(query("www.lab.")))
    read_response(s)
    return {"seconds": seconds_until_closed(s, limit)}


def h2_frame(kind, flags, stream, payload=b""):
    return struct.pack("!I", len(payload))[1:] + bytes([kind, flags]) + struct.pack("!I", stream) + payload


def h2_literal(index, value):
    """A header field without indexing, its name from the static table."""
    value = value.encode()
    assert len(value) < 127
    return bytes([index, len(value)]) + value


def rapid_reset(count):
    s = tls(["h2"], 443)
    path = "/dns-query?dns=" + base64.urlsafe_b64encode(query("www.lab.", qid=0)).decode().rstrip("=")
    # :method GET, :scheme https (static table 2 and 7), :path, :authority.
    block = b"\x82\x87" + h2_literal(4, path) + h2_literal(1, NODE_NAME)
    s.sendall(b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n" + h2_frame(4, 0, 0))
    start, sent, goaway, closed, received = time.monotonic(), 0, False, False, b""
    s.setblocking(False)
    while sent < count and not goaway and not closed:
        batch = b""
        for _ in range(min(100, count - sent)):
            stream = 2 * sent + 1
            # HEADERS with END_STREAM and END_HEADERS, then RST_STREAM CANCEL.
            batch += h2_frame(1, 0x5, stream, block) + h2_frame(3, 0, stream, struct.pack("!I", 8))
            sent += 1
        try:
            s.setblocking(True)
            s.settimeout(5)
            s.sendall(batch)
            s.setblocking(False)
            while True:
                chunk = s.recv(65536)
                if not chunk:
                    closed = True
                    break
                received += chunk
        except (ssl.SSLWantReadError, BlockingIOError):
            pass
        except (OSError, ssl.SSLError):
            closed = True
        # Frames as they came: type 7 is GOAWAY.
        while len(received) >= 9:
            length = int.from_bytes(received[:3], "big")
            if len(received) < 9 + length:
                break
            goaway = goaway or received[3] == 7
            received = received[9 + length:]
    return {"sent": sent, "goaway": goaway, "closed": closed, "seconds": time.monotonic() - start}


def outsider(source, port):
    start = time.monotonic()
    try:
        tls(["dot"] if port == 853 else ["h2"], port, source=source).close()
        done = True
    except (OSError, ssl.SSLError):
        done = False
    return {"handshake": done, "seconds": time.monotonic() - start}


def certificate():
    s = dot()
    der = s.getpeercert(binary_form=True)
    s.close()
    return {"sha256": hashlib.sha256(der).hexdigest()}


def resume():
    report = {}
    for name, version in [("tls1.2", ssl.TLSVersion.TLSv1_2), ("tls1.3", ssl.TLSVersion.TLSv1_3)]:
        context = ssl.create_default_context(cafile=CA)
        context.minimum_version = context.maximum_version = version
        session, reused, rcodes = None, [], []
        for _ in range(2):
            s = tls(["dot"], 853, context=context, session=session)
            # A TLS 1.3 ticket comes after the handshake: read an answer.
            s.sendall(framed(query("www.lab.", qid=7)))
            rcodes.append(read_response(s)[3] & 0x0F)
            reused.append(s.session_reused)
            session = s.session
            s.close()
        report[name] = {"reused": reused, "rcodes": rcodes}
    return report


def stream(seconds, rate):
    sent = answered = failed = 0
    start = time.monotonic()
    s = None
    while time.monotonic() - start < seconds:
        try:
            if s is None or sent % 10 == 0:
                if s is not None:
                    s.close()
                s = dot()
            sent += 1
            s.sendall(framed(query("www.lab.", qid=sent % 65536)))
            wire = read_response(s)
            answered += 1 if wire[3] & 0x0F == 0 else 0
            failed += 0 if wire[3] & 0x0F == 0 else 1
        except (OSError, ssl.SSLError, EOFError):
            failed += 1
            s = None
        time.sleep(max(0.0, start + sent / rate - time.monotonic()))
    return {"sent": sent, "answered": answered, "failed": failed}


MODES = {
    "pipeline": lambda: pipeline(ARGS),
    "hold": lambda: hold(int(ARGS[0]), float(ARGS[1])),
    "silent": lambda: silent(int(ARGS[0]), float(ARGS[1])),
    "garbage": lambda: garbage(int(ARGS[0])),
    "idle": lambda: idle(float(ARGS[0])),
    "rapid_reset": lambda: rapid_reset(int(ARGS[0])),
    "outsider": lambda: outsider(ARGS[0], int(ARGS[1])),
    "certificate": certificate,
    "resume": resume,
    "stream": lambda: stream(float(ARGS[0]), float(ARGS[1])),
}
print(json.dumps(MODES[MODE]()))
