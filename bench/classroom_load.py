"""Classroom load: the real server with a class of sessions, driven through Streamlit's own websocket protocol.

The server is started exactly as `make classroom` starts it (core.classroom.server_command: no file
watching, XSRF on, no uploads, viewer toolbar), on loopback and with a fresh results store. Each
session is a websocket client of `/_stcore/stream` speaking the installed Streamlit's protobufs, as the
browser does: it sends `BackMsg.rerun_script` (page, URL query, widget values, fragment id), reads the
`ForwardMsg`s (deltas, `new_session`, `script_finished`), keeps its widget values and URL query like the
browser's widget manager, and answers `auto_rerun` by rerunning that fragment on its interval (the
training panels poll this way). An interaction is timed from sending its message to the
`script_finished` of the run it caused.

The class: every session opens the home page, then a concept page (arrivals spread over a few seconds);
then `--trainers` of them open the transfer page and press the same comparison button within a few
seconds, one session presses the BN-in-training experiment, and all keep interacting with a think time
between actions (move the clipping page's vector, switch the BN page's momentum, open the transfer
results) until the trainings are done and `--duration` has passed.

Why the websocket protocol and not 30 headless Chromium contexts: on 2 cores, 30 browsers (each a
renderer running React and plotly.js) would use more CPU than the server, so the timings would measure
the browsers; the protocol client costs a few percent of a core (reported below) and sees exactly what
a browser is sent. What it skips is the browser's own drawing time.

Reported: per interaction kind, n / p50 / p95 / max seconds; trainings the server ran (its job journal,
core.jobs' LAB_JOB_LOG); exceptions and error boxes any session was sent, and tracebacks in the server
log; the server's peak RSS (VmHWM); load average and CPU seconds of server and client. Ends with four
lines a script can read: light_p95_s, duplicate_trainings, exceptions, peak_rss_mb.

    python -m bench.classroom_load             # 30 sessions, 10 press the comparison, full-size presets
    python -m bench.classroom_load --quick     # 5 sessions, tiny presets, a few seconds (make test runs it)
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path
from typing import Optional
from urllib.parse import parse_qsl, urlencode

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

CONCEPT_PAGES = ("Gradient_Clipping", "Batch_Normalization", "Transfer_Learning")  # first pages, by session
MOMENTA = ("0.9", "0.99", "0.999")  # the BN page's momentum presets (core.batchnorm.MOMENTUM_PRESETS)
LIGHT_KINDS = ("move clipping vector", "switch BN momentum", "open transfer results", "go to page")
REQUEST_TIMEOUT = 120.0  # seconds one rerun may take before it counts as a failure (a lost rerun)
POLL_TIMEOUT = 30.0  # a fragment poll unanswered this long: the fragment is gone (the server drops such reruns)


@dataclass
class Record:
    kind: str  # what the session did
    started: float  # time.time() when the message was sent
    seconds: float  # until the run it caused finished
    session: int


@dataclass
class Widget:
    element_id: str  # Streamlit's widget id ("$$ID-<hash>-<key>")
    fragment_id: str  # the fragment it lives in ("" outside fragments)
    query_key: str  # its URL parameter when bound to the query string, else ""


@dataclass
class Findings:
    """Everything the sessions saw that a class should never see."""
    exceptions: list = field(default_factory=list)  # (session, type, message) of exception elements
    error_boxes: list = field(default_factory=list)  # (session, text) of st.error boxes
    failures: list = field(default_factory=list)  # (session, what) of timeouts, lost connections, page not found
    dropped_polls: int = 0  # fragment polls the server never answered (the fragment was gone): not a failure
    toolbar_modes: set = field(default_factory=set)  # what new_session told the sessions (2 = viewer)


class Session:
    """One browser tab, as the server sees it: a websocket speaking BackMsg / ForwardMsg."""

    def __init__(self, url: str, number: int, records: list, findings: Findings):
        self.url, self.number, self.records, self.findings = url, number, records, findings
        self.widgets: dict[str, Widget] = {}  # user key -> widget, from this run's deltas
        self.keys: set[str] = set()  # user keys of every keyed element drawn by the latest full run
        self.values: dict = {}  # widget id -> WidgetState the "user" set (sent with every rerun)
        self.query: dict[str, str] = {}  # the tab's URL query
        self.page = ""  # current url path ("" = home)
        self.page_hash = ""  # its page script hash, from the server's new_session
        self._started: list[str] = []  # run ids, in the order their new_session arrived
        self._finished: list[tuple] = []  # (run id, fragment ids, status) of every script_finished
        self._arrival = asyncio.Event()  # set (and replaced) whenever a run finishes or the connection ends
        self._closed = False
        self._auto: dict[str, asyncio.Task] = {}  # fragment id -> its polling task
        self._ws = None
        self._reader: Optional[asyncio.Task] = None

    async def connect(self) -> None:
        from websockets.asyncio.client import connect

        self._ws = await connect(self.url, subprotocols=["streamlit"], max_size=None, compression=None,
                                 open_timeout=60, ping_interval=None)
        self._reader = asyncio.create_task(self._read())

    async def close(self) -> None:
        for task in self._auto.values():
            task.cancel()
        if self._ws is not None:
            await self._ws.close()
        if self._reader is not None:
            self._reader.cancel()

    # ---- what arrives -------------------------------------------------------------------------------
    async def _read(self) -> None:
        from streamlit.proto.ForwardMsg_pb2 import ForwardMsg

        try:
            async for data in self._ws:
                message = ForwardMsg()
                message.ParseFromString(data)
                self._handle(message)
        except asyncio.CancelledError:
            raise
        except Exception as error:  # a lost connection is a failure the report names
            self.findings.failures.append((self.number, f"connection lost: {error!r}"))
        finally:
            self._closed = True
            self._notify()

    def _notify(self) -> None:
        arrived, self._arrival = self._arrival, asyncio.Event()
        arrived.set()

    def _handle(self, message) -> None:
        kind = message.WhichOneof("type")
        if kind == "new_session":  # a run starts; a full run's widgets replace the last run's
            self._started.append(message.metadata.run.script_run_id)
            self.findings.toolbar_modes.add(message.new_session.config.toolbar_mode)
            if not message.metadata.run.fragment_ids:
                self.widgets, self.keys = {}, set()
                for task in self._auto.values():
                    task.cancel()
                self._auto = {}
        elif kind == "navigation":  # which page this run draws (pages/ folder: the page's own hash)
            self.page_hash = message.navigation.page_script_hash
        elif kind == "delta" and message.delta.WhichOneof("type") == "new_element":
            self._element(message.delta.new_element, message.delta.fragment_id)
        elif kind == "auto_rerun":
            fragment, interval = message.auto_rerun.fragment_id, message.auto_rerun.interval
            if fragment not in self._auto:
                self._auto[fragment] = asyncio.create_task(self._poll(fragment, interval))
        elif kind == "stop_auto_rerun":
            for fragment in message.stop_auto_rerun.fragment_ids:
                task = self._auto.pop(fragment, None)
                if task is not None:
                    task.cancel()
        elif kind == "page_info_changed":
            self.query = dict(parse_qsl(message.page_info_changed.query_string, keep_blank_values=True))
        elif kind == "page_not_found":
            self.findings.failures.append((self.number, f"page not found: {message.page_not_found.page_name}"))
        elif kind == "script_finished":
            run = message.metadata.run
            self._finished.append((run.script_run_id, tuple(run.fragment_ids), message.script_finished))
            self._notify()

    def _element(self, element, fragment_id: str) -> None:
        kind = element.WhichOneof("type")
        if kind == "exception":
            self.findings.exceptions.append((self.number, element.exception.type, element.exception.message[:300]))
            return
        if kind == "alert" and element.alert.format == element.alert.ERROR:
            self.findings.error_boxes.append((self.number, element.alert.body[:300]))
            return
        proto = getattr(element, kind)
        element_id = getattr(proto, "id", "") if kind and hasattr(proto, "id") else ""
        if not element_id.startswith("$$ID-") or element_id.count("-") < 2:
            return
        user_key = element_id.split("-", 2)[2]
        self.keys.add(user_key)
        self.widgets[user_key] = Widget(element_id, fragment_id, getattr(proto, "query_param_key", ""))

    # ---- what is sent ------------------------------------------------------------------------------
    async def rerun(self, *, page: Optional[str] = None, fragment: str = "", triggers=(), auto: bool = False,
                    timeout: float = REQUEST_TIMEOUT) -> float:
        """Send one rerun_script and wait for the run it causes (and any run that run asks for) to finish."""
        from streamlit.proto.BackMsg_pb2 import BackMsg
        from streamlit.proto.ForwardMsg_pb2 import ForwardMsg
        from websockets.exceptions import ConnectionClosed

        early = ForwardMsg.ScriptFinishedStatus.Value("FINISHED_EARLY_FOR_RERUN")
        message = BackMsg()
        state = message.rerun_script
        state.query_string = urlencode(self.query)
        if page is not None:  # navigation: the server finds the page by its address
            state.page_name = page
        else:  # a rerun of the page the tab shows
            state.page_name, state.page_script_hash = self.page, self.page_hash
        state.fragment_id = fragment
        state.is_auto_rerun = auto
        state.widget_states.widgets.extend([*self.values.values(), *triggers])
        started_mark, finished_mark = len(self._started), len(self._finished)
        started = time.perf_counter()
        try:
            await self._ws.send(message.SerializeToString())
        except ConnectionClosed as error:  # the tab was closed (the bench ending): what every caller handles
            raise ConnectionError(f"the connection is closed: {error}") from None
        deadline = started + timeout
        # The run this message caused: one that started after it was sent and finished for good (not cut short
        # for another run), covering its fragment: that fragment's run, or a full run (which also answers a
        # fragment that asked for a full rerun). Runs other messages of this tab caused are not it.
        while True:
            arrival = self._arrival
            runs = set(self._started[started_mark:])
            for run_id, fragments, status in self._finished[finished_mark:]:
                if run_id in runs and status != early and (not fragments or (fragment and fragment in fragments)):
                    return time.perf_counter() - started
            if self._closed:
                raise ConnectionError("the server closed the connection")
            remaining = deadline - time.perf_counter()
            if remaining <= 0:
                raise asyncio.TimeoutError(
                    f"no finished run within {timeout:.0f} s (page {self.page!r}, fragment {fragment[:8]!r}; runs "
                    f"started since: {[run[:8] for run in self._started[started_mark:]]}, finished since: "
                    f"{[(run[:8], fragments, status) for run, fragments, status in self._finished[finished_mark:]]})")
            try:
                await asyncio.wait_for(arrival.wait(), remaining)
            except asyncio.TimeoutError:
                pass

    async def timed(self, kind: str, **rerun) -> float:
        started = time.time()
        try:
            seconds = await self.rerun(**rerun)
        except (asyncio.TimeoutError, ConnectionError) as error:
            self.findings.failures.append((self.number, f"{kind}: {error!r}"))
            return float("nan")
        self.records.append(Record(kind, started, seconds, self.number))
        return seconds

    async def _poll(self, fragment: str, interval: float) -> None:
        """A fragment with run_every: the browser reruns it on its interval (the job panels poll so)."""
        try:
            while True:
                await asyncio.sleep(interval)
                await self.rerun(fragment=fragment, auto=True, timeout=POLL_TIMEOUT)
        except asyncio.TimeoutError:  # the server drops reruns of a fragment a full run removed: stop polling it
            self._auto.pop(fragment, None)
            self.findings.dropped_polls += 1
        except (asyncio.CancelledError, ConnectionError):
            pass

    async def open(self, page: str, kind: str) -> float:
        self.values, self.query = {}, {}  # a new page: its own widgets and URL
        self.page = page
        return await self.timed(kind, page=page)

    def _widget(self, key: str) -> Widget:
        if key not in self.widgets:
            raise LookupError(f"session {self.number}: no widget {key!r} on page {self.page!r}")
        return self.widgets[key]

    async def set_value(self, key: str, kind: str, **value) -> float:
        """Set a widget as a user would (one WidgetState field, e.g. double_value=3.0) and time its rerun."""
        from streamlit.proto.WidgetStates_pb2 import WidgetState

        widget = self._widget(key)
        state = WidgetState(id=widget.element_id)
        for name, content in value.items():
            if name == "string_array_value":
                state.string_array_value.data.extend(content)
            else:
                setattr(state, name, content)
        self.values[widget.element_id] = state
        if widget.query_key:  # the browser writes a bound widget's value into its URL
            shown = value.get("double_value", None)
            self.query[widget.query_key] = str(shown) if shown is not None else ",".join(
                value.get("string_array_value", ()))
        return await self.timed(kind, fragment=widget.fragment_id)

    async def press(self, key: str, kind: str) -> float:
        from streamlit.proto.WidgetStates_pb2 import WidgetState

        widget = self._widget(key)
        return await self.timed(kind, fragment=widget.fragment_id,
                                triggers=[WidgetState(id=widget.element_id, trigger_value=True)])

    async def until_drawn(self, key: str, timeout: float) -> bool:
        """Wait (the fragment polls keep running) until an element keyed `key` is drawn."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if key in self.keys:
                return True
            await asyncio.sleep(0.2)
        return False


