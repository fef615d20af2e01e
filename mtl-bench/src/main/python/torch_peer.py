#!/usr/bin/env python3
"""PyTorch peer of mtl-bench's SideBySide: the same five models, trained the same way, timed per step.

Usage (Debian: ``apt-get install python3-torch``; use the interpreter that has torch, e.g. /usr/bin/python3):

    /usr/bin/python3 mtl-bench/src/main/python/torch_peer.py [--cases all|name,...] [--threads N]
        [--budget-s S] [--steps N] [--warmup N] [--seed N] [--list]

Cases (the mtl4j side of org.mtl4j.bench.Cases, layer for layer):

    hard-mlp-small  input 64, dense 256-256 ReLU, heads cls(10) + reg(1), batch 128
    hard-mlp-large  input 512, dense 1024-1024 ReLU, heads cls(10) + reg(1), batch 512
    hard-cnn        1x36x36, conv5x5/16 ReLU + maxpool2/2, conv5x5/32 ReLU + maxpool2/2 (stride 1, no
                    padding: DL4J's ConvolutionMode.Truncate defaults), dense 256 ReLU, heads cls(10) x2, batch 128
    hard-lstm       20 steps of 32 features, LSTM(64) tanh/sigmoid, heads cls(10) + reg(1) on the last step,
                    batch 64
    cross-stitch-4  input 64, four columns of dense 256-256 ReLU, a cross-stitch unit after each of the two
                    stages (one 4x4 alpha per stage, a scalar per column pair, init 0.9 self and 0.1/3 other,
                    trained), heads cls(10)/reg(1)/cls(10)/reg(1) each on its own column, batch 128

A training step is zero_grad, forward, the sum of the task losses with weight 1 each (softmax cross-entropy for
a classification head, mean squared error for a regression head, each the mean over the minibatch, as DL4J's
MCXENT and MSE with one output are), backward, Adam(1e-3) step, float32. Data: 8 fixed random minibatches
(Gaussian features and regression targets, uniform class labels) made before timing and used in turn.

Timing: warm-up steps, then blocks of k steps (k <= 10, smaller when the budget is short) until the budget is
used (at least 5, at most 30 blocks, or exactly --steps steps when given); one sample is the mean ms/step of a
block, the report is the median sample. One line per case, for scripts:

    PEER case=<name> threads=<n> ms_per_step=<median> samples=<blocks> block=<k> min=.. p25=.. p75=..
         thread_cpu_ms=<median CPU ms/step of the main thread> params=<trainable> expected_params=<mtl4j count>
         first_loss=<loss of the first step> wall_s=<the case's wall time>

The CPU time is the main thread's (user + system), as the Java bench's thread_cpu_median is the timing
thread's: with one thread it is all the work of a step and moves less than the wall time when other processes
compete for the cores; with more threads it misses the workers' share.

BLAS: Debian's python3-torch calls the generic libblas.so.3, which is the reference BLAS unless an optimised
one is installed; dense layers then run tens of times slower. compare.sh puts the OpenBLAS that ND4J's
linux-x86_64 natives load (org.bytedeco openblas 0.3.19) first on LD_LIBRARY_PATH as libblas.so.3 and
liblapack.so.3; the PEER-HEADER line says which BLAS was found (and its thread count, set to --threads).

``params`` counts trainable parameters; it must equal the mtl4j network's parameter count (mtl-bench's CHECK
line, ``params=``), which ``expected_params`` holds, computed by hand below (EXPECTED_PARAMS). A mismatch
prints an ERROR line and makes the exit status 3.
"""

import argparse
import ctypes
import os
import platform
import statistics
import sys
import time

import torch
import torch.nn as nn
import torch.nn.functional as F

LEARNING_RATE = 1e-3
BATCHES = 8

