"""The seven services (and the console) as local processes: start what is down, stop by PID,
report readiness.

Used by `fleet start|stop|status`, scripts/start-dev.sh and the end-to-end tests (which run
a second fleet on other ports, databases and exchange so they never touch a dev fleet).
"""

import argparse
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from pathlib import Path

import httpx

from fleetctl import check, demo
from fleetctl.messages import say
from fleetctl.tokens import ensure_tokens, read_tokens

ROOT = Path(__file__).resolve().parent.parent


# Further instances of a service listen 10 ports above the previous one (the orchestrator's
# second on 3012); the orchestrator and the event store are built to share their database
# with their twins (leases; the unique version index).
INSTANCE_PORT_STEP = 10
SCALES_OUT = frozenset({"saga_orchestrator", "event_store_service"})


@dataclass(frozen=True)
class Service:
    package: str
    port: int
    env_prefix: str
    store: str
    instance: int = 1

    @property
    def name(self) -> str:
        """The package, then `.2`, `.3`, … for further instances (pid and log file names)."""
        return self.package if self.instance == 1 else f"{self.package}.{self.instance}"

    def nth(self, instance: int) -> "Service":
        """Instance `instance` (1 is the service itself) of this service."""
        return replace(self, port=self.port + INSTANCE_PORT_STEP * (instance - 1), instance=instance)


SERVICES: tuple[Service, ...] = (
    Service("event_service", 8080, "EVENT_", "PostgreSQL events_db"),
    Service("reservation_service", 3000, "RESERVATION_", "MongoDB reservations_db"),
    Service("payment_service", 5000, "PAYMENT_", "PostgreSQL payments_db + Redis"),
    Service("analytics_service", 8081, "ANALYTICS_", "OpenSearch event_analytics"),
    Service("event_store_service", 3001, "EVENT_STORE_", "MongoDB event_store_db"),
    Service("saga_orchestrator", 3002, "SAGA_", "PostgreSQL sagas_db"),
    Service("notification_service", 5001, "NOTIFICATION_", "MongoDB notifications_db"),
)
# Not a microservice (it owns no data, it reads the others' APIs), but started and stopped
# like one: `fleet start` starts it with the seven, `fleet start console` alone.
CONSOLE = Service("console", 8090, "CONSOLE_", "none: reads the services' APIs and RabbitMQ's")
EVERYTHING: tuple[Service, ...] = (*SERVICES, CONSOLE)
# The seven services' Python packages, in the fleet's order.
PACKAGES: tuple[str, ...] = tuple(s.package for s in SERVICES)
BY_NAME = {s.package: s for s in EVERYTHING}


class ServiceExited(RuntimeError):
    """A service process started by the fleet ended before it was ready."""