# ---- the class -------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Plan:
    sessions: int  # students
    trainers: int  # of them, how many press the same comparison button
    duration: float  # seconds of interaction at least (longer while trainings run)
    ramp: float  # seconds over which the sessions arrive
    think: tuple  # (low, high) seconds a student waits between actions
    training_timeout: float  # seconds a training may take before the bench gives up on it
    seed: int = 0


async def student(number: int, url: str, plan: Plan, records: list, findings: Findings, go: asyncio.Event,
                  stop: asyncio.Event, results_shown: list) -> None:
    rng = random.Random(plan.seed * 1000 + number)
    await asyncio.sleep(plan.ramp * number / max(plan.sessions, 1))
    session = Session(url, number, records, findings)
    try:
        await session.connect()
        await session.open("", "open home")
        await session.open(CONCEPT_PAGES[number % len(CONCEPT_PAGES)], "open concept page")
        await go.wait()
        if number < plan.trainers:
            await press_and_wait(session, rng, "Transfer_Learning", "tl_comparison_train", "tl_paired_chart",
                                 "comparison", plan, results_shown)
        elif number == plan.trainers:
            await press_and_wait(session, rng, "BN_in_Training", "bnt_deep_train", "bnt_fig_gradients",
                                 "BN experiment", plan, results_shown)
        while not stop.is_set():
            await light_action(session, rng)
            await asyncio.sleep(rng.uniform(*plan.think))
    except LookupError as error:
        findings.failures.append((number, str(error)))
    except (ConnectionError, OSError, asyncio.TimeoutError) as error:
        findings.failures.append((number, f"{error!r}"))
    finally:
        await session.close()


