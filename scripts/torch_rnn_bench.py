#!/usr/bin/env python3
# Copied from the project's speed anchors (shared/anchors/, written by this team) so that
# `cargo xtask bench` can rerun PyTorch beside ours from a fresh clone.
"""PyTorch CPU anchors for nn.RNN(tanh) / nn.LSTM / nn.GRU, batch_first, float32.

Configs:
  A: batch 32, seq 50,  input 32,  hidden 128, 1 layer
  B: batch 64, seq 100, input 128, hidden 256, 1 layer
  C: batch 64, seq 100, input 128, hidden 256, 2 layers, bidirectional

Modes:
  fwd    : forward only under torch.inference_mode()
  fwdbwd : forward + out.sum().backward() (weight grads; x does not require grad),
           grads set to None before each iteration (inside the timed region)

FLOPs (matmul only, biases/elementwise ignored), per timestep per sample per layer per direction:
  RNN 2*H*(I+H), GRU 2*3*H*(I+H), LSTM 2*4*H*(I+H); layer>1 of a bidirectional stack has I = 2H.
  fwd+bwd = 3 x fwd.

Usage: python torch_rnn_bench.py [--threads 2] [--reps 10] [--configs A,B,C] [--cells RNN,LSTM,GRU]
                                 [--modes fwd,fwdbwd] [--no-mkldnn] [--json out.json]
"""
import argparse, json, os, sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import benchutil  # noqa: E402
import torch  # noqa: E402

CONFIGS = {
    "A": dict(batch=32, seq=50, input=32, hidden=128, layers=1, bidir=False),
    "B": dict(batch=64, seq=100, input=128, hidden=256, layers=1, bidir=False),
    "C": dict(batch=64, seq=100, input=128, hidden=256, layers=2, bidir=True),
}
GATES = {"RNN": 1, "GRU": 3, "LSTM": 4}


def fwd_flops(cell, c):
    H, g = c["hidden"], GATES[cell]
    dirs = 2 if c["bidir"] else 1
    total = 0
    for layer in range(c["layers"]):
        I = c["input"] if layer == 0 else H * dirs
        total += dirs * 2 * g * H * (I + H)
    return total * c["seq"] * c["batch"]


def make(cell, c):
    kw = dict(input_size=c["input"], hidden_size=c["hidden"], num_layers=c["layers"],
              bidirectional=c["bidir"], batch_first=True)
    if cell == "RNN":
        return torch.nn.RNN(nonlinearity="tanh", **kw)
    return getattr(torch.nn, cell)(**kw)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--reps", type=int, default=10)
    ap.add_argument("--warmup", type=int, default=3)
    ap.add_argument("--configs", default="A,B,C")
    ap.add_argument("--cells", default="RNN,LSTM,GRU")
    ap.add_argument("--modes", default="fwd,fwdbwd")
    ap.add_argument("--no-mkldnn", action="store_true", help="torch.backends.mkldnn.enabled = False")
    ap.add_argument("--json", default=None)
    args = ap.parse_args()

    torch.set_num_threads(args.threads)
    if args.no_mkldnn:
        torch.backends.mkldnn.enabled = False
    torch.manual_seed(0)
    print(f"torch {torch.__version__} threads={torch.get_num_threads()} "
          f"cpu_capability={torch.backends.cpu.get_cpu_capability()} mkldnn={torch.backends.mkldnn.enabled}", flush=True)

    results = []
    hdr = f"{'cfg':3} {'cell':4} {'mode':6} {'median ms':>10} {'min ms':>9} {'max ms':>9} {'seq/s':>9} {'GFLOP':>8} {'GFLOP/s':>8} {'foreign':>7}"
    print(hdr, flush=True)
    for cname in args.configs.split(","):
        c = CONFIGS[cname]
        x = torch.randn(c["batch"], c["seq"], c["input"])
        for cell in args.cells.split(","):
            m = make(cell, c)
            for mode in args.modes.split(","):
                if mode == "fwd":
                    m.eval()

                    def fn():
                        with torch.inference_mode():
                            out, _ = m(x)
                        return out
                    flops = fwd_flops(cell, c)
                else:
                    m.train()

                    def fn():
                        m.zero_grad(set_to_none=True)
                        out, _ = m(x)
                        out.sum().backward()
                    flops = 3 * fwd_flops(cell, c)
                r = benchutil.measure(fn, reps=args.reps, warmup=args.warmup)
                med = r["median"]
                row = dict(config=cname, cell=cell, mode=mode, threads=args.threads,
                           mkldnn=not args.no_mkldnn, median_ms=med * 1e3,
                           min_ms=r["min"] * 1e3, max_ms=r["max"] * 1e3, n=r["n"],
                           seq_per_s=c["batch"] / med, gflop=flops / 1e9,
                           gflops=flops / med / 1e9, foreign=r["foreign"], **c)
                results.append(row)
                print(f"{cname:3} {cell:4} {mode:6} {med*1e3:10.2f} {r['min']*1e3:9.2f} {r['max']*1e3:9.2f} "
                      f"{row['seq_per_s']:9.0f} {row['gflop']:8.3f} {row['gflops']:8.1f} {r['foreign']*100:6.1f}%",
                      flush=True)
    if args.json:
        with open(args.json, "w") as f:
            json.dump(results, f, indent=1)


if __name__ == "__main__":
    main()
