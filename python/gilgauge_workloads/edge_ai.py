"""Seven edge-AI task profiles: a CPU phase, then an I/O wait (time.sleep)
standing for the network or a sensor.

Inputs and weights are made once per process (per thread for ONNX Runtime
sessions) from fixed seeds, so a task measures the compute, not set-up.
numpy, pandas and onnxruntime are imported lazily per profile: a missing
optional dependency fails only the profiles that need it, with a message that
names the set-up command. BLAS and OpenMP are pinned to one thread by the
package's __init__ and ONNX Runtime sessions get one intra/inter-op thread.
"""

import importlib
import json
import os
import random
import re
import sys
import threading
import time

from . import SETUP_HINT
from ._register import expose

SEED = 20260110


class MissingDependency(ImportError):
    """A profile's optional dependency (or generated model) is not available."""


_imported = {}
_import_lock = threading.Lock()

# numpy 2 imports these on first attribute access (np.random, np.fft), through its module
# __getattr__. Two worker threads making that first access at once can recurse in it until
# RecursionError (reproduced: 32 threads' first ONNX call, 2 fresh processes in 10), so they
# are imported with numpy, under the lock, before any task reads them.
_SUBMODULES = {"numpy": ("numpy.fft", "numpy.random")}


def _need(module, profile):
    m = _imported.get(module)
    if m is not None:
        return m
    # A package's first import racing in dozens of fresh worker threads can hand some of them a half-
    # initialised module (the import machinery breaks apparent lock cycles that way). Import once, in
    # turn; the RecursionError the bench saw in fresh ONNX companions came from numpy's lazy
    # submodules (_SUBMODULES above).
    with _import_lock:
        m = _imported.get(module)
        if m is None:
            try:
                m = importlib.import_module(module)
                for sub in _SUBMODULES.get(module, ()):
                    importlib.import_module(sub)
            except ImportError as e:
                raise MissingDependency(
                    "profile %r needs the %r package, which %s cannot import (%s): %s"
                    % (profile, module, sys.executable, e, SETUP_HINT)
                ) from e
            _imported[module] = m
    return m


_cache = {}
_cache_lock = threading.Lock()


def _once(key, build):
    """Build a read-only input once per process, shared by every thread."""
    value = _cache.get(key)
    if value is None:
        with _cache_lock:
            value = _cache.get(key)
            if value is None:
                value = _cache[key] = build()
    return value


# --- 1. vision: 224×224×3 frame, 8 × (5×5 per-channel conv, normalise, ReLU)

def _vision_inputs():
    np = _need("numpy", "vision")
    rng = np.random.default_rng(SEED + 1)
    frame = rng.random((224, 224, 3), dtype=np.float32)
    kernels = (rng.standard_normal((8, 5, 5, 3)) / 5.0).astype(np.float32)
    return frame, kernels


def vision_cpu():
    np = _need("numpy", "vision")
    frame, kernels = _once("vision", _vision_inputs)
    h, w, _ = frame.shape
    # Work channel-first so each multiply-add runs over long contiguous rows
    # rather than broadcasting over an innermost axis of 3.
    x = np.ascontiguousarray(frame.transpose(2, 0, 1))  # (3, 224, 224)
    ks = kernels.transpose(0, 3, 1, 2)[..., None, None]  # (8, 3, 5, 5, 1, 1)
    acc = np.empty_like(x)
    tmp = np.empty_like(x)
    for k in ks:
        # "same" 5×5 convolution of each channel with its own kernel, as 25
        # shifted multiply-adds over the zero-padded frame.
        padded = np.pad(x, ((0, 0), (2, 2), (2, 2)))
        acc.fill(0.0)
        for i in range(5):
            for j in range(5):
                np.multiply(padded[:, i:i + h, j:j + w], k[:, i, j], out=tmp)
                acc += tmp
        mean = acc.mean(axis=(1, 2), keepdims=True)
        std = acc.std(axis=(1, 2), keepdims=True) + np.float32(1e-5)
        x = np.maximum((acc - mean) / std, np.float32(0.0))
    return float(x.mean())


def vision():
    r = vision_cpu()
    time.sleep(0.035)
    return r


