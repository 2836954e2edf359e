"""tagdecide.listening: a bound socket for the service, or one line saying why not."""

from __future__ import annotations

import socket

import pytest

from tagdecide.errors import InputError
from tagdecide.listening import listening_socket


def test_binds_and_listens() -> None:
    with listening_socket("127.0.0.1", 0) as bound:
        host, port = bound.getsockname()
        assert host == "127.0.0.1" and port > 0
        assert bound.get_inheritable()
        with socket.create_connection((host, port), timeout=5):
            pass  # the connection is accepted into the backlog


def test_port_in_use_is_one_line() -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen(1)
        port = taken.getsockname()[1]
        with pytest.raises(InputError, match=rf"^--host 127.0.0.1 --port {port}: cannot listen"):
            listening_socket("127.0.0.1", port)


@pytest.mark.parametrize("host", ["no such host.invalid", "999.1.1.1", "a" * 300])
def test_bad_address_is_one_line(host: str) -> None:
    with pytest.raises(InputError, match="not an address to listen on"):
        listening_socket(host, 8000)
