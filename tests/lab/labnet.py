"""A censorship lab in network namespaces: reader ⇄ censor (router + resolver) ⇄ internet.

Invariants (``LAB.md``; requirements, not suggestions — lab traffic never leaves the machine):

- the lab's namespaces link only to each other: no veth end, route or bridge reaches the
  host's own namespace;
- the host namespace holds a blackhole route for the whole lab range (198.18.0.0/15), added
  before anything starts, so a client started by mistake outside the reader namespace fails at
  once instead of sending lab addresses out of the default route;
- every lab client runs inside the reader namespace (``ip netns exec``): :meth:`Lab.run_reader`
  is the only way tests start one.

Names carry the creating process id (``tzlab<PID>…``): :func:`cleanup_stale` removes what a
killed run left behind, and every daemon gets ``PR_SET_PDEATHSIG`` so it dies with the test
process. Every loop and wait here is bounded in count and time.
"""

from __future__ import annotations

import contextlib
import ctypes
import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Literal

import tamizdat

LAB_RANGE = "198.18.0.0/15"
PREFIX = "tzlab"
READER_IP = "198.18.0.2"
CENSOR_READER_SIDE = "198.18.0.1"
CENSOR_INET_SIDE = "198.19.0.1"
FORGER_IP = "198.19.0.99"
MIRROR_COUNT = 3
DOMAIN = "lab.test"
HERE = Path(__file__).resolve().parent
SRC = Path(tamizdat.__file__).resolve().parents[1]
_PR_SET_PDEATHSIG = 1

DnsRule = Literal["nxdomain", "silent"] | str  # or an address: a poisoned answer


def mirror_ip(index: int) -> str:
    """The address of mirror ``index`` (1-based) in the internet namespace."""
    return f"198.19.0.{10 + index}"


def mirror_name(index: int) -> str:
    return f"m{index}.{DOMAIN}"


class LabError(RuntimeError):
    """A lab command failed (the message holds the command and its output)."""


def _die_with_parent() -> None:  # runs in the child between fork and exec
    libc = ctypes.CDLL(None, use_errno=True)
    libc.prctl(_PR_SET_PDEATHSIG, signal.SIGKILL)


def run(
    *argv: str, ns: str | None = None, check: bool = True, stdin: str | None = None
) -> subprocess.CompletedProcess[str]:
    """Run a command (inside namespace ``ns`` if given), bounded to 20 s."""
    command = ["ip", "netns", "exec", ns, *argv] if ns else list(argv)
    done = subprocess.run(
        command, input=stdin, capture_output=True, text=True, timeout=20, check=False
    )
    if check and done.returncode != 0:
        raise LabError(f"{' '.join(command)} → {done.returncode}: {done.stderr.strip()}")
    return done


def _namespaces() -> list[str]:
    listing = run("ip", "netns", "list", check=False).stdout
    return [line.split()[0] for line in listing.splitlines() if line.strip()]


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _delete_namespace(name: str) -> None:
    pids = run("ip", "netns", "pids", name, check=False).stdout.split()
    for pid in pids:
        if pid.isdigit():
            with contextlib.suppress(ProcessLookupError):
                os.kill(int(pid), signal.SIGKILL)
    run("ip", "netns", "delete", name, check=False)
    resolv = Path("/etc/netns") / name
    if resolv.is_dir():
        for file in resolv.iterdir():
            file.unlink()
        resolv.rmdir()


def cleanup_stale() -> list[str]:
    """Delete labs whose creating process is gone (a killed run); return their names."""
    removed = []
    for name in _namespaces():
        digits = name.removeprefix(PREFIX)[:-1]
        if name.startswith(PREFIX) and digits.isdigit() and not _alive(int(digits)):
            _delete_namespace(name)
            removed.append(name)
    return removed


def ensure_blackhole() -> None:
    """Add the host namespace's blackhole route for the lab range if it is missing."""

    def present() -> bool:
        shown = run("ip", "route", "show", "type", "blackhole", LAB_RANGE, check=False).stdout
        return LAB_RANGE.split("/")[0] in shown

    if not present():
        added = run("ip", "route", "add", "blackhole", LAB_RANGE, check=False)
        if not present():  # (another lab, e.g. a parallel test worker, may have added it)
            raise LabError(f"cannot add the blackhole route for {LAB_RANGE}: {added.stderr}")