async def press_and_wait(session: Session, rng: random.Random, page: str, button: str, result: str, what: str,
                         plan: Plan, results_shown: list) -> None:
    if session.page != page:
        await session.open(page, "go to page")
    await asyncio.sleep(rng.uniform(0, 3))  # the class presses within a few seconds of each other
    pressed = time.time()
    await session.press(button, f"press {what}")
    if await session.until_drawn(result, plan.training_timeout):
        session.records.append(Record(f"{what} result shown", pressed, time.time() - pressed, session.number))
        results_shown.append(what)
    else:
        session.findings.failures.append((session.number, f"{what}: no result within {plan.training_timeout:.0f} s"))


async def light_action(session: Session, rng: random.Random) -> None:
    choice = rng.choice(("clip", "clip", "momentum", "momentum", "transfer"))
    if choice == "transfer":
        await session.open("Transfer_Learning", "open transfer results")
        return
    page = "Gradient_Clipping" if choice == "clip" else "Batch_Normalization"
    if session.page != page:
        await session.open(page, "go to page")
    for _ in range(rng.randint(1, 3)):  # a student plays with a control a few times
        if choice == "clip":
            await session.set_value(rng.choice(("clip_x", "clip_y")), "move clipping vector",
                                    double_value=round(rng.uniform(-50, 50), 1))
        else:
            await session.set_value("bn_momentum", "switch BN momentum", string_array_value=[rng.choice(MOMENTA)])
        await asyncio.sleep(rng.uniform(0.5, 1.5))


