#!/usr/bin/python3
"""Small ONNX models for tests/test_onnx_loader.c, written with the onnx
package (python3-onnx) into the folder given as the only argument: valid
models with their expected outputs (computed here with NumPy), and models
broken in one way each. Nothing here is committed as a binary."""
import os
import sys

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

out = sys.argv[1]
os.makedirs(out, exist_ok=True)
rng = np.random.default_rng(7)


def save(name, nodes, inputs, outputs, inits=(), opset=13):
    g = helper.make_graph(nodes, name, inputs, outputs, list(inits))
    m = helper.make_model(g, opset_imports=[helper.make_opsetid("", opset)])
    m.ir_version = 7
    with open(os.path.join(out, name + ".onnx"), "wb") as f:
        f.write(m.SerializeToString())


def vi(name, shape):
    return helper.make_tensor_value_info(name, TensorProto.FLOAT, shape)


def conv_ref(x, w, b, pad):
    n, c, h, wd = x.shape
    o, _, kh, kw = w.shape
    xp = np.pad(x, ((0, 0), (0, 0), (pad, pad), (pad, pad)))
    y = np.zeros((n, o, h, wd), np.float64)
    for i in range(kh):
        for j in range(kw):
            y += np.einsum("nchw,oc->nohw", xp[:, :, i:i + h, j:j + wd], w[:, :, i, j])
    return y + b[None, :, None, None]


# tiny: Conv(3->4, 3x3, pad 1) + Relu + GlobalAveragePool + Flatten + Gemm(transB) + Softmax
x = rng.uniform(-1, 1, (1, 3, 8, 8)).astype(np.float32)
w = rng.uniform(-0.5, 0.5, (4, 3, 3, 3)).astype(np.float32)
b = rng.uniform(-0.1, 0.1, 4).astype(np.float32)
fw = rng.uniform(-1, 1, (10, 4)).astype(np.float32)
fb = rng.uniform(-0.1, 0.1, 10).astype(np.float32)
y = np.maximum(conv_ref(x.astype(np.float64), w, b, 1), 0).mean(axis=(2, 3))
y = y @ fw.T + fb
y = np.exp(y - y.max(axis=1, keepdims=True))
y /= y.sum(axis=1, keepdims=True)
save("tiny", [helper.make_node("Conv", ["x", "w", "b"], ["c"], name="conv", pads=[1, 1, 1, 1]),
              helper.make_node("Relu", ["c"], ["r"], name="relu"),
              helper.make_node("GlobalAveragePool", ["r"], ["p"], name="gap"),
              helper.make_node("Flatten", ["p"], ["f"], name="flatten"),
              helper.make_node("Gemm", ["f", "fw", "fb"], ["g"], name="fc", transB=1),
              helper.make_node("Softmax", ["g"], ["y"], name="softmax", axis=1)],
     [vi("x", [1, 3, 8, 8])], [vi("y", [1, 10])],
     [numpy_helper.from_array(w, "w"), numpy_helper.from_array(b, "b"), numpy_helper.from_array(fw, "fw"),
      numpy_helper.from_array(fb, "fb")])
np.save(os.path.join(out, "tiny_in.npy"), x)
np.save(os.path.join(out, "tiny_out.npy"), y.astype(np.float32))

# shuffle: the shape subgraph exporters emit, then Reshape/Transpose/Reshape (groups 2), Relu
xs = rng.uniform(-1, 1, (1, 8, 4, 4)).astype(np.float32)
c = lambda name, v: helper.make_node("Constant", [], [name], value=numpy_helper.from_array(np.array(v, np.int64)))
save("shuffle", [helper.make_node("Shape", ["x"], ["s"]), c("i0", 0), helper.make_node("Gather", ["s", "i0"], ["n"]),
                 c("ax", [0]), helper.make_node("Unsqueeze", ["n", "ax"], ["n1"]), c("rest", [2, 4, 4, 4]),
                 helper.make_node("Concat", ["n1", "rest"], ["shape5"], axis=0),
                 helper.make_node("Reshape", ["x", "shape5"], ["x5"]),
                 helper.make_node("Transpose", ["x5"], ["t5"], perm=[0, 2, 1, 3, 4]),
                 c("shape4", [1, -1, 4, 4]), helper.make_node("Reshape", ["t5", "shape4"], ["t4"]),
                 helper.make_node("Relu", ["t4"], ["y"], name="relu")],
     [vi("x", [1, 8, 4, 4])], [vi("y", [1, 8, 4, 4])])
