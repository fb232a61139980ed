#!/usr/bin/python3
"""Peer comparison of mobicl (issue 6, part 1): five networks, the same
weights on every peer, interleaved rounds, CSV/JSON/PNG output.

Peers: PyTorch eager, PyTorch TorchScript (frozen + optimize_for_inference),
OpenCV DNN on CPU, OpenCV DNN OpenCL target (POCL), mobicl (`mobicl run`).
Every peer's logits are checked against PyTorch eager's first (max abs diff
<= 1e-3 * max |logit| and the same top-1); a peer that does not match is
reported as "wrong" with its diff and no time.

usage: /usr/bin/python3 bench/compare.py [--rounds N] [--out DIR] [--quick]
Run it through bench/compare.sh (installs packages and builds mobicl).
"""
import os

# before torch / cv2 are imported: OpenBLAS' spinning threads fight torch's,
# and OpenCV reads its OpenCL device choice once.
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
os.environ.setdefault("OPENCV_OPENCL_DEVICE", ":CPU:")
os.environ.setdefault("OPENCV_DNN_OPENCL_ALLOW_ALL_DEVICES", "1")

import argparse  # noqa: E402
import csv  # noqa: E402
import datetime  # noqa: E402
import importlib.util  # noqa: E402
import json  # noqa: E402
import shutil  # noqa: E402
import statistics  # noqa: E402
import subprocess  # noqa: E402
import sys  # noqa: E402
import time  # noqa: E402

import numpy as np  # noqa: E402
import torch  # noqa: E402

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
NETS = [  # key, label
    ("shufflenet_v2_x1_0", "ShuffleNet V2 1.0x"),
    ("shufflenet_v2_x0_5", "ShuffleNet V2 0.5x"),
    ("mobilenet_v2", "MobileNet V2 1.0"),
    ("mnasnet1_0", "MnasNet 1.0"),
    ("mobilenet_v1", "MobileNet V1 1.0"),
]
PEERS = ["mobicl", "torch_eager", "torch_script", "opencv_cpu", "opencv_ocl"]
PEER_LABEL = {"mobicl": "mobicl", "torch_eager": "PyTorch eager", "torch_script": "TorchScript frozen",
              "opencv_cpu": "OpenCV CPU", "opencv_ocl": "OpenCV OpenCL"}


def load_module(name, path):
    spec = importlib.util.spec_from_file_location(name, path)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def log(*a):
    print(*a, file=sys.stderr, flush=True)


def check(ref, out):
    """(ok, max abs diff, tolerance) of out against the PyTorch eager logits."""
    out = np.asarray(out, dtype=np.float32).reshape(ref.shape)
    diff = float(np.max(np.abs(out - ref)))
    tol = 1e-3 * float(np.max(np.abs(ref)))
    ok = bool(np.isfinite(diff) and diff <= tol and int(out.argmax()) == int(ref.argmax()))
    return ok, diff, tol


def time_python(fn, warmup, runs):
    for _ in range(warmup):
        fn()
    t = []
    for _ in range(runs):
        t0 = time.perf_counter()
        fn()
        t.append((time.perf_counter() - t0) * 1e3)
    return statistics.median(t)


class Mobicl:
    def __init__(self, exe, onnx_path, in_path, work):
        self.exe, self.onnx, self.inp = exe, onnx_path, in_path
        self.out = os.path.join(work, "mobicl_out.npy")

    def run(self, runs, warmup, profile=False):
        cmd = [self.exe, "run", "--model", self.onnx, "--input", self.inp, "--output", self.out,
               "--runs", str(runs), "--warmup", str(warmup), "--json"]
        if profile:
            cmd.append("--profile")
        p = subprocess.run(cmd, capture_output=True, text=True, timeout=600)
        if p.returncode != 0:
            raise RuntimeError("%s failed (%d): %s" % (" ".join(cmd), p.returncode, p.stderr.strip()[-500:]))
        return json.loads(p.stdout), np.load(self.out)


