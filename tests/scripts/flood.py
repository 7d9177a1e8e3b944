"""A flood of queries from one source address, to see rate limiting.

Usage: flood.py SERVER NAME COUNT RATE SOURCE KIND
Sends COUNT queries for NAME (each its own ID) at RATE a second from
SOURCE, then listens one more second. KIND is what they carry: `plain`;
`subnet`, an EDNS client subnet option (which the XDP program leaves to
the daemon); `cookie`, a client cookie; `server-cookie`, the client cookie
and the server cookie one query learned first. Prints one JSON object:
sent, answered (NOERROR, TC clear), truncated (TC set), badcookie
(RCODE BADCOOKIE), silent (no reply), seconds (how long sending took).
Runs after dnswire.py.
"""
import json
import socket
import sys
import time

SERVER, NAME = sys.argv[1], sys.argv[2]
COUNT, RATE, SOURCE = int(sys.argv[3]), float(sys.argv[4]), sys.argv[5]
KIND = sys.argv[6]
CLIENT_COOKIE = b"\x01\x02\x03\x04\x05\x06\x07\x08"
family = socket.AF_INET6 if ":" in SERVER else socket.AF_INET
s = socket.socket(family, socket.SOCK_DGRAM)
s.bind((SOURCE, 0))
cookie, options = None, ()
if KIND == "subnet":
    options = [(CLIENT_SUBNET, bytes([0, 1, 24, 0, 10, 0, 0]))]
elif KIND == "cookie":
    cookie = CLIENT_COOKIE
elif KIND == "server-cookie":
    s.settimeout(2.0)
    s.sendto(query(NAME, qid=0xffff, cookie=CLIENT_COOKIE), (SERVER, 53))
    cookie = response_cookie(s.recv(4096))
    assert cookie and cookie[:8] == CLIENT_COOKIE and len(cookie) == 24, cookie
    # Let that query's token come back before the flood.
    time.sleep(1.0)
elif KIND != "plain":
    sys.exit(f"unknown kind {KIND}")
s.setblocking(False)
replies = {}  # ID -> "answered" | "truncated"
start = time.monotonic()
n = 0
deadline = None
while True:
    now = time.monotonic()
    if n < COUNT and now >= start + n / RATE:
        try:
            s.sendto(query(NAME, qid=n, cookie=cookie, options=options), (SERVER, 53))
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
        if data[2] & 0x02:
            replies[qid] = "truncated"
        elif data[3] & 0x0F == 7:
            replies[qid] = "badcookie"  # 23: 7 here, 1 in the OPT
        else:
            replies[qid] = "answered"

values = list(replies.values())
print(json.dumps({
    "sent": n,
    "answered": values.count("answered"),
    "truncated": values.count("truncated"),
    "badcookie": values.count("badcookie"),
    "silent": n - len(values),
    "seconds": round(sending, 3),
}))