# The parameter counts of the mtl4j side (Java bench CHECK line params=), by hand:
#   dense(in, out) = in*out + out
#   hard-mlp-small: dense(64,256)=16640 + dense(256,256)=65792 + cls dense(256,10)=2570 + reg dense(256,1)=257
#                   = 85259
#   hard-mlp-large: dense(512,1024)=525312 + dense(1024,1024)=1049600 + dense(1024,10)=10250
#                   + dense(1024,1)=1025 = 1586187
#   hard-cnn:       conv 5*5*1*16+16=416 + conv 5*5*16*32+32=12832 + dense(32*6*6=1152,256)=295168
#                   + 2 x dense(256,10)=5140 = 313556
#   hard-lstm:      DL4J LSTM 4*(32*64 + 64*64 + 64)=24832 (one bias vector) + dense(64,10)=650 + dense(64,1)=65
#                   = 25547
#   cross-stitch-4: 4 columns x (16640 + 65792)=329728 + heads 2570+257+2570+257=5654 + 2 units x 4x4 alpha=32
#                   = 335414
EXPECTED_PARAMS = {
    "hard-mlp-small": 85259,
    "hard-mlp-large": 1586187,
    "hard-cnn": 313556,
    "hard-lstm": 25547,
    "cross-stitch-4": 335414,
}

CLS, REG = "cls", "reg"


def xavier_(layer):
    """DL4J's WeightInit.XAVIER: N(0, 2/(fanIn+fanOut)) weights (torch's xavier_normal_), zero biases."""
    nn.init.xavier_normal_(layer.weight)
    nn.init.zeros_(layer.bias)
    return layer


def dense(n_in, n_out):
    return xavier_(nn.Linear(n_in, n_out))


class Heads(nn.Module):
    """One linear head per task, reading representation ``reps[t]`` (the same one for hard sharing)."""

    def __init__(self, width, kinds):
        super().__init__()
        self.kinds = kinds
        self.heads = nn.ModuleList(dense(width, 10 if k == CLS else 1) for k in kinds)

    def loss(self, reps, labels):
        total = 0.0
        for head, kind, rep, y in zip(self.heads, self.kinds, reps, labels):
            out = head(rep)
            total = total + (F.cross_entropy(out, y) if kind == CLS else F.mse_loss(out, y))
        return total


class HardMlp(nn.Module):
    def __init__(self, n_in, width, kinds):
        super().__init__()
        self.trunk = nn.Sequential(dense(n_in, width), nn.ReLU(), dense(width, width), nn.ReLU())
        self.heads = Heads(width, kinds)

    def loss(self, x, labels):
        h = self.trunk(x)
        return self.heads.loss([h] * len(labels), labels)


class HardCnn(nn.Module):
    def __init__(self, kinds):
        super().__init__()
        self.trunk = nn.Sequential(
            xavier_(nn.Conv2d(1, 16, 5)), nn.ReLU(), nn.MaxPool2d(2, 2),
            xavier_(nn.Conv2d(16, 32, 5)), nn.ReLU(), nn.MaxPool2d(2, 2),
            nn.Flatten(), dense(32 * 6 * 6, 256), nn.ReLU())
        self.heads = Heads(256, kinds)

    def loss(self, x, labels):
        h = self.trunk(x)
        return self.heads.loss([h] * len(labels), labels)


class HardLstm(nn.Module):
    """LSTM(32 -> 64) then last-step heads. PyTorch's LSTM has two bias vectors (b_ih, b_hh) where DL4J's has
    one: b_hh is kept at zero and frozen, so the trainable parameters and the function are DL4J's."""

    def __init__(self, kinds):
        super().__init__()
        self.lstm = nn.LSTM(32, 64, batch_first=True)
        nn.init.xavier_normal_(self.lstm.weight_ih_l0)
        nn.init.xavier_normal_(self.lstm.weight_hh_l0)
        with torch.no_grad():
            self.lstm.bias_ih_l0.zero_()
            self.lstm.bias_ih_l0[64:128] = 1.0  # forget gate (torch order i, f, g, o): DL4J's forgetGateBiasInit 1
            self.lstm.bias_hh_l0.zero_()
        self.lstm.bias_hh_l0.requires_grad_(False)
        self.heads = Heads(64, kinds)

    def loss(self, x, labels):
        out, _ = self.lstm(x)
        last = out[:, -1, :]
        return self.heads.loss([last] * len(labels), labels)