@dataclass
class Fleet:
    """Processes of one fleet; `port_offset` and `env` make an isolated second fleet."""

    run_dir: Path = ROOT / ".data" / "run"
    log_dir: Path = ROOT / ".data" / "logs"
    port_offset: int = 0
    env: dict[str, str] = field(default_factory=dict)
    # Settings of one service's processes only (package -> name -> value), over `env`: a fleet
    # with network faults gives each service the addresses of its own proxies
    # (fleetctl/toxiproxy.py), AMQP_URL included, which every service reads.
    service_envs: dict[str, dict[str, str]] = field(default_factory=dict)

    def port(self, service: Service) -> int:
        return service.port + self.port_offset

    def url(self, name: str) -> str:
        return f"http://127.0.0.1:{self.port(BY_NAME[name])}"

    def service_env(self) -> dict[str, str]:
        """Ports and the URLs services use to reach each other, then the caller's overrides."""
        env = {**os.environ}
        for service in EVERYTHING:
            env[f"{service.env_prefix}PORT"] = str(self.port(service))
        for prefix in ("SAGA_", "RESERVATION_", "ANALYTICS_"):
            env[f"{prefix}EVENT_SERVICE_URL"] = self.url("event_service")
        env["SAGA_RESERVATION_SERVICE_URL"] = self.url("reservation_service")
        env["SAGA_PAYMENT_SERVICE_URL"] = self.url("payment_service")
        env["CONSOLE_EVENT_SERVICE_URL"] = self.url("event_service")
        env["CONSOLE_ANALYTICS_SERVICE_URL"] = self.url("analytics_service")
        env["CONSOLE_EVENT_STORE_URL"] = self.url("event_store_service")
        env["CONSOLE_SAGA_URL"] = self.url("saga_orchestrator")
        env["RESERVATION_SAGA_ORCHESTRATOR_URL"] = self.url("saga_orchestrator")
        # The caller-class tokens: the environment's, else the data folder's (fleet tokens).
        for name, value in read_tokens().items():
            env.setdefault(name, value)
        env.update(self.env)
        return env

    def _pidfile(self, service: Service) -> Path:
        return self.run_dir / f"{service.name}.pid"

    def instances(self, service: Service) -> list[Service]:
        """The service, and every further instance of it that has a pid file."""
        found = [service.nth(1)]
        for path in sorted(self.run_dir.glob(f"{service.package}.*.pid")):
            number = path.name.removeprefix(f"{service.package}.").removesuffix(".pid")
            if number.isdigit() and int(number) > 1:
                found.append(service.nth(int(number)))
        return found

    def pid(self, service: Service) -> int | None:
        try:
            pid = int(self._pidfile(service).read_text().strip())
        except (OSError, ValueError):
            return None
        return pid if _alive(pid) else None

    def ready(self, service: Service) -> bool:
        try:
            return httpx.get(f"http://127.0.0.1:{self.port(service)}/ready", timeout=2).status_code == 200
        except httpx.HTTPError:
            return False

    def answers(self, service: Service) -> bool:
        try:
            return httpx.get(f"http://127.0.0.1:{self.port(service)}/health", timeout=2).status_code == 200
        except httpx.HTTPError:
            return False

    def teaching_faults(self, service: Service) -> list[str]:
        """The teaching faults a running service says it has on (its /health), [] if none or down."""
        try:
            answer = httpx.get(f"http://127.0.0.1:{self.port(service)}/health", timeout=2)
            if answer.status_code != 200:
                return []
            return [str(f) for f in answer.json().get("teachingFaults", [])]
        except (httpx.HTTPError, ValueError, AttributeError):
            return []

    def start(
        self,
        names: Iterable[str] | None = None,
        *,
        wait: float = 90.0,
        quiet: bool = False,
        instances: int = 1,
    ) -> None:
        """Start every selected service that is not running; leave running ones alone.
        `instances` > 1 (the orchestrator and the event store only) also starts instances 2..n,
        each on its port."""
        self.run_dir.mkdir(parents=True, exist_ok=True)
        self.log_dir.mkdir(parents=True, exist_ok=True)
        selected = self._select(names)
        if instances > 1:
            if not names or any(s.package not in SCALES_OUT for s in selected):
                raise SystemExit(say("start.instances", names=", ".join(sorted(SCALES_OUT))))
            selected = [s.nth(n) for s in selected for n in range(1, instances + 1)]
        env = self.service_env()
        started: list[Service] = []
        for service in selected:
            if self.pid(service) is not None or self.answers(service):
                self._say(quiet, say("start.running", name=service.name))
                continue
            started.append(service)
            log = open(self.log_dir / f"{service.name}.log", "ab")
            process = subprocess.Popen(
                [sys.executable, "-m", service.package],
                cwd=ROOT,
                env={
                    **env,
                    **self.service_envs.get(service.package, {}),
                    f"{service.env_prefix}PORT": str(self.port(service)),
                },
                stdout=log,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                start_new_session=True,
            )
            log.close()
            self._pidfile(service).write_text(str(process.pid))
            self._say(
                quiet, say("start.started", name=service.name, pid=process.pid, port=self.port(service))
            )
        if wait:
            self.wait_ready(selected, timeout=wait, quiet=quiet, started=started)

    def wait_ready(
        self,
        services: list[Service],
        *,
        timeout: float,
        quiet: bool = False,
        started: list[Service] | None = None,
    ) -> None:
        """Wait until every service answers /ready 200; a process started here that died
        (its port taken, its engine refused) fails at once rather than at the deadline."""
        deadline = time.monotonic() + timeout
        waiting = list(services)
        while waiting:
            for s in started or []:
                if s in waiting and self.pid(s) is None:
                    raise ServiceExited(say("start.exited", name=s.name, log=self.log_dir / f"{s.name}.log"))
            waiting = [s for s in waiting if not self.ready(s)]
            if not waiting:
                break
            if time.monotonic() > deadline:
                names = ", ".join(s.name for s in waiting)
                raise TimeoutError(say("start.not_ready", seconds=timeout, names=names))
            time.sleep(0.2)
        for s in started or []:
            if self.pid(s) is None:  # its port was taken and another process answered for it
                raise ServiceExited(say("start.exited", name=s.name, log=self.log_dir / f"{s.name}.log"))
        self._say(quiet, say("start.ready", count=len(services)))

    def stop(
        self, names: Iterable[str] | None = None, *, sig: int = signal.SIGTERM, timeout: float = 15.0
    ) -> None:
        # Nothing named: everything this fleet may have started, the console too. Every one is
        # signalled first, then waited for: they shut down side by side, not one after another.
        stopping: list[tuple[Service, int]] = []
        for service in [i for s in (self._select(names) if names else EVERYTHING) for i in self.instances(s)]:
            pid = self.pid(service)
            if pid is None:
                self._pidfile(service).unlink(missing_ok=True)
                continue
            os.kill(pid, sig)
            stopping.append((service, pid))
        deadline = time.monotonic() + timeout
        for service, pid in stopping:
            while time.monotonic() < deadline and _alive(pid):
                time.sleep(0.05)
            if _alive(pid):
                os.kill(pid, signal.SIGKILL)
                while _alive(pid):
                    time.sleep(0.05)
            self._pidfile(service).unlink(missing_ok=True)

    def kill(self, name: str, instance: int | None = None) -> None:
        """SIGKILL, as a crash: no shutdown code runs. Every instance, or only `instance`."""
        if instance is None:
            self.stop([name], sig=signal.SIGKILL, timeout=5)
            return
        service = BY_NAME[name].nth(instance)
        pid = self.pid(service)
        if pid is not None:
            os.kill(pid, signal.SIGKILL)
            while _alive(pid):
                time.sleep(0.05)
        self._pidfile(service).unlink(missing_ok=True)

    def status(self, *, console: bool = False) -> list[tuple[Service, int | None, bool]]:
        """The seven services (each instance); `console`: the console too."""
        chosen = EVERYTHING if console else SERVICES
        return [(i, self.pid(i), self.ready(i)) for s in chosen for i in self.instances(s)]

    @staticmethod
    def _select(names: Iterable[str] | None) -> list[Service]:
        if not names:
            return list(SERVICES)
        unknown = [n for n in names if n not in BY_NAME]
        if unknown:
            raise SystemExit(say("start.unknown", names=", ".join(unknown), known=", ".join(BY_NAME)))
        return [BY_NAME[n] for n in names]

    @staticmethod
    def _say(quiet: bool, line: str) -> None:
        if not quiet:
            print(line, flush=True)