# --- 2. voice: 32 000 samples -> Hann-windowed rfft frames -> 40 mel bands -> log, 5 times

_SR, _N_FFT, _WIN, _HOP, _MELS = 16000, 512, 400, 160, 40


def _mel_filterbank(np):
    def hz_to_mel(f):
        return 2595.0 * np.log10(1.0 + f / 700.0)

    def mel_to_hz(m):
        return 700.0 * (10.0 ** (m / 2595.0) - 1.0)

    edges_hz = mel_to_hz(np.linspace(hz_to_mel(0.0), hz_to_mel(_SR / 2), _MELS + 2))
    bins_hz = np.linspace(0.0, _SR / 2, _N_FFT // 2 + 1)
    lo, mid, hi = edges_hz[:-2, None], edges_hz[1:-1, None], edges_hz[2:, None]
    rising = (bins_hz - lo) / (mid - lo)
    falling = (hi - bins_hz) / (hi - mid)
    return np.maximum(0.0, np.minimum(rising, falling)).astype(np.float32)  # (40, 257)


def _voice_inputs():
    np = _need("numpy", "voice")
    rng = np.random.default_rng(SEED + 2)
    t = np.arange(32000, dtype=np.float32) / _SR
    # Five 2 s clips: a few tones plus noise, so the spectra are not flat.
    clips = [
        (np.sin(2 * np.pi * (150 + 40 * c) * t) + 0.3 * rng.standard_normal(t.size)).astype(np.float32)
        for c in range(5)
    ]
    return clips, np.hanning(_WIN).astype(np.float32), _mel_filterbank(np).T.copy()


def voice_cpu():
    np = _need("numpy", "voice")
    clips, window, mel_t = _once("voice", _voice_inputs)
    total = 0.0
    for clip in clips:  # the "5 times"
        frames = np.lib.stride_tricks.sliding_window_view(clip, _WIN)[::_HOP] * window
        power = np.abs(np.fft.rfft(frames, n=_N_FFT, axis=1)) ** 2  # (198, 257)
        logmel = np.log(power.astype(np.float32) @ mel_t + 1e-10)  # (198, 40)
        total += float(logmel.mean())
    return total


def voice():
    r = voice_cpu()
    time.sleep(0.050)
    return r


# --- 3. sensor fusion: 9-state constant-acceleration Kalman filter, 200 predicts, 3 updates

def _kalman_inputs():
    np = _need("numpy", "sensor-fusion")
    dt = 0.01
    i3, z3 = np.eye(3), np.zeros((3, 3))
    f = np.block([[i3, dt * i3, 0.5 * dt * dt * i3], [z3, i3, dt * i3], [z3, z3, i3]])
    q = np.diag([1e-4] * 3 + [1e-3] * 3 + [1e-2] * 3)
    h = np.hstack([i3, z3, z3])  # a position fix (GNSS-like) measures x, y, z
    r = 0.25 * i3
    fixes = np.random.default_rng(SEED + 3).normal(0.0, 0.5, (3, 3))
    return f, q, h, r, fixes


def sensor_fusion_cpu():
    np = _need("numpy", "sensor-fusion")
    f, q, h, r, fixes = _once("sensor-fusion", _kalman_inputs)
    x = np.zeros(9)
    p = np.eye(9)
    update_at = (66, 133, 199)
    k = 0
    for step in range(200):
        x = f @ x
        p = f @ p @ f.T + q
        if step in update_at:
            s = h @ p @ h.T + r
            gain = np.linalg.solve(s, h @ p).T  # = P Hᵀ S⁻¹ (S and P symmetric)
            x = x + gain @ (fixes[k] - h @ x)
            p = (np.eye(9) - gain @ h) @ p
            k += 1
    return float(np.trace(p))


def sensor_fusion():
    r = sensor_fusion_cpu()
    time.sleep(0.022)
    return r


# --- 4. RAG: JSON of a 768-float query embedding and 20 chunks of 128 floats, 3 round trips, tokenise

_TOKEN = re.compile(r"\w+|[^\w\s]")


def _rag_inputs():
    rnd = random.Random(SEED + 4)
    syllables = ["ka", "lo", "mi", "ten", "sor", "vi", "dra", "pu", "ne", "qua", "rel", "sy"]
    words = sorted({"".join(rnd.choice(syllables) for _ in range(rnd.randint(1, 3))) for _ in range(400)})
    vocab = {w: i + 1 for i, w in enumerate(words + [",", "."])}  # 0 = unknown
    doc = {
        "query": "which sensor reported the anomaly, and when?",
        "embedding": [rnd.gauss(0.0, 1.0) for _ in range(768)],
        "chunks": [
            {
                "id": "chunk-%02d" % c,
                "text": " ".join(rnd.choice(words) + rnd.choice(["", "", "", ",", "."]) for _ in range(60)),
                "embedding": [rnd.gauss(0.0, 1.0) for _ in range(128)],
            }
            for c in range(20)
        ],
    }
    return doc, vocab


def rag_cpu():
    doc, vocab = _once("rag", _rag_inputs)
    obj = doc
    for _ in range(3):  # as if passed between retriever, re-ranker and prompt builder
        obj = json.loads(json.dumps(obj))
    ids = []
    for text in [obj["query"]] + [c["text"] for c in obj["chunks"]]:
        ids.extend(vocab.get(tok, 0) for tok in _TOKEN.findall(text.lower()))
    return len(ids)


def rag():
    r = rag_cpu()
    time.sleep(0.042)
    return r


# --- 5. small language model: 1×64×1024 activation through 4 layers of QKV + feed-forward

_D, _T, _LAYERS = 1024, 64, 4


def _slm_inputs():
    np = _need("numpy", "slm")
    rng = np.random.default_rng(SEED + 5)
    scale = np.float32(_D ** -0.5)

    def mat():
        return (rng.standard_normal((_D, _D), dtype=np.float32) * scale)

    # Per layer: Wq, Wk, Wv and a two-matmul feed-forward (W1, W2), all 1024×1024.
    layers = [tuple(mat() for _ in range(5)) for _ in range(_LAYERS)]
    x = rng.standard_normal((1, _T, _D), dtype=np.float32)
    return x, layers


def _layer_norm(np, x):
    mu = x.mean(axis=-1, keepdims=True)
    var = x.var(axis=-1, keepdims=True)
    return (x - mu) / np.sqrt(var + np.float32(1e-5))


def slm_cpu():
    np = _need("numpy", "slm")
    x0, layers = _once("slm", _slm_inputs)
    x = x0[0]  # (64, 1024)
    for wq, wk, wv, w1, w2 in layers:
        q, k, v = x @ wq, x @ wk, x @ wv
        scores = (q @ k.T) * np.float32(_D ** -0.5)
        scores = np.exp(scores - scores.max(axis=-1, keepdims=True))
        attn = (scores / scores.sum(axis=-1, keepdims=True)) @ v
        x = _layer_norm(np, x + attn)
        x = _layer_norm(np, x + np.maximum(x @ w1, 0.0) @ w2)
    return float(np.abs(x[-1]).mean())


def slm():
    r = slm_cpu()
    time.sleep(0.018)
    return r


# --- 6. analytics: 2000×7 DataFrame, rolling mean/std/min/max over windows 20, 50, 100

def _analytics_inputs():
    np = _need("numpy", "analytics")
    pd = _need("pandas", "analytics")
    rng = np.random.default_rng(SEED + 6)
    cols = ["temp", "humidity", "pressure", "vibration", "current", "voltage", "rpm"]
    data = rng.standard_normal((2000, 7)).cumsum(axis=0)  # random walks, like sensor drift
    return pd.DataFrame(data, columns=cols)


def analytics_cpu():
    _need("pandas", "analytics")
    df = _once("analytics", _analytics_inputs)
    total = 0.0
    for window in (20, 50, 100):
        roll = df.rolling(window)
        for stat in (roll.mean(), roll.std(), roll.min(), roll.max()):
            total += float(stat.iloc[-1].sum())
    return total


def analytics():
    r = analytics_cpu()
    time.sleep(0.030)
    return r


# --- 7. ONNX MobileNetV2: ONNX Runtime on CPU, one session per worker thread

MODEL_ENV = "GILGAUGE_MOBILENETV2"
_tls = threading.local()


def model_path():
    """Where the generated MobileNetV2 model is looked for (first existing wins).

    $GILGAUGE_MOBILENETV2, then <sys.prefix>/gilgauge-models/ (the venv that
    scripts/setup-python.sh builds it into), then <repo>/.venv/gilgauge-models/.
    """
    env = os.environ.get(MODEL_ENV)
    if env:
        return env
    here = os.path.dirname(os.path.abspath(__file__))
    candidates = [
        os.path.join(sys.prefix, "gilgauge-models", "mobilenetv2.onnx"),
        os.path.join(here, "..", "..", ".venv", "gilgauge-models", "mobilenetv2.onnx"),
    ]
    for c in candidates:
        if os.path.exists(c):
            return os.path.normpath(c)
    return os.path.normpath(candidates[-1])


def _onnx_session():
    sess = getattr(_tls, "session", None)
    if sess is None:
        np = _need("numpy", "onnx-mobilenetv2")
        ort = _need("onnxruntime", "onnx-mobilenetv2")
        path = model_path()
        if not os.path.exists(path):
            raise MissingDependency(
                "profile 'onnx-mobilenetv2' needs the generated model at %s (or $%s): %s"
                % (path, MODEL_ENV, SETUP_HINT)
            )
        opts = ort.SessionOptions()
        opts.intra_op_num_threads = 1  # the pool size is the only parallelism
        opts.inter_op_num_threads = 1
        sess = ort.InferenceSession(path, opts, providers=["CPUExecutionProvider"])
        _tls.session = sess
        _tls.feed = {"input": np.random.default_rng(SEED + 7).standard_normal((1, 3, 224, 224)).astype(np.float32)}
    return sess, _tls.feed


def onnx_mobilenetv2_cpu():
    sess, feed = _onnx_session()
    (logits,) = sess.run(None, feed)
    return int(logits.argmax())


def onnx_mobilenetv2():
    r = onnx_mobilenetv2_cpu()
    time.sleep(0.050)
    return r


def _entry(fn, cpu, wait_s, needs, what):
    return {"fn": fn, "cpu": cpu, "kind": "edge", "wait_s": wait_s, "needs": needs, "description": what}


# name -> task function, its CPU phase alone, nominal wait and dependencies.
PROFILES = {
    "vision": _entry(vision, vision_cpu, 0.035, ("numpy",),
                     "224x224x3 frame, 8 x (5x5 per-channel conv, normalise, ReLU)"),
    "voice": _entry(voice, voice_cpu, 0.050, ("numpy",),
                    "5 x 32000 samples: Hann frames, rfft, 40 mel bands, log"),
    "sensor-fusion": _entry(sensor_fusion, sensor_fusion_cpu, 0.022, ("numpy",),
                            "9-state Kalman filter, 200 predicts, 3 updates"),
    "rag": _entry(rag, rag_cpu, 0.042, (),
                  "JSON (768-float query + 20 chunks of 128 floats) x3 round trips, tokenise"),
    "slm": _entry(slm, slm_cpu, 0.018, ("numpy",),
                  "1x64x1024 through 4 layers of QKV + 2 feed-forward 1024x1024 matmuls"),
    "analytics": _entry(analytics, analytics_cpu, 0.030, ("numpy", "pandas"),
                        "2000x7 DataFrame, rolling mean/std/min/max, windows 20/50/100"),
    "onnx-mobilenetv2": _entry(onnx_mobilenetv2, onnx_mobilenetv2_cpu, 0.050, ("numpy", "onnxruntime"),
                               "MobileNetV2 1.0/224 in ONNX Runtime, one session per thread"),
}


def missing(name):
    """None if profile `name` can run here, else the reason (without running it)."""
    p = PROFILES[name]
    try:
        for module in p["needs"]:
            _need(module, name)
        if name == "onnx-mobilenetv2" and not os.path.exists(model_path()):
            return "the generated model is missing at %s: %s" % (model_path(), SETUP_HINT)
    except MissingDependency as e:
        return str(e)
    return None


for _name, _p in PROFILES.items():
    expose(_name, _p["fn"])
