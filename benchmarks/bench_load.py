"""Load: closed-loop conversations over REST, ours on one and two replicas beside Rasa's starter bot.

N simulated citizens (``URP_BENCH_CONVERSATIONS``, default 10) each hold one conversation at
a time and send its next message as soon as the previous one is answered (closed loop):
greeting, subscribe, then in a different order each time pharmacy on duty today and
tomorrow, bathing, the latest memo, small talk; unsubscribe, thanks, goodbye; then a new
conversation. After a warm-up
(``URP_BENCH_WARMUP``, 10 s) the answers of ``URP_BENCH_SECONDS`` (40 s) are counted:
messages per second and p50/p95/p99 latency, for

- Rasa's starter bot (``rasa init --no-prompt``, trained in a temporary folder, its own
  defaults: tracker in memory) with the same load generator and its own English script;
- this assistant as `make run` starts it (one Rasa process, trackers in SQLite);
- the production profile of `make run-prod` (PostgreSQL, Redis lock store, RabbitMQ) on
  one replica (straight to its port) and on two (through nginx), in its own databases,
  queue and lock prefix, removed at the end.

The starter bot, one replica and two replicas are measured in turn, ``URP_BENCH_ROUNDS``
times (5): each ratio is taken within a round and the median of the rounds is the result.

Also each Rasa server's RSS after the load, the cold start (process start to the first
answer), and the training time of both bots (``URP_BENCH_TRAIN=0`` skips ours, ~10 min on
2 cores; the model in models/ is the one served). Results: docs/performance.md.
"""

from __future__ import annotations

import asyncio
import json
import os
import platform
import random
import subprocess
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import aio_pika

from tests.e2e.production import RABBITMQ, production
from tests.e2e.servers import ROOT, free_port, processes_below, start, stop

RASA = ROOT / ".venv" / "bin" / "rasa"
Script = Callable[[random.Random], Sequence[str]]  # the messages of one conversation

# One conversation of a citizen: every topic the office's assistant is used for. The
# questions in the middle come in another order in each conversation (seeded), so the
# dialogue goes through varied states, as real conversations do.
URP_OPENING = ("ciao", "iscrivimi")
URP_QUESTIONS = (
    ("quali farmacie sono di turno oggi?", "e domani?"),
    ("si può fare il bagno a Portonovo?",),
    ("qual è l'ultimo memo del comune?",),
    ("sei un bot?",),
)
URP_CLOSING = ("cancellami", "grazie mille", "arrivederci")


def urp_script(chance: random.Random) -> tuple[str, ...]:
    questions = list(URP_QUESTIONS)
    chance.shuffle(questions)
    return (*URP_OPENING, *(text for question in questions for text in question), *URP_CLOSING)


# The starter bot's own intents, as many messages.
STARTER_SCRIPT = (
    "hello",
    "I am sad",
    "no",
    "yes",
    "are you a bot?",
    "great",
    "bye",
    "hi there",
    "I am feeling very good",
    "goodbye",
)


def starter_script(chance: random.Random) -> tuple[str, ...]:
    return STARTER_SCRIPT


def _setting(name: str, default: float) -> float:
    return float(os.environ.get(name) or default)


@dataclass
class LoadResult:
    label: str
    latencies: list[float] = field(default_factory=list)  # seconds, answers in the window
    errors: int = 0
    seconds: float = 0.0
    rss_mb: float = 0.0
    cpu_seconds: float = 0.0  # of the Rasa servers during the window
    machine_busy: float = 0.0  # cores busy on the whole machine (every process) meanwhile
    cold_start: float | None = None

    @property
    def throughput(self) -> float:
        return len(self.latencies) / self.seconds if self.seconds else 0.0

    @property
    def cores(self) -> float:
        """CPU the Rasa servers had: on a shared machine, less than the cores it has."""
        return self.cpu_seconds / self.seconds if self.seconds else 0.0

    @property
    def per_cpu_second(self) -> float:
        """Messages answered per CPU second of the Rasa servers: what a core is worth."""
        return len(self.latencies) / self.cpu_seconds if self.cpu_seconds else 0.0

    def percentile(self, share: float) -> float:
        ordered = sorted(self.latencies)
        if not ordered:
            return float("nan")
        return ordered[min(len(ordered) - 1, int(share * len(ordered)))] * 1000


