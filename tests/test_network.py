"""``flowsep app``'s --host and --port checks (flowsep/commands/network.py), in process.

The contract tables run the same checks through the CLI in a child process; these pin each rule on its own: a
host that is not an address or a name, a name that does not resolve (or resolves too slowly), an address of
another machine, a port in use, a port that needs privileges, and the first free port from 7860.
"""

from __future__ import annotations

import argparse
import errno
import socket
import threading

import pytest

from flowsep.commands import network
from flowsep.errors import UsageError


@pytest.fixture
def busy_port():
    """A port something listens on (127.0.0.1)."""
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen()
        yield listener.getsockname()[1]


@pytest.mark.parametrize(
    "text",
    ["127.0.0.1", "0.0.0.0", "::1", "[::1]", "[::]", "localhost", "my-host.example.org", "a" * 63, "x1"],
)
def test_host_address_returns_addresses_and_names_as_given(text):
    assert network.host_address(text) == text


@pytest.mark.parametrize(
    "text",
    ["1.2.3", "999.1.1.1", "10.0.0.0.1", "-bad", "bad-", "a" * 64, "a..b", "", "under_score", "[::1", ".lead",
     ("a" * 62 + ".") * 4 + "abc"],
)  # fmt: skip
def test_host_address_refuses_what_is_neither(text):
    with pytest.raises(argparse.ArgumentTypeError, match="not an IP address or host name"):
        network.host_address(text)


def test_host_name_length_limit_is_253():
    labels = ".".join(["a" * 63] * 3 + ["b" * 61])  # 253 characters
    assert len(labels) == 253 and network.host_address(labels) == labels
    with pytest.raises(argparse.ArgumentTypeError):
        network.host_address(labels + "b")


def test_resolve_gives_the_family_and_address():
    assert network._resolve("127.0.0.1") == (socket.AF_INET, "127.0.0.1")
    family, address = network._resolve("localhost")
    assert family in (socket.AF_INET, socket.AF_INET6) and address in ("127.0.0.1", "::1")


def test_resolve_strips_the_brackets_of_an_ipv6_address(monkeypatch):
    asked = []

    def getaddrinfo(host, port, type):
        asked.append((host, port, type))
        return [(socket.AF_INET6, type, 6, "", ("::1", 0, 0, 0))]

    monkeypatch.setattr(network.socket, "getaddrinfo", getaddrinfo)
    assert network._resolve("[::1]") == (socket.AF_INET6, "::1")
    assert asked == [("::1", None, socket.SOCK_STREAM)]


def test_resolve_refuses_a_name_that_does_not_resolve(monkeypatch):
    def getaddrinfo(*args, **kwargs):
        raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")

    monkeypatch.setattr(network.socket, "getaddrinfo", getaddrinfo)
    with pytest.raises(UsageError, match=r"^--host nowhere: the name does not resolve to an address"):
        network._resolve("nowhere")


def test_resolve_gives_up_on_a_name_server_that_does_not_answer(monkeypatch):
    released = threading.Event()
    monkeypatch.setattr(network.socket, "getaddrinfo", lambda *args, **kwargs: released.wait(30) and [])
    monkeypatch.setattr(network, "RESOLVE_SECONDS", 0.05)
    try:
        with pytest.raises(UsageError, match="does not resolve"):
            network._resolve("slow.example")
    finally:
        released.set()


def test_free_tells_a_port_in_use_from_a_free_one(busy_port):
    assert network._free(socket.AF_INET, "127.0.0.1", busy_port) is False
    assert network._free(socket.AF_INET, "127.0.0.1", 0) is True


def test_free_raises_other_errors_than_a_port_in_use():
    with pytest.raises(OSError) as caught:
        network._free(socket.AF_INET, "192.0.2.1", 0)  # TEST-NET-1: an address of no machine here
    assert caught.value.errno == errno.EADDRNOTAVAIL


def test_serving_port_gives_the_port_asked_for_when_it_is_free():
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    assert network.serving_port("127.0.0.1", port) == port


def test_serving_port_refuses_a_port_in_use(busy_port):
    with pytest.raises(UsageError, match=rf"^--port {busy_port} is in use: choose another"):
        network.serving_port("127.0.0.1", busy_port)


def test_serving_port_checks_127_0_0_1_too_when_serving_on_all_addresses(busy_port):
    with pytest.raises(UsageError, match="is in use"):
        network.serving_port("0.0.0.0", busy_port)


def test_serving_port_skips_busy_ports_from_the_first(monkeypatch, busy_port):
    monkeypatch.setattr(network, "FIRST_PORT", busy_port)
    found = network.serving_port("127.0.0.1", None)
    assert busy_port < found < busy_port + network.PORT_TRIES


def test_serving_port_says_when_no_port_is_free(monkeypatch, busy_port):
    monkeypatch.setattr(network, "FIRST_PORT", busy_port)
    monkeypatch.setattr(network, "PORT_TRIES", 1)
    with pytest.raises(
        UsageError, match=rf"^no free port from {busy_port} to {busy_port}: give one with --port"
    ):
        network.serving_port("127.0.0.1", None)


def test_serving_port_refuses_an_address_of_another_machine():
    with pytest.raises(
        UsageError,
        match=r"^--host 192.0.2.1: cannot serve on it \(.+\): use 127.0.0.1, 0.0.0.0 or an address of this machine$",
    ):
        network.serving_port("192.0.2.1", None)


def test_serving_port_reports_a_port_that_needs_privileges(monkeypatch):
    def free(family, address, port):
        if port:
            raise OSError(errno.EACCES, "Permission denied")
        return True

    monkeypatch.setattr(network, "_free", free)
    with pytest.raises(
        UsageError, match=r"^--port 80: Permission denied \(ports below 1024 need privileges\)"
    ):
        network.serving_port("127.0.0.1", 80)
