#!/usr/bin/env python3
"""dmsform benchmark harness (run it through bench/run.sh).

Sections (see bench/README.md for what each figure means):
  a  plan -refresh=false at 1,002 and 10,002 resource instances (CPU, peak RSS, wall)
  b  plan with refresh over 3,000 tasks that exist in the emulator, -parallelism 10 / 100
  c  apply of N services x check -> upload -> install against timed tasks, vs. the DAG bound
  d  the same workflow as a sequential script on the official Azure SDK for Python

Every process is started on 127.0.0.1, bounded by a timeout, and stopped by its PID.
"""

import argparse
import datetime
import json
import math
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
ZIP = "instantclient-basiclite-windows.x64-19.19.0.0.0dbru.zip"
ZIP_SRC = os.path.join(ROOT, "examples", "oci-driver", "drivers", ZIP)
SUB = "00000000-0000-0000-0000-000000000000"
GROUP = "bench-rg"
API = "2025-06-30"
PASSWORD = "bench-share-password"
TERMINAL = {"Succeeded", "Failed", "FailedInputValidation", "Faulted", "Canceled"}
# The timed emulator of sections c and d, and the provider's poll schedule.
QUEUED_S, RUN_S = 1.0, 3.0
POLL_S, MAX_POLL_S, POLL_FACTOR = 1.0, 5.0, 1.5


def service(i):
    return f"svc-{i:05d}"


# ---------------------------------------------------------------------------------------
# Processes


class Emulator:
    """A `dmsform emulator` on a free loopback port with a share holding the driver zip."""

    def __init__(self, binary, workdir, queued, run, extra=()):
        share = os.path.join(workdir, "share")
        os.makedirs(share, exist_ok=True)
        shutil.copy(ZIP_SRC, os.path.join(share, ZIP))
        args = [
            binary, "emulator", "--listen", "127.0.0.1:0",
            "--data-dir", os.path.join(workdir, "emulator-data"),
            "--queued-for", queued, "--run-for", run,
            "--share-root", f"fileserver/drivers={share}", *extra,
        ]
        self.proc = subprocess.Popen(
            args, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, stdin=subprocess.DEVNULL, text=True
        )
        line = self.proc.stdout.readline()
        m = re.search(r"listening on (http://\S+)", line)
        if not m:
            self.stop()
            raise RuntimeError(f"the emulator did not start: {line!r}")
        self.base = m.group(1)
        # Keep reading stdout so the emulator never blocks on a full pipe.
        threading.Thread(target=self.proc.stdout.read, daemon=True).start()
        import requests

        self.http = requests.Session()
        self.http.headers["Authorization"] = "Bearer bench"

    def tasks_url(self, svc):
        return (
            f"{self.base}/subscriptions/{SUB}/resourceGroups/{GROUP}/providers/"
            f"Microsoft.DataMigration/services/{svc}/serviceTasks"
        )

    def request_log(self):
        r = self.http.get(f"{self.base}/_emulator/requests", timeout=60)
        r.raise_for_status()
        return r.json()

    def clear_log(self):
        self.http.delete(f"{self.base}/_emulator/requests", timeout=60)

    def cpu_seconds(self):
        with open(f"/proc/{self.proc.pid}/stat") as f:
            fields = f.read().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")

    def stop(self):
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()


def measured(argv, cwd, log_path, timeout, env=None):
    """Runs argv; returns its wall time and, from os.wait4, its own CPU time and peak RSS."""
    t0 = time.monotonic()
    with open(log_path, "wb") as out:
        p = subprocess.Popen(argv, cwd=cwd, stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, env=env)
        timer = threading.Timer(timeout, lambda: p.poll() is None and p.kill())
        timer.start()
        try:
            _, status, ru = os.wait4(p.pid, 0)
        finally:
            timer.cancel()
        p.returncode = os.waitstatus_to_exitcode(status)
    return {
        "wall_s": time.monotonic() - t0,
        "user_s": ru.ru_utime,
        "sys_s": ru.ru_stime,
        "cpu_s": ru.ru_utime + ru.ru_stime,
        "rss_mb": ru.ru_maxrss / 1024,
        "rc": p.returncode,
        "log": log_path,
    }