class CrossStitchMlp(nn.Module):
    """T columns of dense(in, w) ReLU, dense(w, w) ReLU; after each of the two stages the columns' outputs
    x_1..x_T are mixed, x~_i = sum_j alpha_ij x_j, with one learned T x T alpha per stage (one matrix product
    over the stacked columns, as mtl4j's MixingStageVertex does); head t reads column t's last mixed output."""

    def __init__(self, n_in, width, kinds, alpha_self=0.9):
        super().__init__()
        t = len(kinds)
        self.stages = nn.ModuleList([
            nn.ModuleList(dense(n_in, width) for _ in range(t)),
            nn.ModuleList(dense(width, width) for _ in range(t)),
        ])
        init = torch.full((t, t), (1 - alpha_self) / (t - 1))
        init.fill_diagonal_(alpha_self)
        self.alphas = nn.ParameterList(nn.Parameter(init.clone()) for _ in self.stages)
        self.heads = Heads(width, kinds)

    def loss(self, x, labels):
        xs = [x] * len(labels)
        for layers, alpha in zip(self.stages, self.alphas):
            stacked = torch.stack([F.relu(layer(xi)) for layer, xi in zip(layers, xs)])  # [T, B, F]
            mixed = (alpha @ stacked.reshape(stacked.shape[0], -1)).reshape(stacked.shape)
            xs = mixed.unbind(0)
        return self.heads.loss(list(xs), labels)


# name -> (batch size, feature shape of one example, task kinds, model factory)
CASES = {
    "hard-mlp-small": (128, (64,), [CLS, REG], lambda k: HardMlp(64, 256, k)),
    "hard-mlp-large": (512, (512,), [CLS, REG], lambda k: HardMlp(512, 1024, k)),
    "hard-cnn": (128, (1, 36, 36), [CLS, CLS], HardCnn),
    "hard-lstm": (64, (20, 32), [CLS, REG], HardLstm),
    "cross-stitch-4": (128, (64,), [CLS, REG, CLS, REG], lambda k: CrossStitchMlp(64, 256, k)),
}


def batches(batch, shape, kinds, gen):
    out = []
    for _ in range(BATCHES):
        x = torch.randn((batch,) + shape, generator=gen)
        labels = [torch.randint(0, 10, (batch,), generator=gen) if k == CLS else torch.randn((batch, 1), generator=gen)
                  for k in kinds]
        out.append((x, labels))
    return out


class Trainer:
    def __init__(self, model, data):
        self.model = model
        self.data = data
        self.opt = torch.optim.Adam([p for p in model.parameters() if p.requires_grad], lr=LEARNING_RATE)
        self.next = 0

    def step(self):
        x, labels = self.data[self.next % len(self.data)]
        self.next += 1
        self.opt.zero_grad()
        loss = self.model.loss(x, labels)
        loss.backward()
        self.opt.step()
        return loss

    def block(self, k):
        """Runs k steps; returns (wall ms/step, CPU ms/step of this thread)."""
        c0, t0 = time.thread_time(), time.perf_counter()
        for _ in range(k):
            self.step()
        t1, c1 = time.perf_counter(), time.thread_time()
        return (t1 - t0) * 1000 / k, (c1 - c0) * 1000 / k


def quantile(values, q):
    s = sorted(values)
    pos = q * (len(s) - 1)
    lo = int(pos)
    hi = min(lo + 1, len(s) - 1)
    return s[lo] + (s[hi] - s[lo]) * (pos - lo)


def run_case(name, args):
    batch, shape, kinds, factory = CASES[name]
    torch.manual_seed(args.seed)
    model = factory(kinds)
    params = sum(p.numel() for p in model.parameters() if p.requires_grad)
    gen = torch.Generator().manual_seed(args.seed + 1)
    trainer = Trainer(model, batches(batch, shape, kinds, gen))
    start = time.perf_counter()
    first_loss = trainer.step().item()

    # warm-up: --warmup steps, fewer (at least 3) once 15% of the budget is spent
    warm_t0 = time.perf_counter()
    step_ms, _ = trainer.block(1)
    done = 1
    while done < args.warmup and (done < 3 or time.perf_counter() - warm_t0 < 0.15 * args.budget_s):
        k = min(10, args.warmup - done)
        step_ms, _ = trainer.block(k)
        done += k

    samples, cpu = [], []
    if args.steps:
        block = min(10, args.steps)
        while len(samples) * block < args.steps:
            k = min(block, args.steps - len(samples) * block)
            ms, c = trainer.block(k)
            samples.append(ms)
            cpu.append(c)
    else:
        left_ms = 1000 * max(1.0, args.budget_s - (time.perf_counter() - start))
        block = max(1, min(10, int(left_ms / (15 * step_ms))))
        t0 = time.perf_counter()
        while len(samples) < 30 and (len(samples) < 5 or (time.perf_counter() - t0) * 1000 < left_ms):
            ms, c = trainer.block(block)
            samples.append(ms)
            cpu.append(c)

    expected = EXPECTED_PARAMS[name]
    print("PEER case=%s threads=%d ms_per_step=%.3f samples=%d block=%d min=%.3f p25=%.3f p75=%.3f"
          " thread_cpu_ms=%.3f params=%d expected_params=%d first_loss=%.6f wall_s=%.1f"
          % (name, torch.get_num_threads(), statistics.median(samples), len(samples), block, min(samples),
             quantile(samples, 0.25), quantile(samples, 0.75), statistics.median(cpu), params, expected,
             first_loss, time.perf_counter() - start), flush=True)
    if params != expected:
        print("ERROR %s: the PyTorch model has %d trainable parameters, the mtl4j side %d"
              % (name, params, expected), flush=True)
        return False
    return True


