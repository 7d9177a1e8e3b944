"""A random-subdomain flood: names that never repeat, under one zone.

Usage: random_flood.py SERVER ZONE RATE SECONDS SOURCE
Sends RATE queries a second for SECONDS, each for <random>.ZONE, from
SOURCE, and counts the replies. Prints one JSON object: sent, answered
(NOERROR), failed (other RCODEs), silent.
"""
import json
import os
import socket
import sys
import time

SERVER, ZONE, RATE, SECONDS, SOURCE = sys.argv[1], sys.argv[2], float(sys.argv[3]), float(sys.argv[4]), sys.argv[5]
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.bind((SOURCE, 0))
s.setblocking(False)
sent = answered = failed = 0
start = time.monotonic()
end = start + SECONDS
while True:
    now = time.monotonic()
    if now < end and now >= start + sent / RATE:
        name = os.urandom(6).hex() + "." + ZONE
        try:
            s.sendto(query(name, qid=sent % 65536), (SERVER, 53))
            sent += 1
        except BlockingIOError:
            pass
        continue
    if now > end + 2:
        break
    try:
        data = s.recv(4096)
    except BlockingIOError:
        time.sleep(0.0005)
        continue
    if (data[3] & 0x0F) == 0:
        answered += 1
    else:
        failed += 1
print(json.dumps({"sent": sent, "answered": answered, "failed": failed, "silent": sent - answered - failed}))
