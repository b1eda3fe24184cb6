#!/usr/bin/env python3
"""Peak memory of one PyTorch training step (forward + backward of output.sum()) of a
recurrent layer, as `cargo xtask bench` measures ours: the growth of the process's peak
resident set (VmHWM) over the step, after resetting it through /proc/self/clear_refs.

Usage: python torch_peak_mem.py [--cell LSTM] [--config B] [--threads 2]
Prints one JSON object: {"cell", "config", "peak_mib"}.
"""
import argparse, json

import torch

CONFIGS = {
    "A": dict(batch=32, seq=50, input=32, hidden=128, layers=1, bidir=False),
    "B": dict(batch=64, seq=100, input=128, hidden=256, layers=1, bidir=False),
    "C": dict(batch=64, seq=100, input=128, hidden=256, layers=2, bidir=True),
}


def rss_kib(field):
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith(field + ":"):
                return int(line.split()[1])
    raise RuntimeError(field + " not found")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--cell", default="LSTM")
    ap.add_argument("--config", default="B")
    ap.add_argument("--threads", type=int, default=2)
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    c = CONFIGS[args.config]
    m = getattr(torch.nn, args.cell)(input_size=c["input"], hidden_size=c["hidden"],
                                     num_layers=c["layers"], bidirectional=c["bidir"],
                                     batch_first=True)
    x = torch.randn(c["batch"], c["seq"], c["input"])
    # One step first, so that one-time allocations (thread pools, kernels) are not counted.
    out, _ = m(x)
    out.sum().backward()
    m.zero_grad(set_to_none=True)
    del out
    with open("/proc/self/clear_refs", "w") as f:
        f.write("5")
    base = rss_kib("VmRSS")
    out, _ = m(x)
    out.sum().backward()
    peak = rss_kib("VmHWM")
    print(json.dumps(dict(cell=args.cell, config=args.config, peak_mib=(peak - base) / 1024)))


if __name__ == "__main__":
    main()
