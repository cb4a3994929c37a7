"""Show or stop the live demo's servers (moto, OpenBao, the Kubernetes API stand-in).

`load_demo --live --keep-running` leaves them running for the portal's "Run now" and
records them in `<demo>/state.json`; `make demo` runs `demo_servers stop` when the
portal stops. Only the processes recorded there, still running from the demo folder,
are ever signalled.
"""

from __future__ import annotations

from django.core.management.base import BaseCommand, CommandParser

from inventory.demo.live_files import demo_folder, load_state, running, stop_all


class Command(BaseCommand):
    help = "Show (status) or stop (stop) the live demo's servers."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("action", choices=["status", "stop"])
        parser.add_argument("--demo-dir", default=None,
                            help="The demo folder (default: .demo in the repository).")

    def handle(self, *args, action: str, demo_dir: str | None = None, **options) -> None:
        folder = demo_folder(demo_dir)
        if action == "stop":
            stopped = stop_all(folder)
            self.stdout.write(f"Stopped: {', '.join(stopped)}." if stopped
                              else "No demo server was running.")
            return
        servers = load_state(folder)["servers"]
        if not servers:
            self.stdout.write(f"No demo servers recorded in {folder}.")
        for name, entry in sorted(servers.items()):
            alive = running(entry.get("pid"), str(folder))
            self.stdout.write(f"{name:<6} {'running' if alive else 'stopped':<8} "
                              f"pid={entry.get('pid')} {entry.get('url', '')}")
