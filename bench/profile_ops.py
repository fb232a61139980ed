#!/usr/bin/env python3
"""profile_ops.py - where the time of one op goes, from a sampling profile.

For each layer (a bench_ops --layer text such as "pw 144x56x56->24"), runs
`bench_ops --solo --layer TEXT --reps R --rounds 3` under
`perf record -a -e cpu-clock` (system-wide, so idle CPUs are sampled too:
this machine's VM has no hardware counters) and splits the CPU time of the
window from the kernel's first sample to its last into:

  loop    the kernel's hottest innermost loop (the instructions between a
          backward jump and its target, no other loop inside; from objdump
          of the kernel's POCL-compiled .so)
  kernel  the rest of the kernel's code (setup, tails, stores)
  runtime POCL, libc and the rest of user space in the process
  os      the Linux kernel on behalf of the process (futex wake-ups, page faults)
  idle    the CPUs' idle time: the window's CPU time less the busy samples
          (an idle vCPU is sampled far less often than a busy one)
  other   other processes (the machine's load: a profile to trust has ~0%)

and prints per run: the time, the useful rate (GFLOP/s for pointwise,
GB/s for the others, as bench_ops counts them), and that rate while in the
kernel's code and while in the loop alone (the op's FLOPs or bytes over
that CPU time, as if all the work were done there, on all CPUs), each
against the peak given with --peak-gflops / --peak-gbs. What the rate in
the kernel's code gains over the whole is what the launches around it cost.
For pointwise layers without groups, "lanes" is the share of the FMA lanes
the kernel issues that are real products (channels padded to blocks of 16,
last tiles computed whole: from the layer's tiles in bench_ops' CSV), and
"issued" the loop's rate counting every lane it issues.

usage: profile_ops.py [--build DIR] [--reps R] [--csv OPS.csv --peak-gflops G --peak-gbs B]
                      [--net NAME] [--layer TEXT ...]
  --csv with the peaks: profile every pointwise layer below 60% of the FMA
  peak and every depthwise layer below 50% of the copy bandwidth in a
  bench_ops --csv file (the misses of issue 6).
"""
import argparse
import bisect
import collections
import csv
import os
import re
import subprocess
import sys
import tempfile

FREQ = 2000  # samples per second per CPU


def sh(cmd):
    return subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True, check=True).stdout


def loops_of(so, sym):
    """Innermost loops of function sym in so: [(start, end, n_instr, n_fma)] as
    offsets from the symbol's start."""
    text = sh(["objdump", "-d", "--no-show-raw-insn", so])
    m = re.search(r"^([0-9a-f]+) <%s>:\n(.*?)(?:\n\n|\Z)" % re.escape(sym), text, re.S | re.M)
    if not m:
        return []
    base = int(m.group(1), 16)
    ins = []
    for line in m.group(2).splitlines():
        mm = re.match(r"\s*([0-9a-f]+):\s+(\S+)\s*(.*)", line)
        if mm:
            ins.append((int(mm.group(1), 16) - base, mm.group(2), mm.group(3)))
    loops = []
    for off, op, args in ins:
        if op.startswith("j"):
            t = re.match(r"([0-9a-f]+) <", args)
            if t and int(t.group(1), 16) - base <= off:
                loops.append((int(t.group(1), 16) - base, off))
    inner = [l for l in loops if not any(o != l and l[0] <= o[0] and o[1] <= l[1] for o in loops)]
    out = []
    for a, b in inner:
        body = [i for i in ins if a <= i[0] <= b]
        out.append((a, b, len(body), sum(1 for i in body if "fmadd" in i[1])))
    return out