ys = np.maximum(xs.reshape(1, 2, 4, 4, 4).transpose(0, 2, 1, 3, 4).reshape(1, 8, 4, 4), 0)
np.save(os.path.join(out, "shuffle_in.npy"), xs)
np.save(os.path.join(out, "shuffle_out.npy"), ys)

relu = lambda i, o, name="relu": helper.make_node("Relu", [i], [o], name=name)
# one fault each
save("unsupported_op", [helper.make_node("Sigmoid", ["x"], ["y"], name="sig1")], [vi("x", [1, 4])], [vi("y", [1, 4])])
save("new_opset", [relu("x", "y")], [vi("x", [1, 4])], [vi("y", [1, 4])], opset=18)
save("old_opset_op", [helper.make_node("Reshape", ["x", "s"], ["y"], name="rs")], [vi("x", [1, 4]), vi("s", [2])],
     [vi("y", [1, 4])], opset=8)


def raw_tensor(name, dims, raw):  # no size check, unlike helper.make_tensor
    t = TensorProto()
    t.name, t.data_type, t.raw_data = name, TensorProto.FLOAT, raw
    t.dims.extend(dims)
    return t


bad = raw_tensor("w", [4, 3, 3, 3], b"\0" * 100)
save("size_mismatch", [helper.make_node("Conv", ["x", "w"], ["y"], name="conv")], [vi("x", [1, 3, 8, 8])],
     [vi("y", [1, 4, 8, 8])], [bad])
huge = raw_tensor("w", [1 << 20, 1 << 20], b"\0" * 16)
save("huge_tensor", [helper.make_node("Conv", ["x", "w"], ["y"], name="conv")], [vi("x", [1, 3, 8, 8])],
     [vi("y", [1, 4, 8, 8])], [huge])
neg = raw_tensor("w", [4, -3, 3, 3], b"\0" * 16)
save("negative_dim", [helper.make_node("Conv", ["x", "w"], ["y"], name="conv")], [vi("x", [1, 3, 8, 8])],
     [vi("y", [1, 4, 8, 8])], [neg])
save("dangling", [helper.make_node("Add", ["x", "nope"], ["y"], name="add1")], [vi("x", [1, 4])], [vi("y", [1, 4])])
save("cycle", [relu("x", "a", "r0"), helper.make_node("Add", ["a", "c"], ["b"], name="add"), relu("b", "c", "r2"),
               relu("b", "y", "r3")], [vi("x", [1, 4])], [vi("y", [1, 4])])
save("no_output", [relu("x", "a")], [vi("x", [1, 4])], [vi("y", [1, 4])])

# external data: weights in a file next to the model
with open(os.path.join(out, "weights.bin"), "wb") as f:
    f.write(b"\0" * 16 + w.tobytes())


def ext(name, location, offset, length=None):
    t = raw_tensor("w", [4, 3, 3, 3], b"")
    t.data_location = TensorProto.EXTERNAL
    kv = {"location": location, "offset": str(offset)}
    if length is not None:
        kv["length"] = str(length)
    for k, v in kv.items():
        e = t.external_data.add()
        e.key, e.value = k, v
    save(name, [helper.make_node("Conv", ["x", "w", "b"], ["c"], name="conv", pads=[1, 1, 1, 1]), relu("c", "y")],
         [vi("x", [1, 3, 8, 8])], [vi("y", [1, 4, 8, 8])], [t, numpy_helper.from_array(b, "b")])


ext("external", "weights.bin", 16, w.nbytes)
ext("external_missing", "missing.bin", 0)
ext("external_past_end", "weights.bin", 64)
ext("external_dotdot", "../weights.bin", 16)
ext("external_absolute", "/etc/passwd", 0)
np.save(os.path.join(out, "external_out.npy"),
        np.maximum(conv_ref(x.astype(np.float64), w, b, 1), 0).astype(np.float32))
print("models written to", out)
