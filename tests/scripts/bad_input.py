"""Bad input for anycastd, sent from the lab's client namespace.

Usage: bad_input.py VIP4 VIP6 IDLE_SECONDS OUTSIDER_ADDRESS
Prints one JSON object with what was sent and what came back. Runs after
dnswire.py (the test joins them).
"""
import json
import random
import socket
import struct
import sys
import time

VIP4, VIP6, IDLE = sys.argv[1], sys.argv[2], float(sys.argv[3])
rng = random.Random(0x5EED)
report = {}


def tcp_exchange(message, timeout=5.0):
    """Sends one length-prefixed message over a new connection; returns the
    response (bytes) or None."""
    with socket.create_connection((VIP4, 53), timeout=timeout) as s:
        s.sendall(struct.pack("!H", len(message)) + message)
        return read_message(s)


def read_message(s):
    head = b""
    while len(head) < 2:
        chunk = s.recv(2 - len(head))
        if not chunk:
            return None
        head += chunk
    (length,) = struct.unpack("!H", head)
    body = b""
    while len(body) < length:
        chunk = s.recv(length - len(body))
        if not chunk:
            return None
        body += chunk
    return body


def rcode(message):
    return message[3] & 0x0F if message and len(message) >= 12 else None


# Garbage datagrams: random bytes and lengths, to both VIPs. Responses are
# counted; each must be a response (QR) echoing the ID of a datagram sent.
ids = set()
sockets = [socket.socket(socket.AF_INET, socket.SOCK_DGRAM), socket.socket(socket.AF_INET6, socket.SOCK_DGRAM)]
for s in sockets:
    s.setblocking(False)
for i in range(2000):
    length = rng.choice([0, 1, 11, 12, 13, 17, 40, 300, 512, 1400, 1472])
    data = bytes(rng.getrandbits(8) for _ in range(length))
    if length >= 2:
        ids.add(data[:2])
    (sockets[i % 2]).sendto(data, (VIP4, 53) if i % 2 == 0 else (VIP6, 53))
    if i % 100 == 99:
        time.sleep(0.02)
time.sleep(1.0)
responses, bad = 0, 0
for s in sockets:
    while True:
        try:
            data = s.recv(65535)
        except BlockingIOError:
            break
        responses += 1
        if len(data) < 12 or not data[2] & 0x80 or data[:2] not in ids:
            bad += 1
report["garbage_udp"] = {"sent": 2000, "responses": responses, "not_dns_responses": bad}

# TCP frames cut short, empty or oversized.
tcp = {}
for name, data in [
    ("half_length_prefix", b"\x00"),
    ("body_cut_short", b"\x00\x64" + b"\x12" * 10),
]:
    with socket.create_connection((VIP4, 53), timeout=5) as s:
        s.sendall(data)
        s.shutdown(socket.SHUT_WR)
        tcp[name] = "closed" if s.recv(10) == b"" else "answered"
# A zero-length message: nothing to answer (no ID); the connection stays.
with socket.create_connection((VIP4, 53), timeout=5) as s:
    s.sendall(b"\x00\x00" + struct.pack("!H", len(query("www.example.lab."))) + query("www.example.lab."))
    tcp["empty_then_query_rcode"] = rcode(read_message(s))
# The largest frame there is: 65535 bytes of a query header then garbage.
big = struct.pack("!HHHHHH", 0x0B16, 0x0100, 1, 0, 0, 0) + bytes(rng.getrandbits(8) for _ in range(65535 - 12))
tcp["oversized_rcode"] = rcode(tcp_exchange(big))
# A length that promises more than ever comes: cut off after the idle time.
with socket.create_connection((VIP4, 53), timeout=IDLE + 5) as s:
    start = time.time()
    s.sendall(b"\xff\xff" + b"\x00" * 100)
    s.recv(10)
    tcp["promise_cut_after_s"] = round(time.time() - start, 2)
report["tcp"] = tcp

# Slowloris: more trickling connections than the daemon takes at once,
# each sending one byte every 0.3 s. The daemon must cut them all within
# the idle time (plus slack) and answer a new client afterwards.
loris = []
for _ in range(300):
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    s.settimeout(2)
    try:
        s.connect((VIP4, 53))
        loris.append(s)
    except OSError:
        s.close()
start = time.time()
alive = set(range(len(loris)))
closed_at = {}
while alive and time.time() - start < IDLE + 4:
    for i in list(alive):
        try:
            loris[i].send(b"\x01")
        except OSError:
            alive.discard(i)
            closed_at[i] = time.time() - start
    time.sleep(0.3)
for s in loris:
    s.close()
report["slowloris"] = {
    "connected": len(loris),
    "still_open": len(alive),
    "last_cut_s": round(max(closed_at.values(), default=0.0), 2),
}
answer = tcp_exchange(query("www.example.lab."))
report["after_slowloris_rcode"] = rcode(answer)

# Queries from outside the ACL (a second client address, not allowed).
outsider = {}
for transport in ["udp", "tcp"]:
    if transport == "udp":
        s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        s.bind((sys.argv[4], 0))
        s.settimeout(3)
        s.sendto(query("www.example.lab.", qid=0x0BAD), (VIP4, 53))
        outsider[transport] = rcode(s.recv(65535))
    else:
        s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        s.bind((sys.argv[4], 0))
        s.settimeout(3)
        s.connect((VIP4, 53))
        message = query("www.example.lab.", qid=0x0BAD)
        s.sendall(struct.pack("!H", len(message)) + message)
        outsider[transport] = rcode(read_message(s))
    s.close()
report["outside_acl_rcode"] = outsider
print(json.dumps(report))