def dmsform(binary, wd, args, timeout, tag):
    env = dict(os.environ, NO_COLOR="1")
    env.pop("DMSFORM_VAR_share_password", None)
    return measured([binary, *args], wd, os.path.join(wd, f"{tag}.log"), timeout, env)


def tail(path, n=15):
    with open(path, errors="replace") as f:
        return "".join(f.readlines()[-n:])


def check_rc(res, want, what):
    if res["rc"] not in want:
        raise RuntimeError(f"{what} exited {res['rc']}:\n{tail(res['log'])}")


# ---------------------------------------------------------------------------------------
# Configurations and states


def hcl_config(base, n_services, poll=f"{POLL_S:g}s", max_poll=f"{MAX_POLL_S:g}s"):
    names = ",\n    ".join(f'"{service(i)}"' for i in range(n_services))
    share = r"\\\\fileserver\\drivers\\" + ZIP
    return f'''provider "dms" {{
  endpoint          = "{base}"
  poll_interval     = "{poll}"
  max_poll_interval = "{max_poll}"
}}

variable "share_password" {{
  type      = string
  sensitive = true
  default   = "{PASSWORD}"
}}

locals {{
  services = toset([
    {names}
  ])
}}

resource "dms_oci_driver_check" "before" {{
  for_each       = local.services
  group_name     = "{GROUP}"
  service_name   = each.key
  task_name      = "checkOCIDriver"
  server_version = "19.0"
}}

resource "dms_oci_driver_upload" "driver" {{
  for_each     = local.services
  group_name   = "{GROUP}"
  service_name = each.key
  task_name    = "uploadOCIDriver"
  driver_share {{
    path      = "{share}"
    user_name = "CONTOSO\\\\dms"
    password  = var.share_password
  }}
  depends_on = [dms_oci_driver_check.before]
}}

resource "dms_oci_driver_install" "driver" {{
  for_each            = local.services
  group_name          = "{GROUP}"
  service_name        = each.key
  task_name           = "installOCIDriver"
  driver_package_name = dms_oci_driver_upload.driver[each.key].output[0].driver_package_name
}}
'''


def workspace(root, name, base, n_services, **kw):
    wd = os.path.join(root, name)
    os.makedirs(wd, exist_ok=True)
    with open(os.path.join(wd, "main.hcl"), "w") as f:
        f.write(hcl_config(base, n_services, **kw))
    return wd


_TEMPLATE = {}


def template_state(binary, root):
    """The state of one service's three tasks, applied for real (emulator durations 0)."""
    if "state" not in _TEMPLATE:
        d = os.path.join(root, "template")
        os.makedirs(d, exist_ok=True)
        emu = Emulator(binary, d, "0", "0")
        try:
            wd = workspace(d, "ws", emu.base, 1, poll="50ms", max_poll="100ms")
            res = dmsform(binary, wd, ["apply", "-auto-approve"], 120, "apply")
            check_rc(res, {0}, "template apply")
            with open(os.path.join(wd, "dmsform.state.json")) as f:
                _TEMPLATE["state"] = json.load(f)
        finally:
            emu.stop()
    return _TEMPLATE["state"]


def generated_state(template, n_services):
    """A state of n_services x 3 tasks made by renaming the template's service."""
    src = service(0)
    templ = [json.dumps(r) for r in template["resources"]]
    resources = []
    for i in range(n_services):
        name = service(i)
        resources.extend(json.loads(t.replace(src, name)) for t in templ)
    resources.sort(key=lambda r: r["address"])
    return dict(template, resources=resources, serial=template["serial"] + 1)


def write_state(wd, state):
    path = os.path.join(wd, "dmsform.state.json")
    with open(path, "w") as f:
        json.dump(state, f, indent=2)
    os.chmod(path, 0o600)


# ---------------------------------------------------------------------------------------
# a. plan at scale


