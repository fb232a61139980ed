#!/usr/bin/python3
"""Export a randomly initialised torchvision CNN to ONNX, with an input and
PyTorch's logits, for mobicl's conformance tests and benchmarks.

CLI (stable; tests/test_onnx_torchvision.c and the benchmarks call it):

    /usr/bin/python3 tools/onnx_export.py --model NAME --opset N --out DIR
                                          [--seed S] [--batch B] [--fixed-shape]

    NAME: shufflenet_v2_x1_0, shufflenet_v2_x0_5, mobilenet_v2, mnasnet1_0
    writes DIR/NAME_opsetN.onnx         (input "input" [B,3,224,224], output "logits")
           DIR/NAME_input.npy           (float32 [B,3,224,224], seeded)
           DIR/NAME_opsetN_logits.npy   (float32 [B,1000], PyTorch's answer)
    --fixed-shape: no dynamic axes (batch is fixed), constant folding on
                   (what OpenCV's importer needs, with --opset 10).
    Without --fixed-shape the batch axis is dynamic ("batch").

Importable API: make_model(name, seed=1), randomize_bn(module, seed),
export_onnx(module, path, opset, batch=1, fixed_shape=False),
make_input(seed=1, batch=1).

Weights come from torch.manual_seed(seed); every BatchNorm's running_mean,
running_var (uniform 0.5..2), weight and bias are then randomised so that
folding BatchNorm into the convolutions matters. Needs Debian's python3-torch,
python3-torchvision and python3-onnx (use /usr/bin/python3).
"""
import argparse
import os
import sys

import numpy as np
import torch
import torchvision

MODELS = ("shufflenet_v2_x1_0", "shufflenet_v2_x0_5", "mobilenet_v2", "mnasnet1_0")


def randomize_bn(module, seed):
    """Give every BatchNorm of module random statistics and affine terms."""
    gen = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for m in module.modules():
            if isinstance(m, torch.nn.modules.batchnorm._BatchNorm):
                n = m.num_features
                m.running_mean.copy_(torch.rand(n, generator=gen) * 0.4 - 0.2)
                m.running_var.copy_(torch.rand(n, generator=gen) * 1.5 + 0.5)
                if m.weight is not None:
                    m.weight.copy_(torch.rand(n, generator=gen) * 1.0 + 0.5)
                if m.bias is not None:
                    m.bias.copy_(torch.rand(n, generator=gen) * 0.4 - 0.2)
    return module


def make_model(name, seed=1):
    """torchvision's name, random weights from seed, random BN, eval mode."""
    if name not in MODELS:
        raise ValueError("unknown model %r (known: %s)" % (name, ", ".join(MODELS)))
    torch.manual_seed(seed)
    model = getattr(torchvision.models, name)(weights=None)
    randomize_bn(model, seed + 1000)
    model.eval()
    return model


def make_input(seed=1, batch=1):
    """Seeded float32 input [batch,3,224,224], roughly a normalised image."""
    rng = np.random.default_rng(seed)
    return rng.standard_normal((batch, 3, 224, 224)).astype(np.float32)


def export_onnx(module, path, opset, batch=1, fixed_shape=False):
    """torch.onnx.export with input "input", output "logits"."""
    dummy = torch.from_numpy(make_input(0, batch))
    kw = {}
    if not fixed_shape:
        kw["dynamic_axes"] = {"input": {0: "batch"}, "logits": {0: "batch"}}
    with torch.no_grad():
        torch.onnx.export(module, dummy, path, opset_version=opset, input_names=["input"],
                          output_names=["logits"], do_constant_folding=True, **kw)


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--model", required=True, choices=MODELS)
    ap.add_argument("--opset", required=True, type=int)
    ap.add_argument("--out", required=True)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--batch", type=int, default=1)
    ap.add_argument("--fixed-shape", action="store_true")
    a = ap.parse_args(argv)
    torch.set_num_threads(2)
    torch.set_grad_enabled(False)
    os.makedirs(a.out, exist_ok=True)
    model = make_model(a.model, a.seed)
    base = os.path.join(a.out, "%s_opset%d" % (a.model, a.opset))
    # each file written under a temporary name and renamed: tests running in
    # parallel may export the same model (and its input) at once
    tmp = ".tmp%d" % os.getpid()
    export_onnx(model, base + ".onnx" + tmp, a.opset, a.batch, a.fixed_shape)
    os.replace(base + ".onnx" + tmp, base + ".onnx")
    x = make_input(a.seed, a.batch)
    logits = model(torch.from_numpy(x)).numpy().astype(np.float32)
    for path, arr in ((os.path.join(a.out, "%s_input.npy" % a.model), x), (base + "_logits.npy", logits)):
        with open(path + tmp, "wb") as f:
            np.save(f, arr)
        os.replace(path + tmp, path)
    return 0


if __name__ == "__main__":
    sys.exit(main())