async def run_class(url: str, plan: Plan, journal: Path) -> tuple[list, Findings, float, float, list]:
    records, findings, results_shown = [], Findings(), []
    go, stop = asyncio.Event(), asyncio.Event()
    started = time.time()
    tasks = [asyncio.create_task(student(number, url, plan, records, findings, go, stop, results_shown))
             for number in range(plan.sessions)]
    await asyncio.sleep(plan.ramp + 5)  # everyone has arrived and opened two pages (or is about to)
    go.set()
    expected = min(plan.trainers, plan.sessions) + (1 if plan.sessions > plan.trainers else 0)
    deadline = time.time() + plan.training_timeout
    while time.time() < deadline and (len(results_shown) < expected or time.time() < started + plan.duration):
        if all(task.done() for task in tasks):
            break
        await asyncio.sleep(0.5)
    trainings_done = time.time()
    await asyncio.sleep(3)  # a last few light interactions after the trainings
    stop.set()
    await asyncio.gather(*tasks, return_exceptions=True)
    return records, findings, started, trainings_done, results_shown


# ---- the server --------------------------------------------------------------------------------------

def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def start_server(data_dir: Path, journal: Path, log_path: Path, quick: bool,
                 settings: Optional[dict] = None) -> tuple[subprocess.Popen, int]:
    from core import classroom

    port = free_port()
    env = {**os.environ, "LAB_DATA_DIR": str(data_dir), "LAB_JOB_LOG": str(journal), "TF_CPP_MIN_LOG_LEVEL": "2"}
    env.pop("LAB_TEACHER_KEY", None)  # the class's runs are the defaults: nothing locked
    if quick:
        env["LAB_PRESET"] = "tiny"
    else:
        env.pop("LAB_PRESET", None)
    command = classroom.server_command(port, settings={"server.address": "127.0.0.1", **(settings or {})})
    process = subprocess.Popen(command, cwd=ROOT, env=env, stdout=open(log_path, "w"), stderr=subprocess.STDOUT)
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"the server exited with {process.returncode}; see {log_path}")
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/_stcore/health", timeout=2) as response:
                if response.status == 200:
                    return process, port
        except OSError:
            time.sleep(0.3)
    process.kill()
    raise RuntimeError(f"the server did not answer within 120 s; see {log_path}")