def section_a(binary, root, sizes):
    rows = []
    for n_services in sizes:
        inst = 3 * n_services
        d = os.path.join(root, f"a-{inst}")
        os.makedirs(d, exist_ok=True)
        # An emulator only so the provider block names a live endpoint; -refresh=false
        # must not call it (counted below from its request log).
        emu = Emulator(binary, d, "0", "0")
        try:
            wd = workspace(d, "empty", emu.base, n_services)
            r = dmsform(binary, wd, ["plan", "-refresh=false", "-detailed-exitcode"], 600, "plan")
            check_rc(r, {2}, f"plan ({inst}, empty state)")
            rows.append(dict(r, instances=inst, state="empty: every instance a create"))

            wd = workspace(d, "full", emu.base, n_services)
            if n_services <= 400:
                r_apply = dmsform(binary, wd, ["apply", "-auto-approve", "-parallelism", "100"], 900, "apply")
                check_rc(r_apply, {0}, f"apply ({inst})")
                origin = (f"applied against the emulator (durations 0, -parallelism 100: "
                          f"{r_apply['wall_s']:.0f} s wall, {r_apply['cpu_s']:.0f} s CPU)")
            else:
                write_state(wd, generated_state(template_state(binary, root), n_services))
                origin = "generated: one applied service's three tasks, renamed"
            emu.clear_log()
            r = dmsform(binary, wd, ["plan", "-refresh=false", "-detailed-exitcode"], 600, "plan")
            check_rc(r, {0}, f"plan ({inst}, full state)")
            size = os.path.getsize(os.path.join(wd, "dmsform.state.json"))
            calls = [q for q in emu.request_log() if q.get("op")]
            rows.append(dict(r, instances=inst, state=f"{inst} in state, no changes; {origin}",
                             state_mb=size / 2**20, remote_calls=len(calls)))
        finally:
            emu.stop()
    return rows


# ---------------------------------------------------------------------------------------
# b. refresh at scale


def put_all(emu, items, workers=16):
    def put(item):
        svc, task, body = item
        r = emu.http.put(f"{emu.tasks_url(svc)}/{task}", params={"api-version": API}, json=body, timeout=60)
        if r.status_code not in (200, 201):
            raise RuntimeError(f"PUT {svc}/{task}: {r.status_code} {r.text[:300]}")

    with ThreadPoolExecutor(workers) as ex:
        list(ex.map(put, items))


def wait_all(emu, names, task, deadline_s=300, workers=16):
    deadline = time.monotonic() + deadline_s

    def one(svc):
        while True:
            r = emu.http.get(f"{emu.tasks_url(svc)}/{task}", params={"api-version": API, "$expand": "output"}, timeout=60)
            state = r.json()["properties"]["state"]
            if state in TERMINAL:
                if state != "Succeeded":
                    raise RuntimeError(f"{svc}/{task} ended {state}: {r.text[:300]}")
                return
            if time.monotonic() > deadline:
                raise RuntimeError(f"{svc}/{task} still {state}")
            time.sleep(0.2)

    with ThreadPoolExecutor(workers) as ex:
        list(ex.map(one, names))


def create_remote(emu, n_services):
    """Creates check, upload and install for each service over the HTTP API with the
    bodies dmsform sends, each wave finished before the next starts."""
    names = [service(i) for i in range(n_services)]
    share = "\\\\fileserver\\drivers\\" + ZIP
    waves = [
        ("checkOCIDriver", {"taskType": "Service.Check.OCI", "input": {"serverVersion": "19.0"}}),
        ("uploadOCIDriver", {"taskType": "Service.Upload.OCI", "input": {"driverShare": {
            "path": share, "userName": "CONTOSO\\dms", "password": PASSWORD}}}),
        ("installOCIDriver", {"taskType": "Service.Install.OCI", "input": {"driverPackageName": ZIP}}),
    ]
    for task, props in waves:
        put_all(emu, [(s, task, {"properties": props}) for s in names])
        wait_all(emu, names, task)


