"""Asks each name once, in turn, and times each answer.

Usage: ask_each.py SERVER FILE
FILE holds one name per line; each is asked for A over UDP to SERVER:53,
the next once the answer came (or after two seconds, then it is lost).
Prints one JSON object: sent, noerror (NOERROR answers with records),
lost, and the answers' latencies in milliseconds: p50, p90, p99. Runs
after dnswire.py (the test joins them).
"""
import json
import socket
import sys
import time

SERVER = sys.argv[1]
with open(sys.argv[2]) as f:
    names = [line.strip() for line in f if line.strip()]
family = socket.AF_INET6 if ":" in SERVER else socket.AF_INET
s = socket.socket(family, socket.SOCK_DGRAM)
s.settimeout(2.0)
latencies, noerror, lost = [], 0, 0
for n, name in enumerate(names):
    qid = n % 65536
    sent = time.monotonic()
    s.sendto(query(name, qid=qid), (SERVER, 53))
    try:
        while True:
            data = s.recv(4096)
            if int.from_bytes(data[:2], "big") == qid:
                break
    except socket.timeout:
        lost += 1
        continue
    latencies.append((time.monotonic() - sent) * 1000)
    # NOERROR (RCODE 0) with at least one answer record.
    if data[3] & 0x0F == 0 and int.from_bytes(data[6:8], "big") > 0:
        noerror += 1
latencies.sort()


def percentile(p):
    return round(latencies[min(len(latencies) - 1, int(p * len(latencies)))], 3) if latencies else None


print(json.dumps({
    "sent": len(names),
    "noerror": noerror,
    "lost": lost,
    "p50_ms": percentile(0.50),
    "p90_ms": percentile(0.90),
    "p99_ms": percentile(0.99),
}))