def system_blas(threads):
    """The BLAS behind libblas.so.3 that torch calls (Debian builds torch against the generic libblas.so.3):
    OpenBLAS's config string, with its thread count set to ``threads``, or "reference" for another library."""
    try:
        lib = ctypes.CDLL("libblas.so.3")
    except OSError:
        return "unknown"
    if not hasattr(lib, "openblas_get_config"):
        return "reference"
    lib.openblas_set_num_threads(ctypes.c_int(threads))
    lib.openblas_get_config.restype = ctypes.c_char_p
    return "%s/threads=%d" % (lib.openblas_get_config().decode().replace(" ", "_"), lib.openblas_get_num_threads())


def header(blas):
    cpu = "?"
    try:
        with open("/proc/cpuinfo") as f:
            cpu = next(line.split(":", 1)[1].strip() for line in f if line.startswith("model name"))
    except (OSError, StopIteration):
        pass
    return ("PEER-HEADER date=%s cpu=\"%s\" cores=%d torch=%s python=%s blas=%s mkldnn=%s threads=%d"
            " interop_threads=%d OMP_NUM_THREADS=%s"
            % (time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()), cpu, os.cpu_count(), torch.__version__,
               platform.python_version(), blas, torch.backends.mkldnn.is_available(), torch.get_num_threads(),
               torch.get_num_interop_threads(), os.environ.get("OMP_NUM_THREADS", "unset")))


def main(argv=None):
    p = argparse.ArgumentParser(description="PyTorch peer of mtl-bench's SideBySide cases")
    p.add_argument("--cases", default="all", help="all, or a comma-separated list of " + ", ".join(CASES))
    p.add_argument("--threads", type=int, default=1, help="intra- and inter-op threads (default 1)")
    p.add_argument("--budget-s", type=float, default=10.0, help="target wall time of one case (default 10)")
    p.add_argument("--steps", type=int, default=0, help="time exactly this many steps instead of a budget")
    p.add_argument("--warmup", type=int, default=30, help="warm-up steps (default 30; fewer, but at least 3, once 15%% of the budget is spent)")
    p.add_argument("--seed", type=int, default=42)
    p.add_argument("--list", action="store_true", help="print the cases and their parameter counts and exit")
    args = p.parse_args(argv)
    if args.threads < 1 or args.budget_s <= 0 or args.steps < 0 or args.warmup < 1:
        p.error("--threads, --warmup must be >= 1, --budget-s > 0, --steps >= 0")
    names = list(CASES) if args.cases.strip() == "all" else [c.strip() for c in args.cases.split(",") if c.strip()]
    unknown = [c for c in names if c not in CASES]
    if unknown:
        p.error("unknown case(s) %s; valid: %s" % (", ".join(unknown), ", ".join(CASES)))

    torch.set_num_threads(args.threads)
    torch.set_num_interop_threads(args.threads)
    if args.list:
        for name in names:
            batch, _, kinds, factory = CASES[name]
            model = factory(kinds)
            print("%s params=%d expected_params=%d" % (
                name, sum(q.numel() for q in model.parameters() if q.requires_grad), EXPECTED_PARAMS[name]))
        return 0
    blas = system_blas(args.threads)
    print(header(blas), flush=True)
    if blas == "reference":
        print("NOTE libblas.so.3 is the reference BLAS (Debian's default for python3-torch): dense layers run"
              " tens of times slower than with OpenBLAS; run through compare.sh, or put an OpenBLAS libblas.so.3"
              " first on LD_LIBRARY_PATH", flush=True)
    ok = all([run_case(name, args) for name in names])
    return 0 if ok else 3


if __name__ == "__main__":
    sys.exit(main())