def section_b(binary, root, n_services, parallelisms):
    d = os.path.join(root, "b")
    os.makedirs(d, exist_ok=True)
    template = template_state(binary, root)
    emu = Emulator(binary, d, "0", "0")
    rows = []
    try:
        t0 = time.monotonic()
        create_remote(emu, n_services)
        setup_s = time.monotonic() - t0
        state = generated_state(template, n_services)
        for p in parallelisms:
            wd = workspace(d, f"p{p}", emu.base, n_services)
            write_state(wd, state)
            emu.clear_log()
            cpu0 = emu.cpu_seconds()
            r = dmsform(binary, wd, ["plan", "-detailed-exitcode", "-parallelism", str(p)], 600, "plan")
            check_rc(r, {0, 2}, f"refresh plan (-parallelism {p})")
            log = [q for q in emu.request_log() if q.get("op")]
            span = (max(q["at_ms"] for q in log) - min(q["at_ms"] for q in log)) / 1000 if log else 0
            rows.append(dict(
                r, tasks=3 * n_services, parallelism=p, requests=len(log), request_span_s=span,
                no_changes=r["rc"] == 0, emulator_cpu_s=emu.cpu_seconds() - cpu0, setup_s=setup_s,
            ))
    finally:
        emu.stop()
    return rows


# ---------------------------------------------------------------------------------------
# c. apply vs. the DAG bound, and the poll schedule


def poll_observed(task_s, first=POLL_S, cap=MAX_POLL_S, factor=POLL_FACTOR):
    """When a task that takes task_s is first seen terminal under the engine's poll
    schedule (src/providers/dms/poll.rs): the PUT answer is the first observation, the
    first GET follows after `first`, and each next wait is a tenth of the time waited so
    far, kept between `first` and `cap` and growing at most x`factor` per poll."""
    t, interval = first, first
    while t + 1e-9 < task_s:
        interval = min(cap, max(first, min(t / 10, interval * factor)))
        t += interval
    return t


def bounds(n, p, d):
    """Lower bounds on the makespan of n x (check -> upload -> install) at parallelism p
    with tasks of d seconds: the plain max(critical path, work / p), and the one that
    knows every upload waits for all checks (depends_on names the whole resource)."""
    simple = max(3 * d, 3 * n * d / p)
    barrier = d * (math.ceil(n / p) + max(2, math.ceil(2 * n / p)))
    return simple, barrier