def profile(build, layer, reps, net=None):
    with tempfile.TemporaryDirectory() as tmp:
        data = os.path.join(tmp, "perf.data")
        cmd = [os.path.join(build, "bench_ops"), "--solo", "--layer", layer, "--rounds", "3"]
        if net:
            cmd += ["--net", net]
        # build and cache the program first; its tiles from the CSV
        subprocess.run(cmd + ["--reps", "1", "--csv", os.path.join(tmp, "ops.csv")], capture_output=True, check=True)
        rows = list(csv.DictReader(open(os.path.join(tmp, "ops.csv"))))
        cmd += ["--reps", str(reps)]
        p = subprocess.run(["perf", "record", "-a", "-e", "cpu-clock", "-F", str(FREQ), "-o", data, "--"] + cmd,
                           capture_output=True, text=True)
        if p.returncode:
            raise RuntimeError("perf record failed: " + p.stderr.strip()[-300:])
        row = [l for l in p.stdout.splitlines() if re.match(r"\S+\s+(pw|dw|conv|shuffle|split|concat|maxpool|gap)\s", l)]
        if len(row) != 1:
            raise RuntimeError("layer %r matched %d bench_ops rows (give --net)" % (layer, len(row)))
        f = row[0].split("|")[0].split()
        ms, gflops, gbs = float(f[-3]), float(f[-2]), float(f[-1])
        script = sh(["perf", "script", "-i", data, "-F", "comm,pid,time,ip,sym,symoff,dso"])
    samples = []
    for line in script.splitlines():
        m = re.match(r"\s*(.+?)\s+(\d+)\s+([\d.]+):\s+[0-9a-f]+\s+(.*?)\s+\((.*)\)\s*$", line)
        if m:
            samples.append((float(m.group(3)), m.group(1), int(m.group(2)), m.group(4), m.group(5)))
    ktimes = [s[0] for s in samples if s[3].startswith("_pocl_kernel_")]
    if not ktimes:
        raise RuntimeError("no samples in a kernel for %r" % layer)
    t0, t1 = min(ktimes), max(ktimes)
    win = [s for s in samples if t0 <= s[0] <= t1]
    kso = collections.Counter(s[4] for s in win if s[3].startswith("_pocl_kernel_")).most_common(1)[0][0]
    ksym = re.sub(r"\+0x[0-9a-f]+$", "", next(s[3] for s in win if s[4] == kso and s[3].startswith("_pocl_kernel_")))
    loops = loops_of(kso, ksym)
    bench_pid = next(s[2] for s in win if s[4] == kso)
    offs = collections.Counter()
    cat = collections.Counter()
    for t, comm, pid, sym, dso in win:
        if comm == "swapper" or pid == 0:
            cat["idle"] += 1
        elif pid != bench_pid:
            cat["other"] += 1
        elif dso == kso:
            mo = re.search(r"\+0x([0-9a-f]+)$", sym)
            offs[int(mo.group(1), 16) if mo else -1] += 1
            cat["kcode"] += 1
        elif "kernel.kallsyms" in dso:
            cat["os"] += 1
        else:
            cat["runtime"] += 1
    best = max(loops, key=lambda l: sum(n for o, n in offs.items() if l[0] <= o <= l[1]), default=None)
    in_loop = sum(n for o, n in offs.items() if best and best[0] <= o <= best[1])
    runs = 3 * reps + 2
    # A busy CPU is sampled FREQ times a second; an idle one (tickless in
    # this VM) far less (measured: 40%), so idle is what the window's CPU
    # time leaves after the busy samples, not a count of idle samples.
    ncpu = os.cpu_count() or 1
    busy = sum(n for k, n in cat.items() if k != "idle")
    total = max((t1 - t0) * ncpu * FREQ, busy)  # the window's CPU time, in samples
    cat["idle"] = total - busy
    loop_s = in_loop / FREQ / runs / ncpu  # wall seconds per run if all CPUs were in the loop
    code_s = cat["kcode"] / FREQ / runs / ncpu  # the same for all of the kernel's code
    # pointwise without groups: the share of the FMA lanes the kernel issues
    # that are real products (channels padded to blocks of 16, the last
    # pixel and output-block tiles computed whole)
    lanes = float("nan")
    if len(rows) == 1 and rows[0]["kind"] == "pw" and rows[0]["g"] == "1" and int(rows[0]["tile_w"]) > 0:
        r0 = rows[0]
        ic, oc, hw = int(r0["ic"]), int(r0["oc"]), int(r0["h"]) * int(r0["w"])
        tw, tc = int(r0["tile_w"]), int(r0["tile_c"])
        up = lambda x, m: -(-x // m) * m
        lanes = ic * oc * hw / (up(ic, 16) * up(up(oc, 16) // 16, tc) * 16 * up(hw, tw))
    return {
        "layer": layer, "lanes": lanes, "ms": ms, "gflops": gflops, "gbs": gbs, "samples": total,
        "window_s": t1 - t0, "loop": in_loop / total, "kernel": (cat["kcode"] - in_loop) / total,
        "runtime": cat["runtime"] / total, "os": cat["os"] / total, "idle": cat["idle"] / total,
        "other": cat["other"] / total,
        "loop_instr": best[2] if best else 0, "loop_fma": best[3] if best else 0,
        "loop_gflops": gflops * ms * 1e-3 / loop_s if loop_s else float("nan"),
        "loop_gbs": gbs * ms * 1e-3 / loop_s if loop_s else float("nan"),
        "code_gflops": gflops * ms * 1e-3 / code_s, "code_gbs": gbs * ms * 1e-3 / code_s,
    }


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--build", default="build")
    ap.add_argument("--reps", type=int, default=0, help="runs per round (default: about 2 s of runs)")
    ap.add_argument("--csv", help="bench_ops --csv file: profile its misses")
    ap.add_argument("--peak-gflops", type=float, default=0)
    ap.add_argument("--peak-gbs", type=float, default=0)
    ap.add_argument("--layer", action="append", default=[])
    ap.add_argument("--net", help="the network of the --layer texts (where a shape occurs in several)")
    a = ap.parse_args()
    layers = [(a.net, l) for l in a.layer]
    ms_of = {}
    if a.csv:
        if not (a.peak_gflops and a.peak_gbs):
            sys.exit("profile_ops: --csv needs --peak-gflops and --peak-gbs")
        for r in csv.DictReader(open(a.csv)):
            key = "%s %sx%sx%s->%s" % (r["kind"], r["ic"], r["h"], r["w"], r["oc"])
            if r["kind"] == "dw":
                key += " k%ss%s" % (r["k"], r["s"])
            if ((r["kind"] == "pw" and float(r["gflops"]) < 0.6 * a.peak_gflops) or
                    (r["kind"] == "dw" and float(r["gbs"]) < 0.5 * a.peak_gbs)) and (r["net"], key) not in layers:
                layers.append((r["net"], key))
                ms_of[key] = float(r["ms"])
    print("%-38s %8s %7s %6s | %5s %6s %7s %5s %5s %5s | %9s %5s | %-10s %7s %5s" % (
        "layer", "ms", "GFLOP/s", "GB/s", "loop", "kernel", "runtime", "os", "idle", "other", "in kernel", "%peak",
        "loop ins/fma", "in loop", "%peak") + " | lanes issued")
    got = []
    for net, layer in layers:
        label = "%s %s" % (net, layer) if net else layer
        reps = a.reps or max(50, min(20000, int(700 / ms_of.get(layer, 0.1))))
        try:
            r = profile(a.build, layer, reps, net)
        except (RuntimeError, subprocess.CalledProcessError) as e:
            print("%-38s failed: %s" % (label, e))
            continue
        pw = layer.startswith("pw")
        rate = r["loop_gflops"] if pw else r["loop_gbs"]
        code = r["code_gflops"] if pw else r["code_gbs"]
        peak = a.peak_gflops if pw else a.peak_gbs
        pct = lambda x: "%.0f%%" % (100 * x / peak) if peak else "-"
        print("%-38s %8.4f %7.1f %6.1f | %4.0f%% %5.0f%% %6.0f%% %4.0f%% %4.0f%% %4.0f%% | %9.1f %5s | %4d/%-5d %7.1f %5s" % (
            label, r["ms"], r["gflops"], r["gbs"], 100 * r["loop"], 100 * r["kernel"], 100 * r["runtime"],
            100 * r["os"], 100 * r["idle"], 100 * r["other"], code, pct(code), r["loop_instr"], r["loop_fma"], rate, pct(rate)) +
            (" | %4.0f%% %5s" % (100 * r["lanes"], pct(rate / r["lanes"])) if r["lanes"] == r["lanes"] else ""),
            flush=True)
        got.append(r)
    if len(got) > 1:
        med = lambda k: sorted(x[k] for x in got)[len(got) // 2]
        print("median of %d layers: loop %.0f%%, rest of the kernel %.0f%%, runtime %.0f%%, os %.0f%%, idle %.0f%%, "
              "other processes %.0f%%" % (len(got), 100 * med("loop"), 100 * med("kernel"), 100 * med("runtime"),
                                          100 * med("os"), 100 * med("idle"), 100 * med("other")))


if __name__ == "__main__":
    main()
