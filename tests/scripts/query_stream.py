"""A steady stream of queries to a VIP, to measure what a failover costs.

Usage: query_stream.py SERVER NAME RATE SECONDS TIMEOUT [SOURCE]
Sends RATE queries a second for SECONDS from one socket (bound to SOURCE
if given), each with its own
ID, and counts as lost any that has no NOERROR answer within TIMEOUT
seconds. Prints one JSON object: sent, answered, lost, errors (answers
that were not NOERROR with an answer), and the longest outage: from the
first query lost to the next one answered, in milliseconds. Runs after
dnswire.py (the test joins them).
"""
import json
import socket
import sys
import time

SERVER, NAME = sys.argv[1], sys.argv[2]
RATE, SECONDS, TIMEOUT = float(sys.argv[3]), float(sys.argv[4]), float(sys.argv[5])
family = socket.AF_INET6 if ":" in SERVER else socket.AF_INET
s = socket.socket(family, socket.SOCK_DGRAM)
if len(sys.argv) > 6:
    s.bind((sys.argv[6], 0))
s.setblocking(False)
sent_at = {}  # query number -> send time
outcome = {}  # query number -> "ok" | "error"
start = time.monotonic()
count = int(RATE * SECONDS)
n = 0
while True:
    now = time.monotonic()
    if n < count and now >= start + n / RATE:
        qid = n % 65536
        s.sendto(query(NAME, qid=qid), (SERVER, 53))
        sent_at[n] = now
        n += 1
        continue
    if n >= count and now > sent_at[n - 1] + TIMEOUT:
        break
    try:
        data = s.recv(4096)
    except BlockingIOError:
        time.sleep(0.001)
        continue
    if len(data) < 12:
        continue
    qid = int.from_bytes(data[0:2], "big")
    # The newest query with this ID that is still waiting.
    k = max((m for m in range(qid, n, 65536) if m not in outcome), default=None)
    if k is None or time.monotonic() > sent_at[k] + TIMEOUT:
        continue
    rcode, answers = data[3] & 0x0F, int.from_bytes(data[6:8], "big")
    outcome[k] = "ok" if rcode == 0 and answers > 0 else "error"

lost = [k for k in range(n) if k not in outcome]
longest, run_start = 0.0, None
for k in range(n + 1):
    if k < n and k not in outcome:
        run_start = k if run_start is None else run_start
    elif run_start is not None:
        end = sent_at[k] if k < n else sent_at[n - 1]
        longest = max(longest, end - sent_at[run_start])
        run_start = None
print(json.dumps({
    "sent": n,
    "answered": sum(1 for v in outcome.values() if v == "ok"),
    "errors": sum(1 for v in outcome.values() if v == "error"),
    "lost": len(lost),
    "longest_outage_ms": round(longest * 1000),
}))