def _alive(pid: int) -> bool:
    try:
        waited, _ = os.waitpid(pid, os.WNOHANG)
        if waited == pid:
            return False
    except ChildProcessError:
        pass
    try:
        os.kill(pid, 0)
    except OSError:
        return False
    # A zombie still answers kill(0); /proc tells whether it really runs.
    try:
        return Path(f"/proc/{pid}/stat").read_text().split()[2] != "Z"
    except OSError:
        return False


def print_table(fleet: Fleet) -> bool:
    print(
        say(
            "status.header",
            service=say("status.service"),
            port="port",
            pid="pid",
            ready=say("status.ready"),
            url="url",
        )
    )
    all_ready = True
    for service, pid, ready in fleet.status(console=True):
        all_ready &= ready
        url = f"http://127.0.0.1:{fleet.port(service)}"
        faults = fleet.teaching_faults(service) if pid is not None or ready else []
        # Loud on purpose: a fleet with a mechanism turned off must never pass for a real one.
        warning = say("status.faults", faults=", ".join(faults)) if faults else ""
        answer = say("status.yes" if ready else "status.no")
        print(
            f"{service.name:<22} {fleet.port(service):>5}  {pid or '-':>7}  {answer:<6} "
            f"{url:<26} {service.store}{warning}"
        )
    print(say("status.console", url=f"http://127.0.0.1:{fleet.port(CONSOLE)}"))
    print(say("status.rabbitmq"))
    return all_ready


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="fleet", description="Run the ticketing fleet as local processes.")
    sub = parser.add_subparsers(dest="command", required=True)
    for name, text in (
        (
            "start",
            "start the services that are down, with the tokens of the data folder's tokens.env, "
            "and wait until ready",
        ),
        ("stop", "stop the services started here"),
        ("restart", "stop then start (every service gets the same tokens: the fix for a 401 between them)"),
        ("status", "one line per service"),
        (
            "tokens",
            "make the service and operator tokens once (data folder), print where; a service that "
            "calls others refuses to start without SERVICE_TOKEN",
        ),
    ):
        cmd = sub.add_parser(name, help=text)
        if name not in ("status", "tokens"):
            cmd.add_argument(
                "services", nargs="*", help="packages or console (default: all seven and the console)"
            )
        if name in ("start", "restart"):
            cmd.add_argument(
                "--slow",
                type=int,
                metavar="MS",
                help="slow motion: the orchestrator pauses MS milliseconds before each saga step and "
                "compensation (restarted when it runs; 0 turns it off)",
            )
            cmd.add_argument(
                "--instances",
                type=int,
                default=1,
                metavar="N",
                help="saga_orchestrator or event_store_service only: run N instances sharing their "
                "database, 10 ports apart (3002, 3012, …)",
            )
    demo.add_commands(sub)
    check.add_command(sub)
    # Imported here: the labs and the nemesis drive fleets of this module (a top-level import
    # would be circular).
    from fleetctl import labs, nemesis, resume

    labs.add_command(sub)
    nemesis.add_command(sub)
    resume.add_command(sub)
    args = parser.parse_args(argv)
    if args.command == "check":
        return check.run_command(args)
    if args.command == "lab":
        return labs.run_command(args)
    if args.command == "nemesis":
        return nemesis.run(args)
    if args.command == "resume":
        return resume.run_command(args)
    if args.command in ("seed", "demo"):
        return demo.run_command(args)
    if args.command == "tokens":
        print(say("tokens.where", path=ensure_tokens()))
        return 0
    fleet = Fleet()
    names = getattr(args, "services", None) or [s.package for s in EVERYTHING]
    slow = getattr(args, "slow", None)
    if slow is not None:
        # The setting is read when the orchestrator starts: a running one is restarted with it.
        fleet.env["SAGA_STEP_DELAY_MS"] = str(slow)
        if args.command == "start" and "saga_orchestrator" in names:
            print(say("start.slow", slow=slow), flush=True)
            fleet.stop(["saga_orchestrator"])
    if args.command in ("stop", "restart"):
        print(say("start.stopping"), flush=True)
        fleet.stop(names)
    if args.command in ("start", "restart"):
        if not all(os.environ.get(name) for name in ("SERVICE_TOKEN", "OPERATOR_TOKEN")):
            # The services refuse internal calls without a shared token: make them once.
            ensure_tokens()
        print(say("start.starting"), flush=True)
        fleet.start(names, instances=args.instances)
    if args.command == "status":
        return 0 if print_table(fleet) else 1
    if args.command in ("start", "restart"):
        print_table(fleet)
    return 0


if __name__ == "__main__":
    sys.exit(main())
