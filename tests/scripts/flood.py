"""A flood of queries from one source address, to see rate limiting.

Usage: flood.py SERVER NAME COUNT RATE SOURCE COOKIE
Sends COUNT queries for NAME (each its own ID) at RATE a second from
SOURCE, with an EDNS COOKIE option if COOKIE is 1 (the XDP program leaves
those to the daemon), then listens one more second. Prints one JSON
object: sent, answered (TC clear), truncated (TC set), silent (no reply),
seconds (how long sending took). Runs after dnswire.py.
"""
import json
import socket
import sys
import time

SERVER, NAME = sys.argv[1], sys.argv[2]
COUNT, RATE, SOURCE = int(sys.argv[3]), float(sys.argv[4]), sys.argv[5]
COOKIE = b"\x01\x02\x03\x04\x05\x06\x07\x08" if sys.argv[6] == "1" else None
family = socket.AF_INET6 if ":" in SERVER else socket.AF_INET
s = socket.socket(family, socket.SOCK_DGRAM)
s.bind((SOURCE, 0))
s.setblocking(False)
replies = {}  # ID -> "answered" | "truncated"
start = time.monotonic()
n = 0
deadline = None
while True:
    now = time.monotonic()
    if n < COUNT and now >= start + n / RATE:
        try:
            s.sendto(query(NAME, qid=n, cookie=COOKIE), (SERVER, 53))
            n += 1
        except BlockingIOError:
            time.sleep(0.0005)
        continue
    if n >= COUNT and deadline is None:
        sending = now - start
        deadline = now + 1.0
    if deadline is not None and now > deadline:
        break
    try:
        data = s.recv(4096)
    except BlockingIOError:
        time.sleep(0.0005)
        continue
    if len(data) >= 12:
        qid = int.from_bytes(data[0:2], "big")
        replies[qid] = "truncated" if data[2] & 0x02 else "answered"

values = list(replies.values())
print(json.dumps({
    "sent": n,
    "answered": values.count("answered"),
    "truncated": values.count("truncated"),
    "silent": n - len(values),
    "seconds": round(sending, 3),
}))