class _Connection:
    """One citizen's HTTP/1.1 keep-alive connection: POST a JSON body, read the answer.

    The load generator shares the machine's two cores with the servers it measures, so it
    is kept as light as a plain HTTP client can be (as wrk or hey would be): about a third
    of aiohttp's CPU per request. It speaks just what the REST channel and nginx answer:
    Content-Length or chunked bodies, and a new connection when the server closes one.
    """

    def __init__(self, url: str) -> None:
        address = url.split("://", 1)[1]
        host_port, _, path = address.partition("/")
        self.host, _, port = host_port.partition(":")
        self.port = int(port or 80)
        self.path = "/" + path
        self.head = (
            f"POST {self.path} HTTP/1.1\r\nHost: {host_port}\r\n"
            "Content-Type: application/json\r\nContent-Length: "
        ).encode()
        self.streams: tuple[asyncio.StreamReader, asyncio.StreamWriter] | None = None

    async def post(self, body: bytes) -> int:
        """The answer's status; the connection is dropped on any error."""
        try:
            if self.streams is None:
                self.streams = await asyncio.open_connection(self.host, self.port)
            reader, writer = self.streams
            writer.write(self.head + str(len(body)).encode() + b"\r\n\r\n" + body)
            head = await reader.readuntil(b"\r\n\r\n")
            lines = head.decode("latin-1").split("\r\n")
            status = int(lines[0].split()[1])
            headers = {
                name.strip().lower(): value.strip()
                for name, _, value in (line.partition(":") for line in lines[1:] if line)
            }
            if "content-length" in headers:
                await reader.readexactly(int(headers["content-length"]))
            elif headers.get("transfer-encoding", "").lower() == "chunked":
                while size := int((await reader.readuntil(b"\r\n")).split(b";")[0], 16):
                    await reader.readexactly(size + 2)
                await reader.readuntil(b"\r\n")
            if headers.get("connection", "").lower() == "close":
                self.close()
            return status
        except (OSError, asyncio.IncompleteReadError, asyncio.LimitOverrunError, ValueError):
            self.close()
            return 0

    def close(self) -> None:
        if self.streams is not None:
            self.streams[1].close()
            self.streams = None


async def _citizen(
    url: str,
    script: Script,
    window: tuple[float, float],
    result: LoadResult,
    chance: random.Random,
) -> None:
    begin, end = window
    connection = _Connection(url)
    try:
        while time.monotonic() < end:
            sender = "bench-" + uuid.uuid4().hex
            for text in script(chance):
                sent = time.monotonic()
                if sent >= end:
                    return
                body = json.dumps({"sender": sender, "message": text}).encode()
                try:
                    ok = await asyncio.wait_for(connection.post(body), 300) == 200
                except TimeoutError:
                    connection.close()
                    ok = False
                done = time.monotonic()
                if begin <= sent and done <= end:
                    if ok:
                        result.latencies.append(done - sent)
                    else:
                        result.errors += 1
    finally:
        connection.close()


def _cpu_seconds(pids: Sequence[int]) -> float:
    ticks = 0
    for pid in pids:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        ticks += int(fields[11]) + int(fields[12])  # utime, stime
    return ticks / os.sysconf("SC_CLK_TCK")


def _machine_busy_seconds() -> float:
    """CPU seconds the whole machine has spent busy (not idle nor waiting) since boot."""
    fields = [int(value) for value in Path("/proc/stat").read_text().split("\n")[0].split()[1:]]
    idle = fields[3] + fields[4]
    return (sum(fields[:8]) - idle) / os.sysconf("SC_CLK_TCK")


async def _measure_cpu(
    pids: Sequence[int], window: tuple[float, float], result: LoadResult
) -> None:
    begin, end = window
    await asyncio.sleep(max(0.0, begin - time.monotonic()))
    start, machine = _cpu_seconds(pids), _machine_busy_seconds()
    await asyncio.sleep(max(0.0, end - time.monotonic()))
    result.cpu_seconds = _cpu_seconds(pids) - start
    result.machine_busy = (_machine_busy_seconds() - machine) / result.seconds


async def _load(label: str, base_url: str, script: Script, servers: Sequence[int]) -> LoadResult:
    conversations = int(_setting("URP_BENCH_CONVERSATIONS", 10))
    warmup = _setting("URP_BENCH_WARMUP", 10)
    seconds = _setting("URP_BENCH_SECONDS", 40)
    result = LoadResult(label, seconds=seconds)
    begin = time.monotonic() + warmup
    url = f"{base_url}/webhooks/rest/webhook"
    window = (begin, begin + seconds)
    await asyncio.gather(
        _measure_cpu(servers, window, result),
        *(
            _citizen(url, script, window, result, random.Random(citizen))
            for citizen in range(conversations)
        ),
    )
    return result


def load(label: str, base_url: str, script: Script, servers: Sequence[int]) -> LoadResult:
    """Closed-loop load on ``base_url``; ``servers`` are the Rasa processes whose CPU counts."""
    result = asyncio.run(_load(label, base_url, script, servers))
    result.rss_mb = _rss_mb(servers)
    return result