def analyse_log(log, n):
    calls = [q for q in log if q.get("op")]
    by_method = {}
    per_task = {}
    for q in calls:
        by_method[q["method"]] = by_method.get(q["method"], 0) + 1
        per_task.setdefault(q["path"].lower(), []).append(q)
    spans = []
    for qs in per_task.values():
        puts = [q["at_ms"] for q in qs if q["method"] == "PUT"]
        gets = [q["at_ms"] for q in qs if q["method"] == "GET" and q["at_ms"] >= min(puts, default=0)]
        if puts and gets:
            spans.append((max(gets) - min(puts)) / 1000)
    checks = [q for q in calls if q["path"].lower().endswith("/checkocidriver")]
    upload_puts = [q["at_ms"] for q in calls if q["method"] == "PUT" and q["path"].lower().endswith("/uploadocidriver")]
    gap = ((min(upload_puts) - max(q["at_ms"] for q in checks)) / 1000) if checks and upload_puts else float("nan")
    put_times = sorted(q["at_ms"] for q in calls if q["method"] == "PUT")
    spacing = sorted(b - a for a, b in zip(put_times, put_times[1:]))
    return {
        "requests": len(calls),
        "per_task": len(calls) / (3 * n),
        # The engine starts tasks one after another: the typical time between two PUTs
        # (the median; waits for a free slot are the long tail) is its cost per start.
        "put_spacing_ms": spacing[len(spacing) // 2] if spacing else float("nan"),
        "by_method": by_method,
        "put_to_last_get_s": sum(spans) / len(spans) if spans else float("nan"),
        "checks_to_uploads_gap_s": gap,
    }


def run_apply(binary, root, n, p, tag, poll_s=POLL_S, max_poll_s=MAX_POLL_S):
    d = os.path.join(root, f"{tag}-n{n}-p{p}")
    os.makedirs(d, exist_ok=True)
    emu = Emulator(binary, d, f"{QUEUED_S:g}s", f"{RUN_S:g}s")
    try:
        wd = workspace(d, "ws", emu.base, n, poll=f"{poll_s:g}s", max_poll=f"{max_poll_s:g}s")
        cpu0 = emu.cpu_seconds()
        r = dmsform(binary, wd, ["apply", "-auto-approve", "-parallelism", str(p)], 1200, "apply")
        check_rc(r, {0}, f"apply N={n} -parallelism {p}")
        stats = analyse_log(emu.request_log(), n)
        stats["emulator_cpu_s"] = emu.cpu_seconds() - cpu0
    finally:
        emu.stop()
    d_task = QUEUED_S + RUN_S
    simple, barrier = bounds(n, p, d_task)
    _, poll_bound = bounds(n, p, poll_observed(d_task, first=poll_s, cap=max_poll_s))
    lb = max(simple, barrier)
    return dict(r, n=n, parallelism=p, poll_s=poll_s, max_poll_s=max_poll_s, lb=lb, lb_simple=simple, lb_barrier=barrier,
                poll_bound=poll_bound, ratio=r["wall_s"] / lb, **stats)


def section_c(binary, root, sizes, parallelisms):
    return [run_apply(binary, root, n, p, "c") for n in sizes for p in parallelisms]


def section_e(binary, root, sizes, p):
    """Applies of c at -parallelism 100 under other poll schedules of the provider block,
    with the request log's PUT spacing (the engine's cost per task start)."""
    runs = [(sizes[-1], POLL_S, MAX_POLL_S)]
    runs += [(sizes[0], first, cap) for first, cap in [(POLL_S, MAX_POLL_S), (1.0, 1.0), (0.5, 5.0)]]
    return [run_apply(binary, root, n, p, f"e{i}", poll_s=first, max_poll_s=cap)
            for i, (n, first, cap) in enumerate(runs)]


# ---------------------------------------------------------------------------------------
# d. the scripted alternative


def sdk_script(base, n_services):
    """What a hand-written script does: for each service in turn, create check, upload,
    install with the official SDK, polling get(expand="output") every second."""
    from azure.core.credentials import AccessToken, AccessTokenInfo
    from azure.mgmt.datamigration import DataMigrationManagementClient
    from azure.mgmt.datamigration.models import (
        CheckOCIDriverTaskInput, CheckOCIDriverTaskProperties, FileShare,
        InstallOCIDriverTaskInput, InstallOCIDriverTaskProperties, ProjectTask,
        UploadOCIDriverTaskInput, UploadOCIDriverTaskProperties,
    )

    class FixedToken:
        def get_token(self, *scopes, **kwargs):
            return AccessToken("bench", int(time.time()) + 3600)

        def get_token_info(self, *scopes, options=None):
            return AccessTokenInfo("bench", int(time.time()) + 3600)

    no_tls = {"enforce_https": False}
    tasks = DataMigrationManagementClient(FixedToken(), SUB, base_url=base).service_tasks

    def run(svc, name, props):
        tasks.create_or_update(GROUP, svc, name, ProjectTask(properties=props), **no_tls)
        while True:
            t = tasks.get(GROUP, svc, name, expand="output", **no_tls)
            if t.properties.state in TERMINAL:
                if t.properties.state != "Succeeded":
                    raise SystemExit(f"{svc}/{name} ended {t.properties.state}")
                return t
            time.sleep(1)

    share = FileShare(path="\\\\fileserver\\drivers\\" + ZIP, user_name="CONTOSO\\dms", password=PASSWORD)
    for i in range(n_services):
        svc = service(i)
        run(svc, "checkOCIDriver", CheckOCIDriverTaskProperties(input=CheckOCIDriverTaskInput(server_version="19.0")))
        up = run(svc, "uploadOCIDriver", UploadOCIDriverTaskProperties(input=UploadOCIDriverTaskInput(driver_share=share)))
        package = up.properties.output[0].driver_package_name
        run(svc, "installOCIDriver",
            InstallOCIDriverTaskProperties(input=InstallOCIDriverTaskInput(driver_package_name=package)))


def section_d(binary, root, sizes, parallelisms, c_rows):
    rows = []
    for n in sizes:
        d = os.path.join(root, f"d-script-n{n}")
        os.makedirs(d, exist_ok=True)
        emu = Emulator(binary, d, f"{QUEUED_S:g}s", f"{RUN_S:g}s")
        try:
            r = measured(
                [sys.executable, os.path.abspath(__file__), "sdk-script", "--base", emu.base, "--services", str(n)],
                d, os.path.join(d, "script.log"), 60 * 30,
            )
            check_rc(r, {0}, f"SDK script N={n}")
            stats = analyse_log(emu.request_log(), n)
        finally:
            emu.stop()
        script = dict(r, n=n, **stats)
        for p in parallelisms:
            tool = next((c for c in c_rows if c["n"] == n and c["parallelism"] == p), None)
            if tool is None:
                tool = run_apply(binary, root, n, p, "d")
                c_rows.append(tool)
            rows.append({"n": n, "parallelism": p, "script": script, "dmsform": tool,
                         "speedup": script["wall_s"] / tool["wall_s"]})
    return rows


# ---------------------------------------------------------------------------------------
# Report


def machine():
    model = "unknown"
    with open("/proc/cpuinfo") as f:
        for line in f:
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    mem = "unknown"
    with open("/proc/meminfo") as f:
        for line in f:
            if line.startswith("MemTotal:"):
                mem = f"{int(line.split()[1]) / 2**20:.1f} GiB"
    try:
        commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True,
                                text=True, check=True).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        commit = "unknown"
    return {"nproc": os.cpu_count(), "memory": mem, "cpu": model, "commit": commit,
            "date": datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
            "python": sys.version.split()[0]}