def proc_status(pid: int) -> dict:
    """VmRSS / VmHWM (kB) of a process, from /proc."""
    values = {}
    with open(f"/proc/{pid}/status") as status:
        for line in status:
            name, _, rest = line.partition(":")
            if name in ("VmRSS", "VmHWM"):
                values[name] = int(rest.split()[0])
    return values


def cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")  # utime + stime


class RssSampler(threading.Thread):
    """Samples the server's resident memory twice a second; the peak comes from the kernel (VmHWM)."""

    def __init__(self, pid: int):
        super().__init__(daemon=True)
        self.pid, self.samples, self.done = pid, [], threading.Event()
        self.peak_kb = 0

    def run(self) -> None:
        while not self.done.wait(0.5):
            try:
                status = proc_status(self.pid)
            except OSError:
                return
            self.samples.append((time.time(), status.get("VmRSS", 0)))
            self.peak_kb = max(self.peak_kb, status.get("VmHWM", 0))


# ---- the report --------------------------------------------------------------------------------------

def percentile(values: list, share: float) -> float:
    ordered = sorted(values)
    if not ordered:
        return float("nan")
    return ordered[min(len(ordered) - 1, max(0, int(round(share * (len(ordered) - 1)))))]


def training_windows(journal: Path) -> tuple[list, list]:
    """(started/finished events, (start, end) windows when some job ran) from the server's job journal."""
    events = [json.loads(line) for line in journal.read_text().splitlines()] if journal.exists() else []
    windows, open_since = [], {}
    for event in events:
        if event["event"] == "started":
            open_since[event["key"]] = event["time"]
        elif event["key"] in open_since:
            windows.append((open_since.pop(event["key"]), event["time"]))
    windows += [(start, float("inf")) for start in open_since.values()]
    return events, windows


