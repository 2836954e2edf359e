"""A listening TCP socket for the HTTP service, or one line saying why there is none.

The socket is bound before the service says where it listens, so a port in use or an
address that does not resolve is a clear :class:`~tagdecide.errors.InputError` instead of a
server's traceback.
"""

from __future__ import annotations

import socket

from tagdecide.errors import InputError

__all__ = ["listening_socket"]


def listening_socket(host: str, port: int, *, backlog: int = 2048) -> socket.socket:
    """A socket bound to ``host:port`` and listening (as uvicorn binds it), inheritable.

    Parameters
    ----------
    host : str
        Address or name to listen on (IPv6 addresses without brackets).
    port : int
        TCP port; 0 lets the system choose one.
    backlog : int
        Pending connections the system queues.

    Raises
    ------
    InputError
        ``--host HOST --port PORT: ...`` when the address does not resolve or cannot be
        bound (in use, not this machine's, no permission).

    Examples
    --------
    >>> with listening_socket("127.0.0.1", 0) as bound:
    ...     bound.getsockname()[1] > 0
    True
    """
    where = f"--host {host} --port {port}"
    try:
        family, kind, protocol, _, address = socket.getaddrinfo(
            host, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE
        )[0]
    except (OSError, UnicodeError) as error:
        reason = getattr(error, "strerror", None) or error
        raise InputError(f"{where}: not an address to listen on ({reason})") from None
    listening = socket.socket(family, kind, protocol)
    try:
        listening.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        listening.bind(address)
        listening.listen(backlog)
    except OSError as error:
        listening.close()
        raise InputError(f"{where}: cannot listen ({error.strerror or error})") from None
    listening.set_inheritable(True)
    return listening
