"""A BGP peer that misbehaves on purpose, one way per session anycastd
opens to it, and reports what anycastd did about it.

Usage: bgp_peer.py ADDRESS PEER_AS OUR_AS HOLD
Listens on ADDRESS port 179 as AS OUR_AS (anycastd's peer_as), expects
anycastd as PEER_AS, and plays the scenarios below in order. Prints one
JSON object: for each scenario, the NOTIFICATION anycastd sent ([code,
subcode] or null), whether the session stayed up when it should, and how
long anycastd took to come back; for the last one, the routes announced.
"""
import json
import select
import socket
import struct
import sys
import time

ADDRESS, PEER_AS, OUR_AS, HOLD = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])
MARKER = b"\xff" * 16
OPEN, UPDATE, NOTIFICATION, KEEPALIVE = 1, 2, 3, 4


def message(kind, body=b"", marker=MARKER, length=None):
    return marker + struct.pack("!HB", 19 + len(body) if length is None else length, kind) + body


def open_message(asn):
    caps = bytes([65, 4]) + struct.pack("!I", asn)
    caps += bytes([1, 4, 0, 1, 0, 1]) + bytes([1, 4, 0, 2, 0, 1])
    params = bytes([2, len(caps)]) + caps
    return message(OPEN, struct.pack("!BHH4sB", 4, min(asn, 23456), HOLD, socket.inet_aton("10.255.255.1"), len(params)) + params)


class Gone(Exception):
    pass


def read(conn, timeout):
    """The next message as (type, body), or Gone when the connection ends
    or nothing comes within timeout."""
    def exactly(n):
        data = b""
        deadline = time.monotonic() + timeout
        while len(data) < n:
            left = deadline - time.monotonic()
            if left <= 0 or not select.select([conn], [], [], left)[0]:
                raise Gone("timeout")
            try:
                chunk = conn.recv(n - len(data))
            except OSError:
                raise Gone("reset")
            if not chunk:
                raise Gone("closed")
            data += chunk
        return data
    head = exactly(19)
    length, kind = struct.unpack("!HB", head[16:19])
    return kind, exactly(length - 19)


def notification_from(conn, timeout=10):
    """Reads until anycastd's NOTIFICATION or the end; [code, subcode] or
    None."""
    try:
        while True:
            kind, body = read(conn, timeout)
            if kind == NOTIFICATION:
                return [body[0], body[1]]
    except Gone:
        return None


def establish(conn):
    read(conn, 10)  # anycastd's OPEN
    conn.sendall(open_message(OUR_AS) + message(KEEPALIVE))
    kind, _ = read(conn, 10)
    assert kind == KEEPALIVE, kind


def routes_announced(conn, seconds):
    """IPv4 NLRI and whether MP_REACH came, from the UPDATEs in `seconds`."""
    v4, mp_reach = [], False
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            kind, body = read(conn, max(0.1, deadline - time.monotonic()))
        except Gone:
            break
        if kind != UPDATE:
            continue
        withdrawn = struct.unpack("!H", body[:2])[0]
        attrs_len = struct.unpack("!H", body[2 + withdrawn:4 + withdrawn])[0]
        attrs = body[4 + withdrawn:4 + withdrawn + attrs_len]
        nlri = body[4 + withdrawn + attrs_len:]
        i = 0
        while i < len(attrs):
            flags, code = attrs[i], attrs[i + 1]
            size, head = (struct.unpack("!H", attrs[i + 2:i + 4])[0], 4) if flags & 0x10 else (attrs[i + 2], 3)
            mp_reach |= code == 14
            i += head + size
        while nlri:
            bits = nlri[0]
            octets = (bits + 7) // 8
            v4.append(socket.inet_ntoa(nlri[1:1 + octets].ljust(4, b"\0")) + "/" + str(bits))
            nlri = nlri[1 + octets:]
    return v4, mp_reach


def malformed_update(conn):
    # Withdrawn-routes length 200 in a 4-byte body.
    conn.sendall(message(UPDATE, b"\x00\xc8\x00\x00"))
    # Still up: anycastd's next KEEPALIVE comes within a third of HOLD.
    try:
        while True:
            kind, body = read(conn, HOLD / 3 + 1)
            if kind == KEEPALIVE:
                return {"stayed_up": True}
            if kind == NOTIFICATION:
                return {"stayed_up": False, "notification": [body[0], body[1]]}
    except Gone as e:
        return {"stayed_up": False, "ended": str(e)}


def reset(conn):
    conn.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    return {}


SCENARIOS = [
    ("wrong_as", lambda c: (read(c, 10), c.sendall(open_message(OUR_AS + 99)), {"notification": notification_from(c)})[-1]),
    ("bad_marker", lambda c: (establish(c), c.sendall(message(KEEPALIVE, marker=b"\xff" * 15 + b"\x00")), {"notification": notification_from(c)})[-1]),
    ("bad_length", lambda c: (establish(c), c.sendall(message(KEEPALIVE, length=18)), {"notification": notification_from(c)})[-1]),
    ("bad_type", lambda c: (establish(c), c.sendall(message(9)), {"notification": notification_from(c)})[-1]),
    ("open_when_established", lambda c: (establish(c), c.sendall(open_message(OUR_AS)), {"notification": notification_from(c)})[-1]),
    ("malformed_update", lambda c: (establish(c), malformed_update(c))[-1]),
    ("peer_notification", lambda c: (establish(c), c.sendall(message(NOTIFICATION, bytes([6, 4]))), {})[-1]),
    ("peer_reset", lambda c: (establish(c), reset(c))[-1]),
    ("peer_silent", lambda c: (establish(c), {"notification": notification_from(c, HOLD + 5)})[-1]),
]

listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
listener.bind((ADDRESS, 179))
listener.listen(4)
listener.settimeout(40)
report, closed_at = {}, None
for name, play in SCENARIOS + [("final", None)]:
    conn, _ = listener.accept()
    entry = {"came_back_s": None if closed_at is None else round(time.monotonic() - closed_at, 2)}
    try:
        if play:
            entry.update(play(conn))
        else:
            establish(conn)
            entry["ipv4_routes"], entry["ipv6_mp_reach"] = routes_announced(conn, 3)
            conn.sendall(message(NOTIFICATION, bytes([6, 2])))
    except (Gone, AssertionError) as e:
        entry["failed"] = repr(e)
    conn.close()
    closed_at = time.monotonic()
    report[name] = entry
print(json.dumps(report))
