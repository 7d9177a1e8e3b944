"""DNS wire helpers the lab scripts share (the tests prepend this file)."""
import struct


def query(name, qtype=1, qid=0x4242):
    """A DNS query in wire form (RD set, no EDNS)."""
    wire = struct.pack("!HHHHHH", qid, 0x0100, 1, 0, 0, 0)
    for label in name.rstrip(".").split("."):
        wire += bytes([len(label)]) + label.encode()
    return wire + b"\x00" + struct.pack("!HH", qtype, 1)