def report(records: list, findings: Findings, journal: Path, log_path: Path, sampler: RssSampler, plan: Plan,
           server_cpu: float, client_cpu: float, wall: float, load_before: tuple, load_after: tuple) -> dict:
    events, windows = training_windows(journal)

    def during(record: Record) -> bool:
        return any(start <= record.started <= end for start, end in windows)

    kinds = sorted({record.kind for record in records}, key=lambda kind: min(r.started for r in records
                                                                            if r.kind == kind))
    print(f"\n{'interaction':<34}{'n':>5}{'p50 s':>9}{'p95 s':>9}{'max s':>9}   during a training: n, p95 s")
    for kind in kinds:
        times = [record.seconds for record in records if record.kind == kind]
        busy = [record.seconds for record in records if record.kind == kind and during(record)]
        busy_text = f"{len(busy):>5}, {percentile(busy, 0.95):.2f}" if busy else "    0"
        print(f"{kind:<34}{len(times):>5}{statistics.median(times):>9.2f}{percentile(times, 0.95):>9.2f}"
              f"{max(times):>9.2f}   {busy_text}")
    light = [record for record in records if record.kind in LIGHT_KINDS]
    light_busy = [record.seconds for record in light if during(record)]
    light_all = [record.seconds for record in light]
    # A duplicate training is a job started while another job of the same key is still running: the queue should
    # have shared it. A job started after the first one finished (a press on a page drawn before it finished)
    # finds every seed in the store and trains nothing, so it is counted apart, as a late press.
    per_key: dict[str, int] = {}
    running: dict[str, int] = {}
    late = 0
    for event in sorted(events, key=lambda event: event["time"]):
        key = event["key"]
        if event["event"] == "started":
            if running.get(key, 0):
                per_key[key] = per_key.get(key, 1) + 1
            elif key in per_key:
                late += 1
            else:
                per_key[key] = 1
            running[key] = running.get(key, 0) + 1
        else:
            running[key] = max(running.get(key, 0) - 1, 0)
    duplicates = sum(count - 1 for count in per_key.values())
    print("\ntrainings the server ran (its job journal):")
    for event in events:
        if event["event"] != "started":
            print(f"  {event['event']:<9} {event['label']:<30} {event.get('seconds', float('nan')):8.1f} s")
    for key, count in per_key.items():
        if count > 1:
            print(f"  TRAINED {count} TIMES AT ONCE: {key}")
    if late:
        print(f"  {late} job(s) started after the same job had finished (a stale page's press; the store had "
              "every seed, nothing was trained again)")
    tracebacks = [line for line in log_path.read_text(errors="replace").splitlines() if "Traceback" in line]
    print(f"\nexception elements sent to sessions: {len(findings.exceptions)}; tracebacks in the server log: "
          f"{len(tracebacks)}; error boxes: {len(findings.error_boxes)}; client-side failures: "
          f"{len(findings.failures)}; fragment polls left unanswered: {findings.dropped_polls}")
    for number, kind, message in findings.exceptions[:5]:
        print(f"  session {number}: {kind}: {message}")
    for number, text in findings.error_boxes[:5]:
        print(f"  session {number} error box: {text}")
    for number, what in findings.failures[:5]:
        print(f"  session {number} failure: {what}")
    peak_mb = max(sampler.peak_kb, max((kb for _, kb in sampler.samples), default=0)) / 1024
    print(f"server: peak RSS {peak_mb:.0f} MB, {server_cpu:.0f} CPU s over {wall:.0f} s wall "
          f"({server_cpu / max(wall, 1e-9):.2f} cores); bench client {client_cpu:.0f} CPU s "
          f"({client_cpu / max(wall, 1e-9):.2f} cores)")
    from streamlit.proto.NewSession_pb2 import Config

    modes = ", ".join(Config.ToolbarMode.Name(mode).lower() for mode in sorted(findings.toolbar_modes))
    print(f"toolbar mode the sessions were given: {modes or 'none'}")
    print(f"machine: {os.cpu_count()} cores, load average {load_before[0]:.2f} before, {load_after[0]:.2f} after "
          f"(1 min; other processes included)")
    if not light_busy:
        print("note: no light interaction started while a training ran; light_p95_s is over all of them")
    summary = {
        "light_p95_s": percentile(light_busy or light_all, 0.95),
        "duplicate_trainings": duplicates,
        "exceptions": len(findings.exceptions) + len(tracebacks),
        "peak_rss_mb": peak_mb,
    }
    print(f"light_p95_s: {summary['light_p95_s']:.2f}")
    print(f"duplicate_trainings: {summary['duplicate_trainings']}")
    print(f"exceptions: {summary['exceptions']}")
    print(f"peak_rss_mb: {summary['peak_rss_mb']:.0f}")
    return summary


