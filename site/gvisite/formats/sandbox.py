"""The one way the formats run another program: in a bubblewrap sandbox, with limits.

The tools (espeak-ng, lame, lou_translate, pandoc) read text that staff and editors wrote, so
each run is treated as hostile: `run` gives the tool no network, an empty environment (plus a
locale and PATH), a read-only view of /usr and of its own input folder, write access to a fresh
output folder only, limits on CPU seconds, memory, file size and processes (`prlimit`), and a
wall-clock timeout; it dies with the process that started it, and every process it started dies
with it (its own PID namespace). Where bubblewrap cannot run, the build refuses unless the
operator sets FORMATS_WITHOUT_SANDBOX (config.py); then the same limits apply without the
namespaces, and every build logs a warning.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import subprocess
import tempfile
from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path

from flask import Flask

BWRAP = "/usr/bin/bwrap"  # Debian's `bubblewrap`
PRLIMIT = "/usr/bin/prlimit"  # util-linux
SETTING = "FORMATS_WITHOUT_SANDBOX"  # config.py: allows building where bubblewrap cannot run
# What every tool may see: the system's programs and data, read-only. /etc is left out but
# for the alternatives links some packages' programs go through.
_SYSTEM = ("--ro-bind", "/usr", "/usr", "--symlink", "usr/lib", "/lib",
           "--symlink", "usr/lib64", "/lib64", "--symlink", "usr/bin", "/bin",
           "--symlink", "usr/sbin", "/sbin",
           "--ro-bind-try", "/etc/alternatives", "/etc/alternatives",
           "--proc", "/proc", "--dev", "/dev",
           "--tmpfs", "/tmp")  # fmt: skip  # noqa: S108  (an empty tmpfs of its own)
_ENVIRONMENT = {"LANG": "C.UTF-8", "PATH": "/usr/bin:/bin"}


@dataclass(frozen=True)
class Limits:
    """What one tool run may use; the defaults hold for a long page of any format."""

    seconds: float = 600  # wall clock
    cpu_seconds: int = 300
    memory_bytes: int = 1 << 30  # RLIMIT_DATA: heap and private mappings
    file_bytes: int = 256 << 20  # any file it writes, its output and stdout included
    processes: int = 256  # RLIMIT_NPROC; the kernel does not apply it to root


LIMITS = Limits()


@dataclass(frozen=True)
class In:
    """A file of the tool's input folder, named in its command line."""

    name: str


@dataclass(frozen=True)
class Out:
    """A file of the tool's output folder, named in its command line."""

    name: str


class SandboxUnavailable(RuntimeError):
    """bubblewrap cannot run here, and the operator has not allowed running without it."""


class ToolFailed(RuntimeError):
    """A tool exited with an error, was killed at a limit, or ran out of time."""


@dataclass
class Outcome:
    """What a tool left behind: what it wrote to stdout, and the files in its output folder."""

    stdout: bytes
    files: dict[str, bytes] = field(default_factory=dict)


@cache
def problem() -> str | None:
    """Say why bubblewrap cannot run a program here, or None if it can (checked once)."""
    if not os.access(PRLIMIT, os.X_OK):
        return f"{PRLIMIT} is missing (Debian: apt-get install util-linux)"
    if not os.access(BWRAP, os.X_OK):
        return f"{BWRAP} is not installed (Debian: apt-get install bubblewrap)"
    try:
        with tempfile.TemporaryDirectory(prefix="gvisite-sandbox-") as folder:
            _execute(["/usr/bin/true"], Path(folder), LIMITS, sandboxed=True)
    except (OSError, ToolFailed) as exc:
        return f"{BWRAP} cannot start a sandbox here: {exc}"
    return None


def sandboxed_for(app: Flask) -> bool:
    """Return whether the tools run in the sandbox; raise if they cannot and may not without."""
    reason = problem()
    if reason is None:
        return True
    if not app.config.get(SETTING):
        raise SandboxUnavailable(
            f"the formats' tools must run in a sandbox, and {reason}. Install bubblewrap, or set"
            f" {SETTING}=1 to build without a sandbox (the tools then read your editors' text"
            " with the app's user rights)."
        )
    app.logger.warning("formats: the tools run WITHOUT a sandbox (%s is set): %s", SETTING, reason)
    return False


