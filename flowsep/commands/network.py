"""The host and port options of a command that serves a page (``flowsep app``), checked before a model loads.

:func:`host_address` and :data:`port_number` are argparse types (syntax and range); :func:`serving_port` then
binds a socket as the server will (Gradio checks 127.0.0.1 too), so that an address of another machine or a
port in use is reported in one line at once, not after the model has loaded and Gradio has tried 100 ports.
"""

from __future__ import annotations

import argparse
import errno
import ipaddress
import re
import socket
import threading

from ..errors import UsageError
from .options import bounded

FIRST_PORT, PORT_TRIES = 7860, 100  # Gradio's: the first free port from 7860
LOCALHOST = "127.0.0.1"
HOST_NAME = re.compile(
    r"^(?=.{1,253}$)([A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?)(\.[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*$"
)
RESOLVE_SECONDS = 1.0

port_number = bounded(1, 65535, int)


def host_address(text: str) -> str:
    """argparse type: an IPv4 or IPv6 address (``[::1]`` too) or a host name (RFC 1123 labels)."""
    bare = text[1:-1] if text.startswith("[") and text.endswith("]") else text
    try:
        ipaddress.ip_address(bare)
        return text
    except ValueError:
        pass
    if re.fullmatch(r"[\d.]+", bare) or not HOST_NAME.match(bare):
        raise argparse.ArgumentTypeError(f"not an IP address or host name: {text!r}")
    return text


def _resolve(host: str) -> tuple[int, str]:
    """``(family, address)`` of ``host``, looked up for at most :data:`RESOLVE_SECONDS` (a name server that does
    not answer must not hold the command)."""
    bare = host[1:-1] if host.startswith("[") else host
    found: list = []

    def lookup():
        try:
            found.extend(socket.getaddrinfo(bare, None, type=socket.SOCK_STREAM))
        except OSError:
            pass

    worker = threading.Thread(target=lookup, daemon=True)
    worker.start()
    worker.join(RESOLVE_SECONDS)
    if not found:
        raise UsageError(f"--host {host}: the name does not resolve to an address (use 127.0.0.1 or 0.0.0.0)")
    family, _, _, _, address = found[0]
    return family, address[0]


def _free(family: int, address: str, port: int) -> bool:
    """Whether ``port`` can be bound on ``address`` (as Gradio and uvicorn bind it, with SO_REUSEADDR); other
    errors than a port in use are raised."""
    with socket.socket(family, socket.SOCK_STREAM) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind((address, port))
        except OSError as error:
            if error.errno == errno.EADDRINUSE:
                return False
            raise
    return True


def serving_port(host: str, port: int | None) -> int:
    """The port to serve ``host`` on: ``port``, or the first free one from 7860. :class:`UsageError` when the host
    is not an address of this machine, ``port`` is in use (or needs privileges) or no port is free."""
    family, address = _resolve(host)
    places = {(family, address), (socket.AF_INET, LOCALHOST)}
    try:
        _free(family, address, 0)
    except OSError as error:
        raise UsageError(
            f"--host {host}: cannot serve on it ({error.strerror}): use 127.0.0.1, 0.0.0.0 or an address of this "
            "machine"
        ) from None
    candidates = [port] if port else range(FIRST_PORT, FIRST_PORT + PORT_TRIES)
    for candidate in candidates:
        try:
            if all(_free(*place, candidate) for place in places):
                return candidate
        except OSError as error:
            raise UsageError(
                f"--port {candidate}: {error.strerror} (ports below 1024 need privileges)"
            ) from None
    if port:
        raise UsageError(
            f"--port {port} is in use: choose another, or leave --port out for the first free from 7860"
        )
    raise UsageError(f"no free port from {FIRST_PORT} to {FIRST_PORT + PORT_TRIES - 1}: give one with --port")