def table(headers, rows):
    out = ["| " + " | ".join(headers) + " |", "|" + "|".join("---" for _ in headers) + "|"]
    out += ["| " + " | ".join(str(c) for c in r) + " |" for r in rows]
    return "\n".join(out)


def report(results, command):
    m = results["machine"]
    d_task = QUEUED_S + RUN_S
    seen = poll_observed(d_task)
    for r in results.get("c", []):
        # Derived, so a re-rendered report follows the current poll schedule.
        r["poll_bound"] = bounds(r["n"], r["parallelism"],
                                 poll_observed(d_task, first=r["poll_s"], cap=r["max_poll_s"]))[1]
    parts = [
        "# Benchmark results",
        "",
        "Written by `bench/run.sh`; what each figure means is in `bench/README.md`.",
        "",
        f"- Machine: {m['nproc']} CPUs ({m['cpu']}), {m['memory']} memory, shared with other work",
        f"- Date: {m['date']}; commit `{m['commit']}`; release build; Python {m['python']}",
        f"- Command: `{command}`",
        f"- Timed emulator (c, d): `--queued-for {QUEUED_S:g}s --run-for {RUN_S:g}s`; provider "
        f"`poll_interval = \"{POLL_S:g}s\"`, `max_poll_interval = \"{MAX_POLL_S:g}s\"`",
        "",
    ]
    if "a" in results:
        parts += [
            "## a. plan -refresh=false at scale", "",
            "CPU = user + sys of the dmsform process; RSS = its peak resident set (wait4). "
            "Service calls = requests the plan made (none expected).", "",
            table(["instances", "state", "wall s", "CPU s (user+sys)", "peak RSS MiB", "state file MiB", "service calls"],
                  [[r["instances"], r["state"], f"{r['wall_s']:.2f}", f"{r['cpu_s']:.2f} ({r['user_s']:.2f}+{r['sys_s']:.2f})",
                    f"{r['rss_mb']:.0f}", f"{r['state_mb']:.1f}" if "state_mb" in r else "-",
                    r.get("remote_calls", "-")] for r in results["a"]]), ""]
    if "b" in results:
        rb = results["b"]
        parts += [
            "## b. plan with refresh over tasks in state", "",
            f"{rb[0]['tasks']} tasks created over the emulator's HTTP API (durations 0; took {rb[0]['setup_s']:.0f} s), "
            "the state generated from one applied service's three tasks, renamed. "
            "Request span = first to last service request of the plan, from the emulator's log.", "",
            table(["tasks", "-parallelism", "wall s", "request span s", "CPU s", "peak RSS MiB", "service requests",
                   "plan result", "emulator CPU s"],
                  [[r["tasks"], r["parallelism"], f"{r['wall_s']:.2f}", f"{r['request_span_s']:.2f}", f"{r['cpu_s']:.2f}",
                    f"{r['rss_mb']:.0f}", r["requests"], "no changes" if r["no_changes"] else "changes",
                    f"{r['emulator_cpu_s']:.2f}"] for r in rb]), ""]
    if "c" in results:
        parts += [
            "## c. apply vs. the DAG lower bound", "",
            f"Each task takes d = {d_task:g} s on the emulator. Bound = max(critical path, total task time / parallelism) "
            "with the critical path from the real structure: every upload waits for all checks "
            "(`depends_on = [dms_oci_driver_check.before]`), so bound = d x (ceil(N/P) + max(2, ceil(2N/P))), "
            "which equals max(3d, 3Nd/P) for these N and P. "
            f"Poll bound = the same with d = {seen:g} s, the moment the engine's poll schedule (the first GET "
            f"{POLL_S:g} s after the PUT, then every tenth of the time waited, between {POLL_S:g} s and "
            f"{MAX_POLL_S:g} s) first sees a {d_task:g} s task finished. Task span = mean time from a task's PUT to its last GET; "
            "check-upload gap = last check GET to first upload PUT; PUT spacing = median time between two "
            "consecutive PUTs, the engine's cost to start one task.", "",
            table(["N", "tasks", "-parallelism", "wall s", "bound s", "wall / bound", "poll bound s", "requests / task",
                   "task span s", "check-upload gap s", "PUT spacing ms", "dmsform CPU s", "peak RSS MiB", "emulator CPU s"],
                  [[r["n"], 3 * r["n"], r["parallelism"], f"{r['wall_s']:.1f}", f"{r['lb']:.0f}", f"{r['ratio']:.2f}",
                    f"{r['poll_bound']:.2f}", f"{r['per_task']:.2f}", f"{r['put_to_last_get_s']:.2f}",
                    f"{r['checks_to_uploads_gap_s']:.2f}", f"{r.get('put_spacing_ms', float('nan')):.0f}",
                    f"{r['cpu_s']:.2f}", f"{r['rss_mb']:.0f}",
                    f"{r['emulator_cpu_s']:.2f}"] for r in results["c"]]), ""]
    if "e" in results:
        parts += [
            "## e. apply under other poll schedules", "",
            "Applies of section c at -parallelism 100: the largest with the default schedule, and a smaller one "
            "with other `poll_interval` / `max_poll_interval` values in the provider block (the emulator "
            "unchanged). Poll bound and PUT spacing as in c, for each schedule.", "",
            table(["N", "-parallelism", "poll_interval", "max_poll_interval", "wall s", "bound s", "wall / bound",
                   "poll bound s", "requests / task", "task span s", "PUT spacing ms", "dmsform CPU s"],
                  [[r["n"], r["parallelism"], f"{r['poll_s']:g}s", f"{r['max_poll_s']:g}s", f"{r['wall_s']:.1f}",
                    f"{r['lb']:.0f}", f"{r['ratio']:.2f}", f"{r['poll_bound']:.2f}", f"{r['per_task']:.2f}",
                    f"{r['put_to_last_get_s']:.2f}", f"{r.get('put_spacing_ms', float('nan')):.0f}",
                    f"{r['cpu_s']:.2f}"] for r in results["e"]]), ""]
    if "d" in results:
        parts += [
            "## d. dmsform vs. a sequential SDK script", "",
            "The script: azure-mgmt-datamigration 10.1.0; for each service in turn, create_or_update, then "
            "get(expand=\"output\") with a 1 s sleep until terminal; check -> upload -> install.", "",
            table(["N", "script wall s", "script requests / task", "script CPU s", "dmsform -parallelism",
                   "dmsform wall s", "script / dmsform"],
                  [[r["n"], f"{r['script']['wall_s']:.1f}", f"{r['script']['per_task']:.2f}", f"{r['script']['cpu_s']:.1f}",
                    r["parallelism"], f"{r['dmsform']['wall_s']:.1f}", f"{r['speedup']:.1f}x"] for r in results["d"]]), ""]
    if results.get("errors"):
        parts += ["## Failures", ""] + [f"- {e}" for e in results["errors"]] + [""]
    return "\n".join(parts)


