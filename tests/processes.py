"""Ports and processes for the real servers the tests start: a free port, waiting, stopping.

Both fixtures_servers.py and the Nu Html Checker in helpers.py start servers with these.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import time
from collections.abc import Callable


def free_port() -> int:
    """Return a TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def wait_until(condition: Callable[[], bool], seconds: float, step: float = 0.1) -> bool:
    """Poll a condition until it holds or the time is up; return whether it held."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(step)
    return condition()


def stop_process(
    process: subprocess.Popen[bytes] | None, sig: int = signal.SIGTERM, group: bool = False
) -> None:
    """Stop a process we started (`group`: its whole process group) and reap it.

    Killed if it does not stop in 20 s.
    """
    if process is None or process.poll() is not None:
        return

    def send(signal_number: int) -> None:
        """Signal the process, or the group it leads (started with start_new_session)."""
        if group:
            os.killpg(process.pid, signal_number)
        else:
            process.send_signal(signal_number)

    send(sig)
    try:
        process.wait(timeout=20)
    except subprocess.TimeoutExpired:
        send(signal.SIGKILL)
        process.wait()


def port_open(port: int) -> bool:
    """Tell whether something accepts connections on 127.0.0.1:port."""
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=1):
            return True
    except OSError:
        return False
