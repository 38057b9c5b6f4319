"""Build MobileNetV2 (width 1.0, 224×224 input) as an ONNX graph.

The published model cannot be downloaded here, so the real graph is built with
the `onnx` helpers from the paper's layer table (Sandler et al., 2018, table 2)
with weights drawn from a fixed seed. Inference time depends on the graph, not
on the weight values.

BatchNorm is folded into each convolution's bias (what an exported inference
model becomes after ONNX Runtime's Conv+BN fusion anyway); ReLU6 is Clip(0, 6).

    python -m gilgauge_workloads.mobilenetv2 --out PATH [--verify]
"""

import argparse
import json
import os
import sys
import time

from . import SETUP_HINT

# (expansion t, output channels c, repeats n, first stride s)
BOTTLENECKS = (
    (1, 16, 1, 1),
    (6, 24, 2, 2),
    (6, 32, 3, 2),
    (6, 64, 4, 2),
    (6, 96, 3, 1),
    (6, 160, 3, 2),
    (6, 320, 1, 1),
)
STEM_CHANNELS = 32
LAST_CHANNELS = 1280
NUM_CLASSES = 1000
INPUT_SHAPE = (1, 3, 224, 224)
DEFAULT_SEED = 20260110
OPSET = 17


class _Builder:
    """Accumulates nodes and initializers; names are sequential and stable."""

    def __init__(self, seed):
        import numpy as np
        from onnx import helper, numpy_helper

        self.np, self.helper, self.numpy_helper = np, helper, numpy_helper
        self.rng = np.random.default_rng(seed)
        self.nodes = []
        self.inits = [
            numpy_helper.from_array(np.array(0.0, np.float32), "relu6_min"),
            numpy_helper.from_array(np.array(6.0, np.float32), "relu6_max"),
        ]
        self.params = 0
        self._n = 0

    def _name(self, kind):
        self._n += 1
        return "%s_%d" % (kind, self._n)

    def _weight(self, name, shape, fan_in):
        np = self.np
        # He-style scale keeps activations in a sane range (no inf/denormals,
        # which would distort timing); the values are otherwise arbitrary.
        w = self.rng.standard_normal(shape).astype(np.float32) * np.float32((2.0 / fan_in) ** 0.5)
        self.inits.append(self.numpy_helper.from_array(w, name))
        self.params += w.size

    def _bias(self, name, n):
        b = (self.rng.standard_normal(n) * 0.01).astype(self.np.float32)
        self.inits.append(self.numpy_helper.from_array(b, name))
        self.params += b.size

    def conv(self, x, cin, cout, k, stride=1, groups=1, relu6=True):
        name = self._name("conv")
        self._weight(name + "_w", (cout, cin // groups, k, k), cin // groups * k * k)
        self._bias(name + "_b", cout)
        pad = k // 2
        self.nodes.append(self.helper.make_node(
            "Conv", [x, name + "_w", name + "_b"], [name],
            kernel_shape=[k, k], strides=[stride, stride],
            pads=[pad, pad, pad, pad], group=groups,
        ))
        if not relu6:
            return name
        out = self._name("relu6")
        self.nodes.append(self.helper.make_node("Clip", [name, "relu6_min", "relu6_max"], [out]))
        return out

    def inverted_residual(self, x, cin, cout, t, stride):
        hidden = cin * t
        y = x
        if t != 1:
            y = self.conv(y, cin, hidden, 1)  # 1×1 expansion
        y = self.conv(y, hidden, hidden, 3, stride=stride, groups=hidden)  # 3×3 depthwise
        y = self.conv(y, hidden, cout, 1, relu6=False)  # 1×1 linear projection
        if stride == 1 and cin == cout:
            out = self._name("add")
            self.nodes.append(self.helper.make_node("Add", [x, y], [out]))
            return out
        return y

    def classifier(self, x, cin, classes):
        np, helper = self.np, self.helper
        pooled, flat = self._name("gap"), self._name("flatten")
        self.nodes.append(helper.make_node("GlobalAveragePool", [x], [pooled]))
        self.nodes.append(helper.make_node("Flatten", [pooled], [flat], axis=1))
        w = (self.rng.standard_normal((classes, cin)) * 0.01).astype(np.float32)
        self.inits.append(self.numpy_helper.from_array(w, "fc_w"))
        self.params += w.size
        self._bias("fc_b", classes)
        self.nodes.append(helper.make_node("Gemm", [flat, "fc_w", "fc_b"], ["logits"], transB=1))
        return "logits"


def build_model(seed=DEFAULT_SEED):
    """Return (onnx.ModelProto, parameter count)."""
    try:
        import numpy  # noqa: F401
        import onnx
        from onnx import TensorProto, helper
    except ImportError as e:
        raise RuntimeError("building MobileNetV2 needs numpy and onnx (%s): %s" % (e, SETUP_HINT))

    b = _Builder(seed)
    x = b.conv("input", 3, STEM_CHANNELS, 3, stride=2)
    cin = STEM_CHANNELS
    for t, c, n, s in BOTTLENECKS:
        for i in range(n):
            x = b.inverted_residual(x, cin, c, t, s if i == 0 else 1)
            cin = c
    x = b.conv(x, cin, LAST_CHANNELS, 1)
    out = b.classifier(x, LAST_CHANNELS, NUM_CLASSES)

    graph = helper.make_graph(
        b.nodes, "mobilenetv2_1.0_224",
        [helper.make_tensor_value_info("input", TensorProto.FLOAT, list(INPUT_SHAPE))],
        [helper.make_tensor_value_info(out, TensorProto.FLOAT, [1, NUM_CLASSES])],
        initializer=b.inits,
    )
    model = helper.make_model(
        graph, opset_imports=[helper.make_opsetid("", OPSET)],
        producer_name="gilgauge_workloads.mobilenetv2",
        doc_string="MobileNetV2 1.0/224, BatchNorm folded, weights from seed %d" % seed,
    )
    # An IR version that older ONNX Runtime releases also accept.
    model.ir_version = 8
    onnx.checker.check_model(model, full_check=True)
    return model, b.params


def save_model(path, seed=DEFAULT_SEED):
    """Build, check and write the model atomically; return the parameter count."""
    import onnx

    model, params = build_model(seed)
    os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
    tmp = "%s.tmp.%d" % (path, os.getpid())
    onnx.save(model, tmp)
    os.replace(tmp, path)  # a concurrent reader never sees half a file
    return params


def verify(path, runs=5):
    """Run the model once per call with one ONNX Runtime thread; return a summary."""
    import numpy as np
    import onnxruntime as ort

    opts = ort.SessionOptions()
    opts.intra_op_num_threads = 1
    opts.inter_op_num_threads = 1
    sess = ort.InferenceSession(path, opts, providers=["CPUExecutionProvider"])
    x = np.random.default_rng(0).standard_normal(INPUT_SHAPE).astype(np.float32)
    sess.run(None, {"input": x})  # first run pays for allocation
    times = []
    for _ in range(runs):
        t0 = time.perf_counter()
        (y,) = sess.run(None, {"input": x})
        times.append(time.perf_counter() - t0)
    times.sort()
    return {
        "output_shape": list(y.shape),
        "finite": bool(np.isfinite(y).all()),
        "median_ms": round(times[len(times) // 2] * 1e3, 2),
    }


def main(argv=None):
    ap = argparse.ArgumentParser(prog="python -m gilgauge_workloads.mobilenetv2", description=__doc__.split("\n")[0])
    ap.add_argument("--out", required=True, help="where to write the .onnx file")
    ap.add_argument("--seed", type=int, default=DEFAULT_SEED)
    ap.add_argument("--verify", action="store_true", help="also run it with onnxruntime and print timing")
    args = ap.parse_args(argv)
    try:
        params = save_model(args.out, args.seed)
        report = {"path": os.path.abspath(args.out), "params": params}
        if args.verify:
            report.update(verify(args.out))
    except Exception as e:  # one clear line for set-up scripts
        print("mobilenetv2: %s" % e, file=sys.stderr)
        return 1
    print(json.dumps(report))
    return 0


if __name__ == "__main__":
    sys.exit(main())