def build_peers(key, model, x, ref, work, exe, ox, args, status):
    """Prepare every peer of one network; check its logits. Returns {peer: callable(runs, warmup) -> ms}."""
    peers = {}
    xt = torch.from_numpy(x)
    in_path = os.path.join(work, "input.npy")
    np.save(in_path, x)

    # PyTorch eager: the reference itself (checked for determinism)
    def eager():
        with torch.no_grad():
            return model(xt)
    ok, diff, tol = check(ref, eager().numpy())
    status["torch_eager"] = {"ok": ok, "max_abs_diff": diff, "tol": tol}
    if ok:
        peers["torch_eager"] = lambda runs, warm: time_python(eager, warm, runs)

    # TorchScript frozen + optimize_for_inference
    try:
        with torch.no_grad():
            try:
                sm = torch.jit.script(model)
                how = "script"
            except Exception:  # noqa: BLE001 - some torchvision models do not script
                sm = torch.jit.trace(model, xt)
                how = "trace"
            sm = torch.jit.optimize_for_inference(torch.jit.freeze(sm.eval()))

        def script():
            with torch.no_grad():
                return sm(xt)
        for _ in range(3):  # the profiling executor specialises on the first runs
            y = script()
        ok, diff, tol = check(ref, y.numpy())
        status["torch_script"] = {"ok": ok, "max_abs_diff": diff, "tol": tol, "how": how}
        if ok:
            peers["torch_script"] = lambda runs, warm: time_python(script, warm, runs)
    except Exception as e:  # noqa: BLE001
        status["torch_script"] = {"ok": False, "error": str(e)[:300]}

    # OpenCV DNN: opset 10, fixed shape (4.6 rejects opset-11 Clip and dynamic reshapes)
    import cv2
    cv_path = os.path.join(work, key + "_opset10_fixed.onnx")
    ox.export_onnx(model, cv_path, 10, batch=1, fixed_shape=True)
    targets = [("opencv_cpu", cv2.dnn.DNN_TARGET_CPU)]
    if not args.quick:
        targets.append(("opencv_ocl", cv2.dnn.DNN_TARGET_OPENCL))
    else:
        status["opencv_ocl"] = {"ok": False, "error": "skipped (--quick)"}
    for name, target in targets:
        try:
            if target == cv2.dnn.DNN_TARGET_OPENCL:
                if not cv2.ocl.haveOpenCL():
                    raise RuntimeError("cv2.ocl.haveOpenCL() is False")
                cv2.ocl.setUseOpenCL(True)
                dev = cv2.ocl.Device.getDefault()
                if not cv2.ocl.useOpenCL() or not dev.available():
                    raise RuntimeError("OpenCV has no usable OpenCL device")
            net = cv2.dnn.readNetFromONNX(cv_path)
            net.setPreferableBackend(cv2.dnn.DNN_BACKEND_OPENCV)
            net.setPreferableTarget(target)

            def fwd(net=net):
                net.setInput(x)
                return net.forward()
            y = fwd()
            ok, diff, tol = check(ref, y)
            st = {"ok": ok, "max_abs_diff": diff, "tol": tol, "model": os.path.basename(cv_path)}
            if target == cv2.dnn.DNN_TARGET_OPENCL:
                st["opencl_device"] = dev.name()
                st["opencl_version"] = dev.version()
                st["useOpenCL"] = bool(cv2.ocl.useOpenCL())
            status[name] = st
            if ok:
                peers[name] = lambda runs, warm, fwd=fwd: time_python(fwd, warm, runs)
        except Exception as e:  # noqa: BLE001
            status[name] = {"ok": False, "error": str(e).strip().splitlines()[-1][:300] if str(e).strip() else repr(e)}

    # mobicl: opset 13, the same weights
    mb_path = os.path.join(work, key + "_opset13.onnx")
    ox.export_onnx(model, mb_path, 13)
    mb = Mobicl(exe, mb_path, in_path, work)
    try:
        js, y = mb.run(1, 1)
        ok, diff, tol = check(ref, y)
        status["mobicl"] = {"ok": ok, "max_abs_diff": diff, "tol": tol, "macs": js.get("macs"),
                            "device": js.get("device"), "kernels": js.get("kernels")}
        if ok:
            def mobicl_ms(runs, warm):
                js, y = mb.run(runs, warm)
                if not check(ref, y)[0]:
                    raise RuntimeError("mobicl output changed between runs")
                return js["latency_ms"]["median"]
            peers["mobicl"] = mobicl_ms
    except Exception as e:  # noqa: BLE001
        status["mobicl"] = {"ok": False, "error": str(e)[:500]}
    return peers, mb


