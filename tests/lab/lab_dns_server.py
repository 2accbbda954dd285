"""The censor's resolver: answers the reader's DNS queries as the policy file says, live.

Run inside the censor namespace (``python lab_dns_server.py POLICY``); prints ``ready`` once
it listens on the reader-side address, port 53 (UDP). The policy file is re-read on every
query: ``{"records": {name: address}, "rules": {name: "nxdomain" | "silent" | address}}``.
A rule wins over the record: NXDOMAIN, no answer at all, or a poisoned address. AAAA and
other types get an empty answer, unknown names NXDOMAIN.
"""

from __future__ import annotations

import json
import os
import socket
import sys
from pathlib import Path

from dnslib import QTYPE, RCODE, RR, A, DNSRecord

LISTEN = ("198.18.0.1", 53)


def answer(query: bytes, policy_file: Path) -> bytes | None:
    request = DNSRecord.parse(query)
    policy = json.loads(policy_file.read_text())
    name = str(request.q.qname).rstrip(".").lower()
    reply = request.reply()
    rule = policy["rules"].get(name)
    if rule == "silent":
        return None
    address = rule if rule not in (None, "nxdomain") else policy["records"].get(name)
    if rule == "nxdomain" or address is None:
        reply.header.rcode = RCODE.NXDOMAIN
    elif request.q.qtype == QTYPE.A:
        reply.add_answer(RR(request.q.qname, QTYPE.A, rdata=A(address), ttl=1))
    return bytes(reply.pack())


def main() -> None:
    policy_file = Path(sys.argv[1])
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sock.bind(LISTEN)
    os.write(1, b"ready\n")
    while True:
        query, peer = sock.recvfrom(4096)
        try:
            reply = answer(query, policy_file)
        except Exception as exc:
            print(f"bad query from {peer}: {exc!r}", file=sys.stderr, flush=True)
            continue
        if reply is not None:
            sock.sendto(reply, peer)


if __name__ == "__main__":
    main()