def main(argv: Optional[list] = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="5 sessions, 2 pressing, tiny presets, a few seconds")
    parser.add_argument("--sessions", type=int, default=None, help="students (default 30; 5 with --quick)")
    parser.add_argument("--trainers", type=int, default=None, help="of them pressing the comparison (default 10)")
    parser.add_argument("--duration", type=float, default=None, help="seconds of interaction at least (default 60)")
    parser.add_argument("--keep", action="store_true", help="keep the data folder, job journal and server log")
    parser.add_argument("--setting", action="append", default=[], metavar="NAME=VALUE",
                        help="a Streamlit setting over the classroom ones, e.g. runner.postScriptGC=true (A/B runs)")
    args = parser.parse_args(argv)
    quick = args.quick
    plan = Plan(sessions=args.sessions or (5 if quick else 30), trainers=args.trainers or (2 if quick else 10),
                duration=args.duration or (5 if quick else 60), ramp=2 if quick else 8,
                think=(0.5, 1.5) if quick else (2.0, 6.0), training_timeout=300 if quick else 1800)
    folder = Path(tempfile.mkdtemp(prefix="classroom-load-"))  # a fresh results store: every training is real
    journal, log_path = folder / "jobs.jsonl", folder / "server.log"
    settings = dict(setting.split("=", 1) for setting in args.setting)
    print(f"classroom load: {plan.sessions} sessions, {plan.trainers} pressing the same comparison, 1 BN experiment, "
          f"{'tiny' if quick else 'full-size'} presets, think time {plan.think[0]:g}-{plan.think[1]:g} s"
          + "".join(f"; {name} = {value}" for name, value in settings.items())
          + (f"; server log {log_path}" if args.keep else ""))
    load_before = os.getloadavg()
    process, port = start_server(folder / "data", journal, log_path, quick, settings)
    sampler = RssSampler(process.pid)
    sampler.start()
    client_cpu, wall = time.process_time(), time.time()
    try:
        records, findings, _, _, _ = asyncio.run(run_class(f"ws://127.0.0.1:{port}/_stcore/stream", plan, journal))
        wall, client_cpu = time.time() - wall, time.process_time() - client_cpu
        server_cpu = cpu_seconds(process.pid)
        sampler.peak_kb = max(sampler.peak_kb, proc_status(process.pid).get("VmHWM", 0))
    finally:
        sampler.done.set()
        process.terminate()
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()
    load_after = os.getloadavg()
    report(records, findings, journal, log_path, sampler, plan, server_cpu, client_cpu, wall, load_before,
           load_after)
    if not args.keep:
        shutil.rmtree(folder, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
