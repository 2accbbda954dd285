"""The lab's own guards: its traffic cannot leave the machine, and a killed run leaves nothing."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from labnet import LAB_RANGE, PREFIX, Lab, cleanup_stale, mirror_ip, run


def test_host_namespace_blackholes_the_lab_range(lab: Lab) -> None:
    # A route lookup, not a socket: no test opens a connection to the lab from the host.
    for address in ("198.18.0.2", mirror_ip(1), "198.19.255.254"):
        route = run("ip", "route", "get", address, check=False)
        assert "blackhole" in route.stdout or route.returncode != 0, route.stdout
    shown = run("ip", "route", "show", "type", "blackhole", LAB_RANGE).stdout
    assert LAB_RANGE.split("/")[0] in shown


def test_host_namespace_has_no_link_into_the_lab(lab: Lab) -> None:
    links = json.loads(run("ip", "-json", "addr", "show").stdout)
    for link in links:
        for address in link.get("addr_info", []):
            assert not address["local"].startswith(("198.18.", "198.19.")), link["ifname"]
    for ns in (lab.reader_ns, lab.censor_ns, lab.inet_ns):
        peers = json.loads(run("ip", "-json", "-details", "link", "show", ns=ns).stdout)
        for peer in peers:
            assert peer.get("link_netnsid", 0) != "host"
    # Nothing in the host namespace is a veth whose other end lies in the lab.
    host_links = run("ip", "-o", "link", "show", "type", "veth").stdout
    assert "to-reader" not in host_links
    assert "to-inet" not in host_links


def test_reader_namespace_reaches_mirrors_only_through_the_censor(lab: Lab) -> None:
    route = run("ip", "route", "get", mirror_ip(1), ns=lab.reader_ns).stdout
    assert "via 198.18.0.1" in route


def test_stale_labs_of_a_killed_run_are_removed(tmp_path: Path) -> None:
    child = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    name = f"{PREFIX}{child.pid}r"
    run("ip", "netns", "add", name)
    sleeper = subprocess.Popen(["ip", "netns", "exec", name, "sleep", "60"], start_new_session=True)
    try:
        assert name not in cleanup_stale()  # its creator still lives
        child.kill()
        child.wait(timeout=10)
        assert name in cleanup_stale()
        assert name not in run("ip", "netns", "list").stdout.split()
        until = time.monotonic() + 10
        while sleeper.poll() is None and time.monotonic() < until:
            time.sleep(0.05)
        assert sleeper.returncode == -signal.SIGKILL
    finally:
        child.kill()
        if sleeper.poll() is None:
            os.kill(sleeper.pid, signal.SIGKILL)
        run("ip", "netns", "delete", name, check=False)


HELPER = """
import subprocess, sys
sys.path.insert(0, {lab!r})
from labnet import _die_with_parent
child = subprocess.Popen(["ip", "netns", "exec", {ns!r}, "sleep", "60"], preexec_fn=_die_with_parent)
print(child.pid, flush=True)
sys.stdin.read()
"""


def test_a_daemon_dies_with_the_process_that_started_it(lab: Lab) -> None:
    # As pytest starts the lab's daemons: when it is killed (-9), they die with it.
    script = HELPER.format(lab=str(Path(__file__).parent), ns=lab.inet_ns)
    starter = subprocess.Popen(
        [sys.executable, "-c", script], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True
    )
    assert starter.stdout is not None
    daemon = starter.stdout.readline().strip()

    def running() -> bool:
        return daemon in run("ip", "netns", "pids", lab.inet_ns).stdout.split()

    until = time.monotonic() + 10
    while time.monotonic() < until and not running():  # `ip netns exec` is entering it
        time.sleep(0.05)
    assert running()
    starter.kill()
    starter.wait(timeout=10)
    until = time.monotonic() + 10
    while time.monotonic() < until and running():
        time.sleep(0.05)
    assert not running()
    assert starter.stdin is not None
    starter.stdin.close()
    starter.stdout.close()
