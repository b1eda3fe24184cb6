"""Writes PyTorch reference cases in the `recurrent-golden/1` format.

The project's shared set (copied to crates/recurrent-cells/tests/golden/) covers nine
configurations; this script adds the edge cases the harness must also handle (three layers,
no bias, 1-wide hidden states, batch or sequence of 1, bidirectional with lengths,
time-major input) under tests/golden/extra/.

    python -m venv .venv && .venv/bin/pip install torch safetensors
    .venv/bin/python scripts/make_golden.py crates/recurrent-cells/tests/golden/extra
"""

import sys
import zlib
from pathlib import Path

import torch
from safetensors.torch import save_file
from torch.nn.utils.rnn import pack_padded_sequence, pad_packed_sequence

CASES = [
    # name, kind, input, hidden, layers, bidirectional, bias, batch, seq, lengths, batch_first
    ("lstm_3l_nobias", "lstm", 3, 5, 3, False, False, 2, 4, None, True),
    ("lstm_h1_b1_s1", "lstm", 2, 1, 1, False, True, 1, 1, None, True),
    ("lstm_2l_bi_lengths_nobias", "lstm", 4, 3, 2, True, False, 5, 6, [6, 1, 3, 5, 2], True),
    ("gru_h1_b1_s1", "gru", 1, 1, 1, False, True, 1, 1, None, True),
    ("gru_2l_bi_lengths", "gru", 3, 4, 2, True, True, 4, 5, [2, 5, 1, 4], True),
    ("gru_3l_time_major", "gru", 2, 3, 3, False, True, 3, 4, None, False),
    ("rnn_tanh_2l_bi_lengths", "rnn_tanh", 3, 4, 2, True, True, 3, 5, [5, 3, 1], True),
    ("rnn_relu_3l_nobias", "rnn_relu", 4, 6, 3, False, False, 2, 7, None, True),
    ("rnn_tanh_b1_lengths", "rnn_tanh", 2, 3, 1, False, True, 1, 4, [3], True),
]


def make(name, kind, d_in, hidden, layers, bi, bias, batch, seq, lengths, batch_first, out_dir):
    torch.manual_seed(zlib.crc32(name.encode()))
    dirs = 2 if bi else 1
    if kind == "lstm":
        layer = torch.nn.LSTM(d_in, hidden, layers, bias=bias, batch_first=batch_first, bidirectional=bi)
    elif kind == "gru":
        layer = torch.nn.GRU(d_in, hidden, layers, bias=bias, batch_first=batch_first, bidirectional=bi)
    else:
        nl = "tanh" if kind == "rnn_tanh" else "relu"
        layer = torch.nn.RNN(d_in, hidden, layers, nonlinearity=nl, bias=bias,
                             batch_first=batch_first, bidirectional=bi)
    shape = (batch, seq, d_in) if batch_first else (seq, batch, d_in)
    x = torch.randn(*shape, requires_grad=True)
    h0 = torch.randn(layers * dirs, batch, hidden, requires_grad=True)
    c0 = torch.randn(layers * dirs, batch, hidden, requires_grad=True) if kind == "lstm" else None
    state = (h0, c0) if kind == "lstm" else h0
    if lengths is None:
        out, fin = layer(x, state)
    else:
        packed = pack_padded_sequence(x, torch.tensor(lengths), batch_first=batch_first, enforce_sorted=False)
        out, fin = layer(packed, state)
        out, _ = pad_packed_sequence(out, batch_first=batch_first, total_length=seq)
    h_n, c_n = (fin if kind == "lstm" else (fin, None))
    up = {"upstream.output": torch.randn_like(out), "upstream.h_n": torch.randn_like(h_n)}
    loss = (out * up["upstream.output"]).sum() + (h_n * up["upstream.h_n"]).sum()
    if c_n is not None:
        up["upstream.c_n"] = torch.randn_like(c_n)
        loss = loss + (c_n * up["upstream.c_n"]).sum()
    loss.backward()

    t = {k: v.detach().clone() for k, v in layer.state_dict().items()}
    t.update({"input": x.detach(), "h0": h0.detach(), "output": out.detach(), "h_n": h_n.detach()})
    if c_n is not None:
        t.update({"c0": c0.detach(), "c_n": c_n.detach(), "grad.c0": c0.grad})
    if lengths is not None:
        t["lengths"] = torch.tensor(lengths, dtype=torch.int64)
    t.update(up)
    t.update({"grad.input": x.grad, "grad.h0": h0.grad})
    for pname, p in layer.named_parameters():
        t[f"grad.{pname}"] = p.grad
    meta = {
        "format": "recurrent-golden/1", "kind": kind, "input_size": str(d_in),
        "hidden_size": str(hidden), "num_layers": str(layers),
        "bidirectional": str(bi).lower(), "bias": str(bias).lower(),
        "batch_first": str(batch_first).lower(), "batch": str(batch), "seq_len": str(seq),
        "loss": "sum(output*upstream.output)+sum(h_n*upstream.h_n)[+sum(c_n*upstream.c_n)]",
        "source": f"torch {torch.__version__}",
    }
    save_file({k: v.contiguous() for k, v in t.items()}, str(out_dir / f"{name}.safetensors"), metadata=meta)


def main():
    out_dir = Path(sys.argv[1] if len(sys.argv) > 1 else "crates/recurrent-cells/tests/golden/extra")
    out_dir.mkdir(parents=True, exist_ok=True)
    for case in CASES:
        make(*case, out_dir)
        print("wrote", out_dir / f"{case[0]}.safetensors")


if __name__ == "__main__":
    main()
