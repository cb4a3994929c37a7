"""Files and child processes of the live demo.

* The demo folder (default `<repo>/.demo`, gitignored) is mode 700; files holding a
  secret (moto's fake keys, OpenBao's unseal key and root token, the connector's AppRole
  secret-id, demo private keys) are written mode 600 from the start, never chmod-ed after.
* Servers run as children in a session of their own (a Ctrl-C in the terminal does not
  kill them half-way through a load), log to `<demo>/logs/`, and are recorded in
  `<demo>/state.json` (mode 600: it names the token files).
* Stopping only ever signals a recorded pid whose command line still names the demo
  folder, so a pid the system has since reused for something else is left alone.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import time
import urllib.request
from collections.abc import Callable
from pathlib import Path

STATE = "state.json"


class ServerError(RuntimeError):
    """A demo server could not be started or seeded; the message says why."""


def demo_folder(path: str | os.PathLike | None = None) -> Path:
    """The demo folder: the given path, $NHIGOV_DEMO_DIR, or `.demo` in the repository."""
    from django.conf import settings

    chosen = path or os.environ.get("NHIGOV_DEMO_DIR") or Path(settings.BASE_DIR) / ".demo"
    return ensure_dir(Path(chosen).resolve())


def ensure_dir(path: Path, mode: int = 0o700) -> Path:
    path.mkdir(parents=True, exist_ok=True, mode=mode)
    return path


def write_private(path: Path, text: str) -> Path:
    """Write a secret: mode 600 from creation on (umask cannot widen it)."""
    ensure_dir(path.parent)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as out:
        os.fchmod(out.fileno(), 0o600)
        out.write(text)
    return path


def write_public(path: Path, text: str) -> Path:
    ensure_dir(path.parent)
    path.write_text(text, encoding="utf-8")
    return path


def free_port(preferred: int | None = None) -> int:
    """`preferred` when it is free on loopback (so source configs keep their URLs across
    runs), else any free port."""
    for port in ([preferred] if preferred else []) + [0]:
        with socket.socket() as sock:
            # As the servers bind: a port left in TIME_WAIT by the last run is reusable.
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            try:
                sock.bind(("127.0.0.1", port))
            except OSError:
                continue
            return sock.getsockname()[1]
    raise ServerError("no free loopback port")


def free_port_pair(preferred: int | None = None) -> int:
    """A free port whose successor is free too (OpenBao's cluster port is port + 1)."""
    candidate = preferred
    for _ in range(50):
        port = free_port(candidate)
        if port < 65535 and free_port(port + 1) == port + 1:
            return port
        candidate = None
    raise ServerError("no free pair of loopback ports")


def start(argv: list[str], log: Path, env: dict | None = None) -> subprocess.Popen:
    ensure_dir(log.parent)
    with open(log, "ab") as out:
        return subprocess.Popen(  # noqa: S603 - fixed argv built by the demo
            argv, stdin=subprocess.DEVNULL, stdout=out, stderr=subprocess.STDOUT,
            env=env, start_new_session=True)


def log_tail(log: Path, lines: int = 12) -> str:
    try:
        return "\n".join(log.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return ""


def wait_until(ready: Callable[[], bool], process: subprocess.Popen, log: Path,
               what: str, timeout: float) -> None:
    """Poll `ready` until it holds; ServerError if the process dies or time runs out."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise ServerError(f"{what} exited with status {process.returncode}:\n"
                              f"{log_tail(log)}")
        try:
            if ready():
                return
        except OSError:
            pass
        time.sleep(0.1)
    raise ServerError(f"{what} was not ready after {timeout:.0f}s:\n{log_tail(log)}")


def http_status(url: str, context=None, timeout: float = 2) -> int:
    """The HTTP status of a GET (errors included), or 0 when nothing answers."""
    try:
        with urllib.request.urlopen(url, timeout=timeout, context=context) as answer:  # noqa: S310
            return answer.status
    except urllib.error.HTTPError as exc:
        return exc.code
    except (OSError, ValueError):
        return 0


# --- state --------------------------------------------------------------------------------

def load_state(folder: Path) -> dict:
    try:
        state = json.loads((folder / STATE).read_text())
    except (OSError, ValueError):
        return {"servers": {}}
    return state if isinstance(state.get("servers"), dict) else {"servers": {}}


def save_state(folder: Path, state: dict) -> None:
    write_private(folder / STATE, json.dumps(state, indent=1, sort_keys=True))


def running(pid: int | None, marker: str) -> bool:
    """Whether `pid` is alive and still the process the demo started (its command line
    names the demo folder). Where /proc does not exist, a live pid is trusted."""
    if not pid or _reap(pid):
        return False
    try:
        os.kill(pid, 0)
    except (ProcessLookupError, PermissionError):  # gone, or someone else's now
        return False
    if not Path("/proc/self").exists():
        return True
    cmdline = Path(f"/proc/{pid}/cmdline")
    try:
        text = cmdline.read_bytes().replace(b"\0", b" ").decode(errors="replace")
    except OSError:
        return False
    return bool(text.strip()) and marker in text


def _reap(pid: int) -> bool:
    """Collect our own exited child (a zombie still answers kill(pid, 0)); True if gone."""
    try:
        done, _ = os.waitpid(pid, os.WNOHANG)
    except ChildProcessError:
        return False
    return done == pid


def stop(pid: int | None, marker: str, timeout: float = 10) -> bool:
    """SIGTERM (then SIGKILL) one recorded server; True if it was running."""
    if not running(pid, marker):
        return False
    os.kill(pid, signal.SIGTERM)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if _reap(pid) or not running(pid, marker):
            return True
        time.sleep(0.05)
    os.kill(pid, signal.SIGKILL)
    _reap(pid)
    return True


def stop_all(folder: Path) -> list[str]:
    """Stop every server recorded in the state file; returns the names stopped."""
    state, marker, stopped = load_state(folder), str(folder), []
    for name, entry in sorted(state["servers"].items()):
        if stop(entry.get("pid"), marker):
            stopped.append(name)
        # Kept: the next start asks for the same port, so source configs stay the same.
        state.setdefault("ports", {})[name] = entry.get("port")
    state["servers"] = {}
    save_state(folder, state)
    return stopped