def _first_answer(base_url: str, message: str, started: float, process: subprocess.Popen) -> float:
    """Seconds from ``started`` to the first REST answer of the server."""
    import requests

    while True:
        if process.poll() is not None:
            raise RuntimeError(f"the server at {base_url} ended with {process.returncode}")
        try:
            answer = requests.post(
                f"{base_url}/webhooks/rest/webhook",
                json={"sender": "bench-cold-" + uuid.uuid4().hex, "message": message},
                timeout=60,
            )
            if answer.status_code == 200 and answer.json():
                return time.monotonic() - started
        except requests.RequestException:
            pass
        time.sleep(0.2)


def _rss_mb(pids: Sequence[int]) -> float:
    total = 0
    for pid in pids:
        try:
            status = Path(f"/proc/{pid}/status").read_text()
        except OSError:
            continue
        for line in status.splitlines():
            if line.startswith("VmRSS:"):
                total += int(line.split()[1])
    return total / 1024


def _rasa_servers(process: subprocess.Popen, port: int | None = None) -> list[int]:
    """The Rasa servers (not the action server) started below ``process``."""
    return [
        pid
        for pid, command in processes_below(process.pid).items()
        if " run " in command + " "
        and "rasa" in command
        and " actions" not in command
        and (port is None or f"--port {port}" in command)
    ]


def _timed(command: Sequence[str], cwd: Path) -> float:
    started = time.monotonic()
    subprocess.run(
        command, cwd=cwd, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT
    )
    return time.monotonic() - started


@dataclass
class Starter:
    url: str
    pids: list[int]
    cold_start: float
    training: float


