"""DNS wire helpers the lab scripts share (the tests prepend this file)."""
import struct


def query(name, qtype=1, qid=0x4242, cookie=None):
    """A DNS query in wire form (RD set). With `cookie` (8 bytes) it carries
    EDNS with a client COOKIE option (RFC 7873)."""
    wire = struct.pack("!HHHHHH", qid, 0x0100, 1, 0, 0, 1 if cookie else 0)
    for label in name.rstrip(".").split("."):
        wire += bytes([len(label)]) + label.encode()
    wire += b"\x00" + struct.pack("!HH", qtype, 1)
    if cookie:
        option = struct.pack("!HH", 10, len(cookie)) + cookie
        wire += b"\x00" + struct.pack("!HHIH", 41, 1232, 0, len(option)) + option
    return wire