def probe() -> dict[str, str]:
    """What the kernel or our privileges lack: feature → reason (empty: everything works).

    ``core`` missing means no lab at all (namespaces, veth, nftables with conntrack and
    reject); the others only disable the scenarios that need them.
    """
    if os.geteuid() != 0:
        return {"core": "the lab needs root (CAP_NET_ADMIN and CAP_SYS_ADMIN for namespaces)"}
    name = f"{PREFIX}{os.getpid()}p"
    missing: dict[str, str] = {}
    checks = {
        "core": [
            ["ip", "link", "add", "name", "pa", "type", "veth", "peer", "name", "pb"],
            ["nft", "add table inet t; add chain inet t f { type filter hook forward priority 0; }; "
             "add rule inet t f ct state established accept; "
             "add rule inet t f ip daddr 198.19.0.9 reject with tcp reset"],
        ],
        "stall": [["sysctl", "-qw", "net.netfilter.nf_conntrack_acct=1"],
                  ["nft", "add rule inet t f ct reply bytes gt 16384 drop"]],
        "sni": [["iptables", "-A", "FORWARD", "-p", "tcp", "-m", "string", "--string",
                 "x.lab.test", "--algo", "bm", "-j", "REJECT", "--reject-with", "tcp-reset"]],
        "throttle": [["tc", "qdisc", "add", "dev", "pa", "root", "tbf", "rate", "256kbit",
                      "burst", "8kb", "latency", "1s"]],
    }  # fmt: skip
    try:
        done = run("ip", "netns", "add", name, check=False)
        if done.returncode != 0:
            return {"core": f"cannot create a network namespace: {done.stderr.strip()}"}
        for feature, commands in checks.items():
            for command in commands:
                done = run(*command, ns=name, check=False)
                if done.returncode != 0:
                    missing[feature] = f"{' '.join(command)}: {done.stderr.strip()}"
                    break
            if "core" in missing:
                break
    finally:
        _delete_namespace(name)
    return missing


@dataclass(frozen=True)
class Policy:
    """What the censor does now. Addresses are mirror IPs; names are DNS names.

    ``drop``/``reset``: packets to these addresses vanish / get a TCP reset. ``allow_only``:
    whitelist (None: no whitelist). ``stall_after``: bytes after which each connection from
    ``stall`` addresses (all mirrors when empty) is frozen. ``sni_reset``/``sni_drop``: TLS
    server names reset / silently dropped. ``throttle_kbit``: the whole link's rate. ``dns``:
    name → "nxdomain", "silent" or a (poisoned) address.
    """

    drop: frozenset[str] = frozenset()
    reset: frozenset[str] = frozenset()
    allow_only: frozenset[str] | None = None
    stall_after: int | None = None
    stall: frozenset[str] = frozenset()
    sni_reset: frozenset[str] = frozenset()
    sni_drop: frozenset[str] = frozenset()
    throttle_kbit: int | None = None
    dns: Mapping[str, DnsRule] = field(default_factory=dict)

    def needs(self) -> set[str]:
        """The probed features this policy uses."""
        wanted = set()
        if self.stall_after is not None:
            wanted.add("stall")
        if self.sni_reset or self.sni_drop:
            wanted.add("sni")
        if self.throttle_kbit is not None:
            wanted.add("throttle")
        return wanted


def _set(addresses: frozenset[str]) -> str:
    return "{ " + ", ".join(sorted(addresses)) + " }" if addresses else ""


def _ruleset(policy: Policy) -> str:
    lines = ["table inet censor", "delete table inet censor", "table inet censor {"]
    for set_name, members in (("dropped", policy.drop), ("refused", policy.reset)):
        lines.append(f"  set {set_name} {{ type ipv4_addr;")
        if members:
            lines.append(f"    elements = {_set(members)}")
        lines.append("  }")
    lines.append("  chain forward { type filter hook forward priority 0; policy accept;")
    lines.append("    ip daddr @dropped drop")
    lines.append("    ip daddr @refused reject with tcp reset")
    if policy.stall_after is not None:
        source = f"ip saddr {_set(policy.stall)} " if policy.stall else ""
        lines.append(f"    {source}ct reply bytes gt {policy.stall_after} drop")
    if policy.allow_only is not None:
        lines.append("    ct state established,related accept")
        if policy.allow_only:
            lines.append(f"    ip daddr {_set(policy.allow_only)} accept")
        lines.append("    ip saddr 198.18.0.0/16 drop")
    lines += ["  }", "}"]
    return "\n".join(lines) + "\n"


@dataclass
class ReaderRun:
    """One client process run in the reader namespace."""

    code: int
    seconds: float
    stdout: str
    stderr: str

    @property
    def json(self) -> dict[str, object]:
        document = json.loads(self.stdout)
        assert isinstance(document, dict)
        return document