def strip_logs(v):
    """Results without scratch paths."""
    if isinstance(v, dict):
        return {k: strip_logs(x) for k, x in v.items() if k != "log"}
    if isinstance(v, list):
        return [strip_logs(x) for x in v]
    return v


def write_report(results, command, out):
    with open(out, "w") as f:
        f.write(report(results, command) + "\n")
    with open(os.path.splitext(out)[0] + ".json", "w") as f:
        json.dump(strip_logs(results), f, indent=1, default=str)


def main():
    if len(sys.argv) > 1 and sys.argv[1] == "sdk-script":
        ap = argparse.ArgumentParser()
        ap.add_argument("cmd")
        ap.add_argument("--base", required=True)
        ap.add_argument("--services", type=int, required=True)
        a = ap.parse_args()
        sdk_script(a.base, a.services)
        return
    ap = argparse.ArgumentParser(description="dmsform benchmarks (run through bench/run.sh)")
    ap.add_argument("--bin", default=os.path.join(ROOT, "target", "release", "dmsform"))
    ap.add_argument("--only", default="abcd",
                    help="sections to run, e.g. 'ac' (default: abcd; e, other poll schedules, only on request)")
    ap.add_argument("--quick", action="store_true", help="small sizes, to try the harness (figures not representative)")
    ap.add_argument("--out", help="report path (default: bench/RESULTS.md; with --quick, bench/RESULTS-quick.md)")
    ap.add_argument("--keep", action="store_true", help="keep the scratch directory and its logs")
    ap.add_argument("--render", metavar="JSON",
                    help="run nothing: write the report (--out, default bench/RESULTS.md) again from a results "
                         "JSON file (bench/RESULTS.json) that an earlier run wrote")
    args = ap.parse_args()
    if args.render:
        with open(args.render) as f:
            results = json.load(f)
        out = args.out or os.path.join(ROOT, "bench", "RESULTS.md")
        command = results.get("command", "bench/run.sh")
        text = report(results, command).replace(
            "Written by `bench/run.sh`;",
            f"Written by `bench/run.sh`, re-rendered from its `{os.path.basename(args.render)}` by "
            "`bench/bench.py --render` (derived columns follow the current formulas; measured figures unchanged);", 1)
        with open(out, "w") as f:
            f.write(text + "\n")
        print(f"wrote {out} from {args.render}")
        return
    binary = os.path.abspath(args.bin)
    if args.out is None:
        args.out = os.path.join(ROOT, "bench", "RESULTS-quick.md" if args.quick else "RESULTS.md")
    if args.quick:
        a_sizes, b_services, c_sizes, d_sizes, e_size = [10, 40], 50, [3, 10], [2], [3, 10]
    else:
        a_sizes, b_services, c_sizes, d_sizes, e_size = [334, 3334], 1000, [10, 100, 300], [10, 50], [100, 300]
    parallelisms = [10, 100]
    argv = sys.argv[1:]
    if argv[:1] == ["--bin"]:
        argv = argv[2:]
    command = " ".join(["bench/run.sh", *argv])

    results = {"machine": machine(), "command": command}
    root = tempfile.mkdtemp(prefix="dmsform-bench-")
    c_rows = []
    sections = [
        ("a", "a. plan -refresh=false at scale", lambda: section_a(binary, root, a_sizes)),
        ("b", "b. plan with refresh", lambda: section_b(binary, root, b_services, parallelisms)),
        ("c", "c. apply vs. the DAG bound", lambda: c_rows.extend(section_c(binary, root, c_sizes, parallelisms)) or c_rows),
        ("d", "d. the scripted alternative", lambda: section_d(binary, root, d_sizes, parallelisms, c_rows)),
        ("e", "e. apply under other poll schedules", lambda: section_e(binary, root, e_size, max(parallelisms))),
    ]
    try:
        for key, title, run in sections:
            if key not in args.only:
                continue
            print(f"{title} ...", flush=True)
            t0 = time.monotonic()
            try:
                results[key] = run()
            except Exception as e:  # a failed section is reported; the others still run
                results.setdefault("errors", []).append(f"{title}: {e}")
                print(f"  failed: {e}", flush=True)
            print(f"  {time.monotonic() - t0:.0f} s", flush=True)
            if "c" in results:
                results["c"] = sorted(c_rows, key=lambda r: (r["n"], r["parallelism"]))
            write_report(results, command, args.out)
    finally:
        if args.keep:
            print(f"scratch kept in {root}")
        else:
            shutil.rmtree(root, ignore_errors=True)
    print()
    print(report(results, command))


if __name__ == "__main__":
    main()
