#!/usr/bin/env python3
"""Whole-process timing for bench/run.sh (stdlib only).

    timeit.py run --label L --out R.json [--runs 5] [--warmup 1] [--cwd DIR]
                  [--save-output FILE] -- CMD [ARGS...]
        Runs CMD once untimed (warm-up: page cache, lazy imports; with
        --save-output its stdout goes to FILE and its stderr to FILE.err, for
        counting findings), then --runs timed runs, each a fresh process with
        its wall time taken by time.perf_counter() from spawn to reap. Writes
        the samples and median/min/max to R.json.

        Peak RSS is measured per run, in separate runs interleaved with the
        timed ones: CMD is started by GNU time (/usr/bin/time -f %M), which
        reports the child's own ru_maxrss. It cannot be read from the timed
        runs themselves: a child of this Python process inherits the parent's
        resident-set high-water mark through fork/vfork+exec, so os.wait4()
        and RUSAGE_CHILDREN never report less than this interpreter's own
        ~15 MB. Without GNU time the wait4 figure is used and the report says
        so. For a process that starts workers (semgrep), the figure is the
        largest single process it waited for, not a sum.

    timeit.py report --results DIR --files-list LIST [--title T] [--note N]...
        Prints the Markdown summary of every R.json in DIR, the corpus size
        (files and lines of the NUL-separated LIST), and the ratios the SPEC
        targets are stated in.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

RUFF_LINE = re.compile(r"^\S+:\d+:\d+: ")

# Display order and names of the measurements run.sh makes.
ROWS = [
    ("floor", "read every .py/.rs/.sql file (`cat`, the floor)"),
    ("tl_all", "`tenant-lint --all . --format json`"),
    ("tl_diff", "`tenant-lint --base main --format json` (20-file diff)"),
    ("ruff", "`ruff check --select S --output-format concise`"),
    ("semgrep", "semgrep, 5 equivalent rules, `-j 2`"),
]


def run_once(cmd: list[str], cwd: str | None, stdout_path: str | None = None) -> tuple[float, float, int]:
    """One spawn of `cmd`: (wall seconds, wait4 peak RSS in MiB, exit code)."""
    out = open(stdout_path, "wb") if stdout_path else subprocess.DEVNULL
    err = open(stdout_path + ".err", "wb") if stdout_path else subprocess.DEVNULL
    try:
        start = time.perf_counter()
        proc = subprocess.Popen(cmd, cwd=cwd, stdout=out, stderr=err, stdin=subprocess.DEVNULL)
        _, status, usage = os.wait4(proc.pid, 0)
        wall = time.perf_counter() - start
    finally:
        if stdout_path:
            out.close()  # type: ignore[union-attr]
            err.close()  # type: ignore[union-attr]
    proc.returncode = os.waitstatus_to_exitcode(status)  # reaped here, not by Popen
    return wall, usage.ru_maxrss / 1024, proc.returncode  # Linux reports KiB


def gnu_time() -> str | None:
    for candidate in ("/usr/bin/time", shutil.which("gtime")):
        if not candidate or not os.access(candidate, os.X_OK):
            continue
        try:
            probe = subprocess.run([candidate, "--version"], capture_output=True, text=True, timeout=10)
        except (OSError, subprocess.SubprocessError):
            continue
        if "GNU" in probe.stdout + probe.stderr:
            return candidate
    return None


def rss_once(time_bin: str, cmd: list[str], cwd: str | None) -> float | None:
    """Peak RSS (MiB) of one run of `cmd`, as reported by GNU time for that child alone."""
    with tempfile.NamedTemporaryFile(mode="r", suffix=".rss") as report:
        subprocess.run([time_bin, "-f", "%M", "-o", report.name, "--", *cmd], cwd=cwd,
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, stdin=subprocess.DEVNULL)
        lines = report.read().strip().splitlines()
    try:
        return int(lines[-1]) / 1024
    except (IndexError, ValueError):
        return None


def cmd_run(args: argparse.Namespace) -> int:
    cmd = args.cmd[1:] if args.cmd and args.cmd[0] == "--" else args.cmd
    if not cmd:
        print("timeit.py run: no command given", file=sys.stderr)
        return 2
    time_bin = gnu_time()
    for i in range(args.warmup):
        run_once(cmd, args.cwd, args.save_output if i == 0 else None)
    walls, codes, wait4_rss, rss = [], [], [], []
    for _ in range(args.runs):
        wall, peak, code = run_once(cmd, args.cwd)
        walls.append(wall)
        codes.append(code)
        wait4_rss.append(peak)
        if time_bin:
            measured = rss_once(time_bin, cmd, args.cwd)
            if measured is not None:
                rss.append(measured)
    if rss:
        method = "GNU time %M, separate runs"
    else:
        rss = wait4_rss
        floor = run_once(["true"], None)[1]
        method = f"os.wait4 of the timed runs (GNU time not found; includes a ~{floor:.0f} MB launcher floor)"
    result = {
        "label": args.label,
        "cmd": cmd,
        "cwd": args.cwd,
        "wall_s": walls,
        "exit_codes": codes,
        "peak_rss_mib": rss,
        "rss_method": method,
        "median_s": statistics.median(walls),
        "min_s": min(walls),
        "max_s": max(walls),
        "max_rss_mib": max(rss),
    }
    Path(args.out).write_text(json.dumps(result, indent=2) + "\n")
    bad = sorted(set(c for c in codes if c != 0))
    note = f"  (exit codes {bad})" if bad else ""
    print(f"  {args.label}: median {result['median_s']:.3f} s, peak RSS {result['max_rss_mib']:.0f} MB{note}",
          file=sys.stderr)
    return 0


# --------------------------------------------------------------------------
# report
# --------------------------------------------------------------------------


def corpus_size(list_path: str, tree: str) -> tuple[int, int, dict[str, list[int]]]:
    """Files and newline count of the NUL-separated list (paths relative to `tree`)."""
    names = [n for n in Path(list_path).read_bytes().split(b"\0") if n]
    by_ext: dict[str, list[int]] = {}
    total = 0
    for raw in names:
        path = Path(tree) / os.fsdecode(raw)
        try:
            n = path.read_bytes().count(b"\n")
        except OSError:
            continue
        total += n
        entry = by_ext.setdefault(path.suffix.lstrip("."), [0, 0])
        entry[0] += 1
        entry[1] += n
    return len(names), total, by_ext


def plural_findings(n: int) -> str:
    return f"{n} finding" if n == 1 else f"{n} findings"


def count_findings(key: str, results_dir: Path) -> str:
    out = results_dir / f"{key}.out"
    if not out.exists():
        return ""
    text = out.read_text(errors="replace")
    if key.startswith("tl_"):
        if not text.strip():
            return "no output"
        try:
            data = json.loads(text)
        except ValueError:
            return "output is not JSON"
        if not isinstance(data, dict) or "findings" not in data:
            return "JSON without `findings`"
        findings = data.get("findings", [])
        hard = sum(1 for f in findings if f.get("severity") == "HARD")
        return f"{plural_findings(len(findings))} ({hard} HARD)"
    if key == "ruff":
        return plural_findings(sum(1 for line in text.splitlines() if RUFF_LINE.match(line)))
    if key == "semgrep":
        m = re.search(r"(\d+) Code Findings?", text)
        return plural_findings(int(m.group(1)) if m else 0)
    return ""


def fmt_s(x: float) -> str:
    return f"{x:.3f}" if x < 10 else f"{x:.2f}"


def cmd_report(args: argparse.Namespace) -> int:
    results_dir = Path(args.results)
    results = {}
    for key, _ in ROWS:
        path = results_dir / f"{key}.json"
        if path.exists():
            results[key] = json.loads(path.read_text())
    files, lines, by_ext = corpus_size(args.files_list, args.tree)

    print(f"## {args.title}\n")
    ext_parts = ", ".join(f"{by_ext[e][0]} .{e} files / {by_ext[e][1]:,} lines" for e in sorted(by_ext))
    print(f"Tree: {args.tree_name or args.tree} — {files:,} source files, {lines:,} lines ({ext_parts})  ")
    for note in args.note or []:
        print(f"{note}  ")
    print()

    base = results.get("tl_all")
    print("| tool | median wall (s) | min (s) | max (s) | peak RSS (MB) | × tenant-lint --all | output |")
    print("|---|---:|---:|---:|---:|---:|---|")
    for key, name in ROWS:
        r = results.get(key)
        if r is None:
            continue
        ratio = f"{r['median_s'] / base['median_s']:.2f}" if base and base["median_s"] > 0 else "–"
        extra = count_findings(key, results_dir)
        bad = sorted(set(c for c in r["exit_codes"] if c != 0))
        if bad:
            extra = (extra + "; " if extra else "") + f"**exit code {', '.join(map(str, bad))}**"
        print(f"| {name} | {fmt_s(r['median_s'])} | {fmt_s(r['min_s'])} | {fmt_s(r['max_s'])} "
              f"| {r['max_rss_mib']:.0f} | {ratio} | {extra} |")
    print()
    if results:
        first = next(iter(results.values()))
        print(f"Wall time: median of {len(first['wall_s'])} runs after one warm-up, whole process, spawn to reap. "
              f"Peak RSS: largest over {len(first['peak_rss_mib'])} runs ({first['rss_method']}).\n")

    print("### Against the SPEC §10 targets (same run)\n")
    ruff, semgrep, diff = results.get("ruff"), results.get("semgrep"), results.get("tl_diff")

    def trusted(key: str) -> str | None:
        """Why a tenant-lint measurement cannot be held against a target, if it cannot."""
        r = results.get(key)
        if r is None:
            return None
        bad = sorted(set(c for c in r["exit_codes"] if c != 0))
        if bad:
            return f"exit code {', '.join(map(str, bad))}"
        output = count_findings(key, results_dir)
        if not output.endswith(")"):  # "N findings (M HARD)" only for a real report
            return output
        return None

    def verdict(ok: bool, key: str = "tl_all") -> str:
        problem = trusted(key)
        if problem:
            return f"not judged: the tenant-lint run gave {problem}"
        return "met" if ok else "**not met**"

    if base and ruff:
        q = base["median_s"] / ruff["median_s"]
        print(f"- tenant-lint vs ruff: `--all` takes {q:.2f}× ruff's time "
              f"({fmt_s(base['median_s'])} s vs {fmt_s(ruff['median_s'])} s); target ≤ 1.00× — {verdict(q <= 1.0)}")
    if base and semgrep:
        q = semgrep["median_s"] / base["median_s"]
        print(f"- tenant-lint vs semgrep: `--all` is {q:.1f}× faster "
              f"({fmt_s(base['median_s'])} s vs {fmt_s(semgrep['median_s'])} s); target ≥ 50× — {verdict(q >= 50)}")
    elif base:
        print("- tenant-lint vs semgrep: semgrep not available in this run")
    if diff:
        print(f"- diff mode (20 changed files, project index included): {diff['median_s'] * 1000:.0f} ms; "
              f"target < 100 ms — {verdict(diff['median_s'] < 0.1, 'tl_diff')}")
    if base:
        print(f"- peak memory of `--all`: {base['max_rss_mib']:.0f} MB on {lines:,} lines "
              "(target < 200 MB on the 800 k-line tree)")
    return 0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="command", required=True)
    run = sub.add_parser("run", help="time a command")
    run.add_argument("--label", required=True)
    run.add_argument("--out", required=True, help="where to write the JSON result")
    run.add_argument("--runs", type=int, default=5)
    run.add_argument("--warmup", type=int, default=1)
    run.add_argument("--cwd")
    run.add_argument("--save-output", help="keep the warm-up run's stdout here")
    run.add_argument("cmd", nargs=argparse.REMAINDER)
    rep = sub.add_parser("report", help="print the Markdown summary")
    rep.add_argument("--results", required=True)
    rep.add_argument("--files-list", required=True)
    rep.add_argument("--tree", default=".", help="directory the listed paths are relative to")
    rep.add_argument("--tree-name", help="how to name the tree in the summary (default: --tree)")
    rep.add_argument("--title", default="tenant-lint benchmark")
    rep.add_argument("--note", action="append")
    args = parser.parse_args()
    return cmd_run(args) if args.command == "run" else cmd_report(args)


if __name__ == "__main__":
    sys.exit(main())