@contextmanager
def starter_bot(folder: Path) -> Iterator[Starter]:
    """Rasa's starter bot: trained by ``rasa init``, served over REST until the end."""
    init = _timed([str(RASA), "init", "--no-prompt", "--init-dir", str(folder)], folder)
    port = free_port()
    started = time.monotonic()
    process = subprocess.Popen(
        [str(RASA), "run", "--port", str(port), "--interface", "127.0.0.1", "--quiet"],
        cwd=folder,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    try:
        url = f"http://127.0.0.1:{port}"
        cold = _first_answer(url, "hello", started, process)
        yield Starter(url, [process.pid], cold, init)
    finally:
        process.terminate()
        process.wait(timeout=60)


def embedded(folder: Path) -> LoadResult:
    """This assistant as `make run` starts it."""
    started = time.monotonic()
    running = start(folder)
    try:
        cold = _first_answer(running.url, "ciao", started, running.process)
        servers = _rasa_servers(running.process)
        result = load("URP, make run (1 process, SQLite)", running.url, urp_script, servers)
        result.cold_start = cold
    finally:
        stop(running)
    return result


@dataclass
class Round:
    starter: LoadResult
    one: LoadResult
    two: LoadResult


def emptied(queue: str) -> None:
    """RabbitMQ's queue of events emptied before a measure.

    The benchmark has no consumer for it (one in this process would cost more CPU than the
    broker saves): left alone, the queue would grow by every event of the whole benchmark and
    RabbitMQ spend more and more CPU keeping it, a state no deployment runs in
    (docs/deployment.md: a consumer or a length limit). Each measure starts from empty.
    """

    async def purge() -> None:
        connection = await aio_pika.connect(RABBITMQ)
        async with connection:
            channel = await connection.channel()
            await (await channel.get_queue(queue)).purge()

    asyncio.run(purge())


def rounds(folder: Path, starter: Starter, count: int) -> list[Round]:
    """The production profile beside the starter bot, ``count`` times in turn.

    On a shared virtual machine the CPU the benchmark gets drifts by 10-20% from one minute
    to the next: measured in turn, the three configurations of one round meet the same
    conditions, and each ratio is taken within a round.
    """
    started = time.monotonic()
    done = []
    with production(folder) as running:
        balancer = running.assistant
        cold = _first_answer(balancer.url, "ciao", started, balancer.process)
        port = int(running.replicas[0].rsplit(":", 1)[1])
        first, both = _rasa_servers(balancer.process, port), _rasa_servers(balancer.process)
        for _ in range(count):
            base = load(
                "starter bot (rasa init), 1 process", starter.url, starter_script, starter.pids
            )
            emptied(running.queue)
            one = load("URP, production profile, 1 replica", running.replicas[0], urp_script, first)
            emptied(running.queue)
            two = load(
                "URP, production profile, 2 replicas + nginx", balancer.url, urp_script, both
            )
            base.cold_start, one.cold_start, two.cold_start = starter.cold_start, cold, cold
            done.append(Round(base, one, two))
    return done


def median(values: Sequence[float]) -> float:
    ordered = sorted(values)
    middle = len(ordered) // 2
    return ordered[middle] if len(ordered) % 2 else (ordered[middle - 1] + ordered[middle]) / 2


def typical(results: Sequence[LoadResult]) -> LoadResult:
    """The measure of median throughput (the lower middle one of an even count)."""
    return sorted(results, key=lambda result: result.throughput)[(len(results) - 1) // 2]


def _machine() -> str:
    cpu = "?"
    for line in Path("/proc/cpuinfo").read_text().splitlines():
        if line.startswith("model name"):
            cpu = line.split(":", 1)[1].strip()
            break
    memory = Path("/proc/meminfo").read_text().split()[1]
    load1, load5, _ = os.getloadavg()
    return (
        f"{cpu}, {os.cpu_count()} core, {int(memory) // 1024 // 1024} GB RAM, "
        f"Python {platform.python_version()}, load average {load1:.1f}/{load5:.1f} at start"
    )


def _row(result: LoadResult) -> str:
    cold = f"{result.cold_start:7.1f}" if result.cold_start is not None else "      -"
    return (
        f"  {result.label:<46} {result.throughput:6.1f} {result.percentile(0.50):7.0f} "
        f"{result.percentile(0.95):7.0f} {result.percentile(0.99):7.0f} "
        f"{result.rss_mb:7.0f} {cold} {result.errors:6d} {result.cores:6.2f} "
        f"{result.per_cpu_second:7.1f} {result.machine_busy:6.2f}"
    )


def main() -> None:
    conversations = int(_setting("URP_BENCH_CONVERSATIONS", 10))
    count = int(_setting("URP_BENCH_ROUNDS", 5))
    print(f"  machine: {_machine()}")
    print(
        f"  {conversations} concurrent conversations, closed loop, "
        f"{_setting('URP_BENCH_SECONDS', 40):.0f} s measured after "
        f"{_setting('URP_BENCH_WARMUP', 10):.0f} s of warm-up; {count} rounds of starter bot, "
        "1 replica, 2 replicas in turn"
    )
    with tempfile.TemporaryDirectory(prefix="urp-bench-load-") as folder:
        base = Path(folder)
        (base / "starter").mkdir()
        with starter_bot(base / "starter") as starter:
            ours_training = None
            if os.environ.get("URP_BENCH_TRAIN", "1") != "0":
                (base / "model").mkdir()
                ours_training = _timed(
                    [str(RASA), "train", "--out", str(base / "model"), "--fixed-model-name", "urp"],
                    ROOT,
                )
            (base / "embedded").mkdir()
            make_run = embedded(base / "embedded")
            (base / "production").mkdir()
            measured = rounds(base / "production", starter, count)
    print(
        f"\n  {'round':<6} {'starter msg/s':>14} {'1 replica':>10} {'2 replicas':>11} "
        f"{'1 rep./starter':>15} {'2 rep./1 rep.':>14}"
    )
    for number, each in enumerate(measured, 1):
        print(
            f"  {number:<6} {each.starter.throughput:14.1f} {each.one.throughput:10.1f} "
            f"{each.two.throughput:11.1f} {each.one.throughput / each.starter.throughput:14.2f}x "
            f"{each.two.throughput / each.one.throughput:13.2f}x"
        )
    print(
        f"\n  {'configuration (round of median msg/s)':<46} {'msg/s':>6} {'p50 ms':>7} "
        f"{'p95 ms':>7} {'p99 ms':>7} {'RSS MB':>7} {'cold s':>7} {'errors':>6} {'cores':>6} "
        f"{'msg/CPUs':>7} {'busy':>6}"
    )
    for result in (
        typical([each.starter for each in measured]),
        make_run,
        typical([each.one for each in measured]),
        typical([each.two for each in measured]),
    ):
        print(_row(result))
    errors = sum(r.errors for each in measured for r in (each.starter, each.one, each.two))
    first = median([each.one.throughput / each.starter.throughput for each in measured])
    second = median([each.two.throughput / each.one.throughput for each in measured])
    print(
        f"\n  URP 1 replica / starter bot: {first:.2f}x, median of the rounds (must be >= 1.0, goal 1.5)"
    )
    print(f"  URP 2 replicas / 1 replica:  {second:.2f}x, median of the rounds (must be >= 1.6)")
    print(f"  errors in all rounds: {errors}")
    print(
        "  cores: CPU the Rasa servers got; msg/CPUs: messages per CPU second of theirs; "
        "busy: cores busy on the whole machine (every user) during the window"
    )
    print(f"  training: starter bot (rasa init) {starter.training:.0f} s", end="")
    print(f", URP {ours_training:.0f} s" if ours_training is not None else ", URP skipped")