def run(
    command: list[str | In | Out],
    *,
    stdin: bytes = b"",
    files: Mapping[str, bytes] | None = None,
    limits: Limits | None = None,
    sandboxed: bool = True,
) -> Outcome:
    """Run a tool on `stdin` and `files`; return what it wrote. Raise ToolFailed if it fails.

    The command names its input files as `In(name)` and its outputs as `Out(name)`: fresh
    folders for this run only. The other words go to the tool as they are (no shell).
    """
    with tempfile.TemporaryDirectory(prefix="gvisite-tool-") as folder:
        root = Path(folder)
        inputs, outputs = root / "in", root / "out"
        inputs.mkdir()
        outputs.mkdir()
        for name, data in (files or {}).items():
            (inputs / name).write_bytes(data)
        (root / "stdin").write_bytes(stdin)
        words = [_word(part, inputs, outputs) for part in command]
        program = shutil.which(words[0])
        if program is None:
            raise ToolFailed(f"{words[0]} is not installed")
        stdout = _execute([program, *words[1:]], root, limits or LIMITS, sandboxed)
        written = {path.name: path.read_bytes() for path in outputs.iterdir() if path.is_file()}
        return Outcome(stdout, written)


def _word(part: str | In | Out, inputs: Path, outputs: Path) -> str:
    """Return a word of a command line, with its input or output file's real path."""
    if isinstance(part, In):
        return str(inputs / part.name)
    if isinstance(part, Out):
        return str(outputs / part.name)
    return part


def _execute(command: list[str], root: Path, limits: Limits, sandboxed: bool) -> bytes:
    """Run `command` with its files in `root`; return its stdout."""
    inputs, outputs = root / "in", root / "out"
    inputs.mkdir(exist_ok=True)
    outputs.mkdir(exist_ok=True)
    stdin_path = root / "stdin"
    if not stdin_path.exists():
        stdin_path.write_bytes(b"")
    limited = [PRLIMIT, f"--cpu={limits.cpu_seconds}", f"--data={limits.memory_bytes}",
               f"--fsize={limits.file_bytes}", f"--nproc={limits.processes}",
               "--core=0", "--"]  # fmt: skip
    if sandboxed:
        env_args = [arg for name, value in _ENVIRONMENT.items()
                    for arg in ("--setenv", name, value)]  # fmt: skip
        # A program installed outside /usr (a test's stand-in) is shown, read-only, itself only.
        own = [] if command[0].startswith("/usr/") else ["--ro-bind", command[0], command[0]]
        limited += [BWRAP, *_SYSTEM, *own,
                    "--ro-bind", str(inputs), str(inputs), "--bind", str(outputs), str(outputs),
                    "--chdir", str(outputs), "--unshare-all", "--cap-drop", "ALL",
                    "--die-with-parent", "--new-session",
                    "--clearenv", *env_args, "--setenv", "HOME", str(outputs), "--"]  # fmt: skip
    environment = {**_ENVIRONMENT, "HOME": str(outputs)}
    with (
        open(stdin_path, "rb") as stdin,
        open(root / "stdout", "wb") as stdout,  # a file, so the size limit holds for it too
        open(root / "stderr", "wb") as stderr,
    ):
        process = subprocess.Popen(
            [*limited, *command],
            stdin=stdin,
            stdout=stdout,
            stderr=stderr,
            cwd=outputs,
            env=environment,
            start_new_session=True,  # its own process group: killed as one on timeout
        )
        try:
            code = process.wait(timeout=limits.seconds)
        except subprocess.TimeoutExpired:
            _kill(process)
            stopped = f"{command[0]} ran over {limits.seconds:g} s and was stopped"
            raise ToolFailed(stopped) from None
        finally:
            _kill(process)  # anything it left behind in its group
    if code != 0:
        said = (root / "stderr").read_bytes()[-500:].decode("utf-8", "replace").strip()
        if code < 0:
            said = f"killed by {signal.Signals(-code).name} (a limit) {said}".strip()
        raise ToolFailed(f"{command[0]} exited with {code}: {said}")
    return (root / "stdout").read_bytes()


def _kill(process: subprocess.Popen[bytes]) -> None:
    """Kill a tool's whole process group and reap it."""
    with contextlib.suppress(ProcessLookupError):
        os.killpg(process.pid, signal.SIGKILL)
    process.wait()