class Lab:
    """One lab: three namespaces, a resolver in the censor, mirrors in the internet."""

    def __init__(self, root: Path, missing: Mapping[str, str]) -> None:
        pid = os.getpid()
        self.reader_ns = f"{PREFIX}{pid}r"
        self.censor_ns = f"{PREFIX}{pid}c"
        self.inet_ns = f"{PREFIX}{pid}i"
        self.root = root
        self.missing = dict(missing)
        self.www = root / "www"  # www/<ip> → the folder that address serves (a symlink)
        self.dns_policy = root / "dns.json"
        self._daemons: list[tuple[subprocess.Popen[bytes], IO[bytes]]] = []
        self.policy = Policy()

    # --- building ---------------------------------------------------------------------
    def start(self, ca_pem: Path, leaf_pem: Path, forger_pem: Path) -> None:
        """Build the namespaces, start the resolver and the mirrors (all bounded in time)."""
        ensure_blackhole()
        for ns in (self.reader_ns, self.censor_ns, self.inet_ns):
            run("ip", "netns", "add", ns)
        r, c, i = self.reader_ns, self.censor_ns, self.inet_ns
        # veth ends are created directly inside the lab namespaces: nothing touches the host's.
        run("ip", "link", "add", "eth0", "netns", r, "type", "veth", "peer", "name", "to-reader",
            "netns", c)  # fmt: skip
        run("ip", "link", "add", "eth0", "netns", i, "type", "veth", "peer", "name", "to-inet",
            "netns", c)  # fmt: skip
        for ns in (r, c, i):
            run("ip", "link", "set", "lo", "up", ns=ns)
            run("sysctl", "-qw", "net.ipv6.conf.all.disable_ipv6=1", ns=ns)
        run("ip", "addr", "add", f"{READER_IP}/24", "dev", "eth0", ns=r)
        run("ip", "link", "set", "eth0", "up", ns=r)
        run("ip", "route", "add", "default", "via", CENSOR_READER_SIDE, ns=r)
        run("ip", "addr", "add", f"{CENSOR_READER_SIDE}/24", "dev", "to-reader", ns=c)
        run("ip", "addr", "add", f"{CENSOR_INET_SIDE}/24", "dev", "to-inet", ns=c)
        run("ip", "link", "set", "to-reader", "up", ns=c)
        run("ip", "link", "set", "to-inet", "up", ns=c)
        run("sysctl", "-qw", "net.ipv4.ip_forward=1", ns=c)
        for address in [*(mirror_ip(n) for n in range(1, MIRROR_COUNT + 1)), FORGER_IP]:
            run("ip", "addr", "add", f"{address}/24", "dev", "eth0", ns=i)
        run("ip", "link", "set", "eth0", "up", ns=i)
        run("ip", "route", "add", "default", "via", CENSOR_INET_SIDE, ns=i)
        self.set_policy(Policy())  # loads nf_conntrack before its sysctl exists
        if "stall" not in self.missing:
            run("sysctl", "-qw", "net.netfilter.nf_conntrack_acct=1", ns=c)
        # Only `ip netns exec` bind-mounts this over /etc/resolv.conf: one try, one second.
        etc = Path("/etc/netns") / r
        etc.mkdir(parents=True, exist_ok=True)
        (etc / "resolv.conf").write_text(
            f"nameserver {CENSOR_READER_SIDE}\noptions timeout:1 attempts:1\n"
        )
        self.www.mkdir(parents=True, exist_ok=True)
        config = {
            "www": str(self.www),
            "addresses": [mirror_ip(n) for n in range(1, MIRROR_COUNT + 1)],
            "forger": FORGER_IP,
            "cert": str(leaf_pem),
            "forger_cert": str(forger_pem),
        }
        (self.root / "mirrors.json").write_text(json.dumps(config))
        self._daemon(i, HERE / "lab_mirror_server.py", self.root / "mirrors.json", "mirrors")
        self._daemon(c, HERE / "lab_dns_server.py", self.dns_policy, "dns")

    def _daemon(self, ns: str, script: Path, config: Path, name: str) -> None:
        log = (self.root / f"{name}.log").open("wb")
        process = subprocess.Popen(
            ["ip", "netns", "exec", ns, sys.executable, str(script), str(config)],
            stdout=subprocess.PIPE,
            stderr=log,
            preexec_fn=_die_with_parent,
        )
        self._daemons.append((process, log))
        assert process.stdout is not None
        os.set_blocking(process.stdout.fileno(), False)
        until = time.monotonic() + 15
        seen = b""
        while time.monotonic() < until and b"ready" not in seen:
            if process.poll() is not None:
                raise LabError(f"{name} daemon exited: see {log.name}")
            seen += process.stdout.read(64) or b""
            time.sleep(0.05)
        if b"ready" not in seen:
            raise LabError(f"{name} daemon did not start within 15 s: see {log.name}")

    def stop(self) -> None:
        """Kill the daemons and delete the namespaces (the blackhole route stays)."""
        for process, log in self._daemons:
            process.kill()
            process.wait(timeout=10)
            if process.stdout is not None:
                process.stdout.close()
            log.close()
        for ns in (self.reader_ns, self.censor_ns, self.inet_ns):
            _delete_namespace(ns)

    # --- content and policy ----------------------------------------------------------
    def serve(self, index: int | str, folder: Path) -> None:
        """Make mirror ``index`` (or an address) serve ``folder`` from now on."""
        address = mirror_ip(index) if isinstance(index, int) else index
        link = self.www / address
        temporary = self.www / f".{address}.new"
        temporary.unlink(missing_ok=True)
        temporary.symlink_to(folder)
        temporary.replace(link)

    def set_policy(self, policy: Policy) -> None:
        """Switch the censor to ``policy`` at once (established flows are forgotten too)."""
        c = self.censor_ns
        run("nft", "-f", "-", ns=c, stdin=_ruleset(policy))
        if "sni" not in self.missing:
            run("iptables", "-F", "FORWARD", ns=c)
            for names, verdict in ((policy.sni_reset, "reset"), (policy.sni_drop, "drop")):
                for name in sorted(names):
                    action = ["REJECT", "--reject-with", "tcp-reset"] if verdict == "reset" else [
                        "DROP"]  # fmt: skip
                    run("iptables", "-A", "FORWARD", "-p", "tcp", "--dport", "443", "-m",
                        "string", "--string", name, "--algo", "bm", "-j", *action, ns=c)  # fmt: skip
        run("tc", "qdisc", "del", "dev", "to-reader", "root", ns=c, check=False)
        if policy.throttle_kbit is not None:
            run("tc", "qdisc", "add", "dev", "to-reader", "root", "tbf", "rate",
                f"{policy.throttle_kbit}kbit", "burst", "8kb", "latency", "2s", ns=c)  # fmt: skip
        records = {mirror_name(n): mirror_ip(n) for n in range(1, MIRROR_COUNT + 1)}
        document = {"records": records, "rules": dict(policy.dns)}
        temporary = self.dns_policy.with_suffix(".new")
        temporary.write_text(json.dumps(document))
        temporary.replace(self.dns_policy)
        run("conntrack", "-F", ns=c, check=False)
        self.policy = policy

    # --- clients ----------------------------------------------------------------------
    def run_reader(
        self, argv: Sequence[str], *, env: Mapping[str, str], timeout: float
    ) -> ReaderRun:
        """Run ``python -m tamizdat ARGV`` inside the reader namespace; time it."""
        command = ["ip", "netns", "exec", self.reader_ns, sys.executable, "-m", "tamizdat", *argv]
        started = time.monotonic()
        done = subprocess.run(
            command,
            capture_output=True,
            text=True,
            timeout=timeout,
            env={**os.environ, **env},
            check=False,
            preexec_fn=_die_with_parent,
        )
        seconds = time.monotonic() - started
        return ReaderRun(done.returncode, seconds, done.stdout, done.stderr)


@dataclass(frozen=True)
class Releases:
    """Signed copies a mirror can serve, and what a reader needs to check them."""

    v1: Path  # the first release, signed three days ago (its timestamp has expired)
    v2: Path  # the newest: v1 plus one article
    forged: Path  # the same site signed by a forger's keys, one article changed
    tampered: Path  # v2 with one article's bytes changed on the mirror
    bundle: Path  # v2 as a bundle file, as a friend would hand it over
    fingerprint: str
    ca: Path


@dataclass
class Reader:
    """A reader's subscription in a folder of its own; commands run in the reader namespace."""

    lab: Lab
    home: Path
    ca: Path

    def run(self, *argv: str, timeout: float = 120) -> ReaderRun:
        env = {"PYTHONPATH": str(SRC), "TAMIZDAT_READER_HOME": str(self.home)}
        return self.lab.run_reader(argv, env=env, timeout=timeout)