def macs_of(model):
    """Multiply-accumulates of the convolutions and linear layers (batch 1, 224x224), by forward hooks."""
    total = [0]

    def conv_hook(m, i, o):
        total[0] += o.numel() * (m.in_channels // m.groups) * m.kernel_size[0] * m.kernel_size[1]

    def fc_hook(m, i, o):
        total[0] += m.in_features * m.out_features
    hooks = []
    for m in model.modules():
        if isinstance(m, torch.nn.Conv2d):
            hooks.append(m.register_forward_hook(conv_hook))
        elif isinstance(m, torch.nn.Linear):
            hooks.append(m.register_forward_hook(fc_hook))
    with torch.no_grad():
        model(torch.zeros(1, 3, 224, 224))
    for h in hooks:
        h.remove()
    return total[0]


def sh(cmd):
    try:
        return subprocess.run(cmd, shell=True, capture_output=True, text=True, timeout=60).stdout.strip()
    except Exception:  # noqa: BLE001
        return ""


def machine_info():
    model = ""
    for line in sh("lscpu").splitlines():
        if line.startswith("Model name:"):
            model = line.split(":", 1)[1].strip()
    import cv2
    return {
        "cpu": model, "cores": os.cpu_count(),
        "pocl": sh("dpkg-query -W -f '${Version}' pocl-opencl-icd 2>/dev/null || dpkg-query -W -f '${Version}' libpocl2"),
        "torch": torch.__version__, "opencv": cv2.__version__,
        "date": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
        "loadavg_start": list(os.getloadavg()),
    }


def fmt(v, nd=2):
    return "-" if v is None else ("%.*f" % (nd, v))


def gnuplot(script, out_dir, name):
    path = os.path.join(out_dir, name + ".gp")
    with open(path, "w") as f:
        f.write(script)
    p = subprocess.run(["gnuplot", path], capture_output=True, text=True, cwd=out_dir)
    if p.returncode != 0:
        log("gnuplot %s failed: %s" % (name, p.stderr.strip()[-400:]))


def png_terminal():
    """pngcairo where this gnuplot has it, else the plain png terminal."""
    p = subprocess.run(["gnuplot", "-e", "set terminal"], capture_output=True, text=True)
    return "pngcairo" if "pngcairo" in p.stdout + p.stderr else "png"


TERM = "set terminal %s size %%d,%%d font 'Sans,10' noenhanced\n" % (png_terminal() if shutil.which("gnuplot") else "png")


def plot_latency(out_dir, results):
    dat = os.path.join(out_dir, "latency.dat")
    with open(dat, "w") as f:
        f.write("network " + " ".join('"%s"' % PEER_LABEL[p] for p in PEERS) + "\n")
        for key, label in NETS:
            r = results[key]
            f.write('"%s" ' % label + " ".join(fmt(r[p]["median_ms"], 4) if r[p]["median_ms"] else "NaN"
                                             for p in PEERS) + "\n")
    cols = " , ".join("'latency.dat' using %d%s title columnheader(%d)" % (i + 2, ":xtic(1)" if i == 0 else "", i + 2)
                      for i in range(len(PEERS)))
    gnuplot(TERM % (1100, 600) + """set output 'latency.png'
set title 'Median latency, batch 1, 3x224x224 float32 (lower is better)'
set style data histograms
set style histogram clustered gap 1
set style fill solid 0.85 border -1
set logscale y
set yrange [0.5:*]
set ylabel 'ms (log scale)'
set grid ytics mytics
set key outside right top
set datafile missing 'NaN'
plot """ + cols + "\n", out_dir, "latency")


def short_name(name):
    """An ONNX node name like /stage2/stage2.0/branch2/branch2.0/Conv, shortened for a tick label."""
    n = name.replace('"', "'").strip("/")
    for tail in ("/Conv", "/Gemm"):
        if n.endswith(tail) and len(n) > len(tail):
            n = n[: -len(tail)]
    parts = n.split("/")
    return parts[-1] if len(parts) > 1 and parts[-1].startswith(parts[0]) else n


def plot_layers(out_dir, key, label, layers):
    dat = os.path.join(out_dir, "layers_%s.dat" % key)
    ops = sorted({l["kernel"] for l in layers})
    with open(dat, "w") as f:
        for i, l in enumerate(layers):
            f.write('%d %.5f %d "%s"\n' % (i, l["ms"], ops.index(l["kernel"]) + 1, short_name(l["name"])))
    total = sum(l["ms"] for l in layers)
    keys = " , ".join("NaN with boxes lc %d title '%s'" % (j + 1, o) for j, o in enumerate(ops))
    gnuplot(TERM % (1200, 500) + """set output 'layers_%s.png'
set title 'mobicl per-layer kernel time: %s (%d kernels, %.2f ms total)'
set style fill solid 0.9 noborder
set boxwidth 0.8
set ylabel 'ms (median)'
set xrange [-1:%d]
set xtics rotate by 90 right font ',%d'
set grid ytics
set key top right title 'kernel'
set bmargin 15
plot 'layers_%s.dat' using 1:2:3:xtic(4) with boxes lc variable notitle, %s
""" % (key, label, len(layers), total, len(layers), 8 if len(layers) <= 40 else 6, key, keys), out_dir, "layers_" + key)


def plot_roofline(out_dir, profiles, peak):
    blocks = []
    for key, label in NETS:
        pts = [l for l in profiles.get(key, []) if l["flops"] > 0 and l["bytes"] > 0 and l["ms"] > 0]
        with open(os.path.join(out_dir, "roofline_%s.dat" % key), "w") as f:
            for l in pts:
                f.write("%.5g %.5g\n" % (l["flops"] / l["bytes"], l["flops"] / l["ms"] / 1e6))
        blocks.append("'roofline_%s.dat' using 1:2 with points pt 7 ps 0.8 title '%s'" % (key, label))
    fp, bw = peak["fma_gflops"], peak["copy_gbs"]
    top = max([fp] + [l["flops"] / l["ms"] / 1e6 for ls in profiles.values() for l in ls if l["ms"] > 0])
    gnuplot(TERM % (1000, 700) + """set output 'roofline.png'
set title "Roofline: every layer of the five networks (mobicl, %s)\\nbandwidth ceiling = 128 MiB copy (DRAM); layers whose data fit in cache can lie above it" 
set logscale xy
set xrange [0.05:500]
set yrange [0.1:%g]
set xlabel 'arithmetic intensity (FLOP / byte)'
set ylabel 'GFLOP/s'
set grid
set key bottom right
set samples 400
peak = %g
bw = %g
roof(x) = (x * bw < peak) ? x * bw : peak
plot roof(x) with lines lw 2 lc rgb 'black' title sprintf('measured ceilings: FMA %%.0f GFLOP/s, copy %%.1f GB/s', peak, bw), \\
  %s
""" % (peak.get("device", ""), top * 2, fp, bw, ", \\\n  ".join(blocks)), out_dir, "roofline")


def run_bench_ops(build, out_dir, quick):
    exe = os.path.join(build, "bench_ops")
    path = os.path.join(out_dir, "ops.csv")
    cmd = [exe, "--csv", path] + (["--rounds", "3", "--reps", "3"] if quick else ["--rounds", "5", "--reps", "10"])
    p = subprocess.run(cmd, capture_output=True, text=True, timeout=1800)
    with open(os.path.join(out_dir, "bench_ops.txt"), "w") as f:
        f.write(p.stdout + p.stderr)
    if p.returncode != 0 or not os.path.exists(path):
        log("bench_ops failed (%d): %s" % (p.returncode, p.stderr.strip()[-300:]))
        return []
    with open(path) as f:
        return list(csv.DictReader(f))


def draw(out_dir, results, profiles, peak):
    if not shutil.which("gnuplot"):
        log("gnuplot not found: no PNGs")
        return
    plot_latency(out_dir, results)
    for key, label in NETS:
        if profiles.get(key):
            plot_layers(out_dir, key, label, profiles[key])
    if peak and profiles:
        plot_roofline(out_dir, profiles, peak)


def replot(out_dir):
    with open(os.path.join(out_dir, "results.json")) as f:
        js = json.load(f)
    NETS[:] = [(k, v["label"]) for k, v in js["networks"].items()]
    draw(out_dir, {k: v["peers"] for k, v in js["networks"].items()}, js["layers"], js["peak"])
    return 0


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--rounds", type=int, default=3, help="interleaved rounds (default 3; --quick: 1)")
    ap.add_argument("--runs", type=int, default=None, help="timed runs per measurement (default 10; --quick: 5)")
    ap.add_argument("--ocl-runs", type=int, default=3, help="timed runs of the slow OpenCV OpenCL target (default 3)")
    ap.add_argument("--out", default=os.path.join(ROOT, "build", "compare"), help="output folder (default build/compare)")
    ap.add_argument("--build", default=os.path.join(ROOT, "build"), help="mobicl build folder")
    ap.add_argument("--nets", default=",".join(k for k, _ in NETS), help="comma-separated subset")
    ap.add_argument("--quick", action="store_true", help="1 round, 5 runs, no OpenCV OpenCL")
    ap.add_argument("--replot", action="store_true", help="only redraw the PNGs from OUT/results.json")
    args = ap.parse_args(argv)
    if args.replot:
        return replot(os.path.abspath(args.out))
    if args.quick and args.rounds == 3:
        args.rounds = 1
    runs = args.runs or (5 if args.quick else 10)
    warm = 2 if args.quick else 3
    wanted = args.nets.split(",")
    unknown = [n for n in wanted if n not in dict(NETS)]
    if unknown or args.rounds < 1 or runs < 1:
        ap.error("bad --nets %s / --rounds / --runs" % unknown)
    NETS[:] = [n for n in NETS if n[0] in wanted]

    torch.set_num_threads(2)
    out_dir = os.path.abspath(args.out)
    work = os.path.join(out_dir, "models")
    os.makedirs(work, exist_ok=True)
    exe = os.path.join(args.build, "mobicl")
    ox = load_module("onnx_export", os.path.join(ROOT, "tools", "onnx_export.py"))
    mv1 = load_module("mobilenet_v1", os.path.join(ROOT, "bench", "mobilenet_v1.py"))
    t_start = time.time()
    info = machine_info()
    log("machine: %s, %d cores, POCL %s, load %s" % (info["cpu"], info["cores"], info["pocl"], info["loadavg_start"]))

    # device ceilings
    peak = {}
    p = subprocess.run([os.path.join(args.build, "bench_peak")], capture_output=True, text=True, timeout=600)
    if p.returncode == 0:
        peak = json.loads(p.stdout)
        log("measured: FMA %.1f GFLOP/s, copy %.1f GB/s" % (peak["fma_gflops"], peak["copy_gbs"]))
    else:
        log("bench_peak failed: %s" % p.stderr.strip())

    # set-up and correctness
    setup, status, macs = {}, {}, {}
    for key, label in NETS:
        log("preparing %s ..." % label)
        ndir = os.path.join(work, key)
        os.makedirs(ndir, exist_ok=True)
        model = mv1.make_mobilenet_v1(1, ox.randomize_bn) if key == "mobilenet_v1" else ox.make_model(key, 1)
        x = ox.make_input(1)
        with torch.no_grad():
            ref = model(torch.from_numpy(x)).numpy()
        macs[key] = macs_of(model)
        status[key] = {}
        peers, mb = build_peers(key, model, x, ref, ndir, exe, ox, args, status[key])
        setup[key] = (peers, mb)
        for pname in PEERS:
            st = status[key].get(pname, {})
            log("  %-13s %s" % (pname, "ok (diff %.2e <= %.2e)" % (st["max_abs_diff"], st["tol"]) if st.get("ok")
                               else "WRONG (diff %s)" % fmt(st.get("max_abs_diff"), 6) if "max_abs_diff" in st
                               else "unavailable: %s" % st.get("error")))

    # interleaved rounds
    times = {k: {p: [] for p in PEERS} for k, _ in NETS}
    for r in range(args.rounds):
        for key, label in NETS:
            peers = setup[key][0]
            for pname in PEERS:
                if pname not in peers:
                    continue
                n = min(runs, args.ocl_runs) if pname == "opencv_ocl" else runs
                w = 1 if pname == "opencv_ocl" else warm
                try:
                    times[key][pname].append(peers[pname](n, w))
                except Exception as e:  # noqa: BLE001
                    log("round %d %s %s failed: %s" % (r + 1, key, pname, e))
            log("round %d/%d %-20s %s" % (r + 1, args.rounds, key, "  ".join(
                "%s %.2f" % (p, times[key][p][-1]) for p in PEERS if len(times[key][p]) == r + 1)))

    # per-layer profiles
    profiles = {}
    for key, label in NETS:
        st = status[key].get("mobicl", {})
        if st.get("ok"):
            js, _ = setup[key][1].run(max(3, runs // 2), 2, profile=True)
            profiles[key] = js.get("layers", [])

    # results
    results = {}
    for key, label in NETS:
        res = {}
        mt = times[key]["mobicl"]
        for pname in PEERS:
            t = times[key][pname]
            st = status[key].get(pname, {})
            ratios = [a / b for a, b in zip(mt, t)] if pname != "mobicl" and len(mt) == len(t) and t else []
            res[pname] = {"status": "ok" if st.get("ok") and t else ("wrong" if "max_abs_diff" in st and not st.get("ok")
                                                                     else "unavailable"),
                          "median_ms": statistics.median(t) if t else None, "rounds_ms": t,
                          "ratio_mobicl_over_peer": statistics.median(ratios) if ratios else None,
                          "max_abs_diff": st.get("max_abs_diff"), "tol": st.get("tol"), "error": st.get("error")}
        results[key] = res

    ops = run_bench_ops(args.build, out_dir, args.quick) if os.path.exists(os.path.join(args.build, "bench_ops")) else []
    info["loadavg_end"] = list(os.getloadavg())
    info["seconds"] = round(time.time() - t_start, 1)

    # table
    hdr = "%-20s %6s" % ("network", "MMACs") + "".join(" %13s" % PEER_LABEL[p][:13] for p in PEERS)
    short = {"torch_eager": "/eager", "torch_script": "/script", "opencv_cpu": "/cv-cpu", "opencv_ocl": "/cv-ocl"}
    hdr += "".join(" %12s" % ("mobicl" + short[p]) for p in PEERS[1:])
    lines = ["median latency in ms over %d rounds x %d runs (ratio < 1: mobicl faster)" % (args.rounds, runs), hdr]
    for key, label in NETS:
        r = results[key]
        row = "%-20s %6.0f" % (label, macs[key] / 1e6)
        for p in PEERS:
            row += " %13s" % (fmt(r[p]["median_ms"]) if r[p]["status"] == "ok" else r[p]["status"])
        for p in PEERS[1:]:
            row += " %12s" % fmt(r[p]["ratio_mobicl_over_peer"], 3)
        lines.append(row)
    for key, label in NETS:
        for p in PEERS:
            if results[key][p]["status"] == "wrong":
                lines.append("WRONG: %s %s: max abs diff %.3g > tol %.3g (or top-1 differs)" % (
                    label, p, results[key][p]["max_abs_diff"], results[key][p]["tol"]))
    ocl = [status[k]["opencv_ocl"] for k, _ in NETS if status[k].get("opencv_ocl", {}).get("opencl_device")]
    if ocl:
        lines.append("OpenCV OpenCL target ran on: %s (%s), cv2.ocl.useOpenCL() = %s" % (
            ocl[0]["opencl_device"], ocl[0]["opencl_version"], ocl[0]["useOpenCL"]))
    if ops and peak:
        lines.append("\nper-op (bench_ops; %% of measured FMA peak %.1f GFLOP/s / copy %.1f GB/s):" % (
            peak["fma_gflops"], peak["copy_gbs"]))
        lines.append("(roof: the roofline at the layer's FLOPs per byte, min(FMA peak, FLOP/B x copy); "
                     "mem: below 60% of the FMA peak even there)")
        lines.append("%-19s %-4s %-22s %9s %9s %7s %7s %6s %5s" % ("net", "op", "shape", "mobicl", "CLBlast", "ratio",
                                                               "%peak", "FLOP/B", "%roof"))
        fp, bw = peak["fma_gflops"], peak["copy_gbs"]
        tally = {"pw": [0, 0, 0], "dw": [0, 0]}  # pw: met, all, misses bound by memory; dw: met, all
        for o in [o for o in ops if o["net"] in dict(NETS)]:
            shape = "%sx%sx%s->%s" % (o["ic"], o["h"], o["w"], o["oc"])
            gf, gbs = float(o["gflops"]), float(o["gbs"])
            if o["kind"] == "pw":
                cg = float(o["clblast_gflops"] or 0)
                ai = gf / gbs
                roof = min(fp, ai * bw)
                met = gf >= 0.6 * fp
                mem = ai * bw < 0.6 * fp
                tally["pw"][0] += met
                tally["pw"][1] += 1
                tally["pw"][2] += (not met) and mem
                lines.append("%-19s %-4s %-22s %6.1f GF %6.1f GF %6.2fx %6.0f%% %6.1f %4.0f%%%s" % (
                    o["net"], "pw", shape, gf, cg, gf / cg if cg else float("nan"), 100 * gf / fp, ai,
                    100 * gf / roof, " mem" if mem else ""))
            elif o["kind"] == "dw":
                tally["dw"][0] += gbs >= 0.5 * bw
                tally["dw"][1] += 1
                lines.append("%-19s %-4s %-22s %6.1f GB/s %24.0f%%" % (o["net"], "dw", shape, gbs, 100 * gbs / bw))
        lines.append("pointwise at >= 60%% of the FMA peak: %d of %d; of the %d misses, %d are memory-bound "
                     "(FLOP/B x copy < 60%% of the peak)" % (tally["pw"][0], tally["pw"][1],
                                                              tally["pw"][1] - tally["pw"][0], tally["pw"][2]))
        lines.append("depthwise at >= 50%% of the copy bandwidth: %d of %d" % tuple(tally["dw"]))
    lines.append("load average start %s end %s, %.0f s" % (info["loadavg_start"], info["loadavg_end"], info["seconds"]))
    text = "\n".join(lines)
    print(text)
    with open(os.path.join(out_dir, "table.txt"), "w") as f:
        f.write(text + "\n")

    with open(os.path.join(out_dir, "results.csv"), "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["network", "macs", "peer", "status", "median_ms", "rounds_ms", "ratio_mobicl_over_peer",
                    "max_abs_diff", "tol"])
        for key, label in NETS:
            for p in PEERS:
                r = results[key][p]
                w.writerow([key, macs[key], p, r["status"], fmt(r["median_ms"], 4),
                            ";".join("%.4f" % v for v in r["rounds_ms"]), fmt(r["ratio_mobicl_over_peer"], 4),
                            "" if r["max_abs_diff"] is None else "%.3g" % r["max_abs_diff"],
                            "" if r["tol"] is None else "%.3g" % r["tol"]])
    with open(os.path.join(out_dir, "results.json"), "w") as f:
        json.dump({"machine": info, "rounds": args.rounds, "runs": runs, "quick": args.quick, "peak": peak,
                   "networks": {k: {"label": l, "macs": macs[k], "peers": results[k], "checks": status[k]}
                                for k, l in NETS},
                   "layers": profiles, "ops": ops}, f, indent=1)

    draw(out_dir, results, profiles, peak)
    log("results in %s (results.csv, results.json, table.txt, *.png)" % out_dir)
    return 0


if __name__ == "__main__":
    sys.exit(main())
