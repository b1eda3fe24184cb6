"""Writes PyTorch reference cases.

Layers (`recurrent-golden/1` format): the project's shared set (copied to
crates/recurrent-cells/tests/golden/) covers nine configurations; this script adds the edge
cases the harness must also handle (three layers, no bias, 1-wide hidden states, batch or
sequence of 1, bidirectional with lengths, time-major input) under tests/golden/extra/.

Zoo modules (`recurrent-zoo-golden/1` format, see `zoo_main`): Bahdanau and Luong attention,
a residual two-layer LSTM, Conv1d + GRU hybrids, under crates/recurrent-zoo/tests/golden/.

    python -m venv .venv && .venv/bin/pip install torch safetensors
    .venv/bin/python scripts/make_golden.py crates/recurrent-cells/tests/golden/extra
    .venv/bin/python scripts/make_golden.py zoo crates/recurrent-zoo/tests/golden
"""

import sys
import zlib
from pathlib import Path

import torch
import torch.nn as nn
import torch.nn.functional as F
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


# ---------------------------------------------------------------------------------------
# Zoo modules. Each case (format `recurrent-zoo-golden/1`) holds the module's weights under
# the zoo's names (PyTorch's where PyTorch has the module), the inputs (`input.*`, optional
# `lengths`), the expected outputs (`output.*`), fixed random `upstream.*` tensors, and the
# gradients `grad.<weight>` / `grad.input.*` of `loss = sum_k sum(output.k * upstream.k)`.
# Metadata: `module` and the sizes.
# ---------------------------------------------------------------------------------------


def valid_mask(lengths, n):
    return torch.arange(n)[None, :] < torch.tensor(lengths)[:, None]  # [batch, n]


def masked_softmax(scores, lengths):
    # scores [batch, queries, keys]; masked keys -inf, as in PyTorch's seq2seq tutorial.
    mask = valid_mask(lengths, scores.shape[-1])[:, None, :]
    return F.softmax(scores.masked_fill(~mask, float("-inf")), dim=-1)


def packed(layer, x, lengths):
    """Runs a batch-first layer over padded x with lengths; outputs padded with zeros."""
    p = pack_padded_sequence(x, torch.tensor(lengths), batch_first=True, enforce_sorted=False)
    out, state = layer(p)
    out, _ = pad_packed_sequence(out, batch_first=True, total_length=x.shape[1])
    return out, state


class Bahdanau(nn.Module):
    """PyTorch's seq2seq tutorial's BahdanauAttention, with separate sizes and a mask."""

    def __init__(self, d_query, d_key, d_att):
        super().__init__()
        self.Wa = nn.Linear(d_query, d_att)
        self.Ua = nn.Linear(d_key, d_att)
        self.Va = nn.Linear(d_att, 1)

    def forward(self, query, keys, lengths):
        # query [b, q, dq], keys [b, k, dk]
        scores = self.Va(torch.tanh(self.Wa(query)[:, :, None, :] + self.Ua(keys)[:, None, :, :]))
        weights = masked_softmax(scores.squeeze(-1), lengths)
        return {"context": torch.bmm(weights, keys), "weights": weights}


class LuongGeneral(nn.Module):
    def __init__(self, d_query, d_key):
        super().__init__()
        self.Wa = nn.Linear(d_key, d_query, bias=False)

    def forward(self, query, keys, values, lengths):
        scores = torch.bmm(query, self.Wa(keys).transpose(1, 2))
        weights = masked_softmax(scores, lengths)
        return {"context": torch.bmm(weights, values), "weights": weights}


class ResidualLstm(nn.Module):
    """Two LSTM layers, residual (projection where widths differ), LayerNorm between."""

    def __init__(self, d_in, widths):
        super().__init__()
        self.layers = nn.ModuleList()
        self.projections = nn.ModuleDict()
        d = d_in
        for k, w in enumerate(widths):
            self.layers.append(nn.LSTM(d, w, batch_first=True))
            if d != w:
                self.projections[str(k)] = nn.Linear(d, w, bias=False)
            d = w
        self.norms = nn.ModuleDict({"0": nn.LayerNorm(widths[0])})

    def forward(self, x, lengths):
        mask = valid_mask(lengths, x.shape[1])[:, :, None].float()
        out = {}
        for k, layer in enumerate(self.layers):
            y, (h, c) = packed(layer, x, lengths)
            y = y + (self.projections[str(k)](x) if str(k) in self.projections else x)
            if str(k) in self.norms:
                y = self.norms[str(k)](y)
            x = y * mask
            out[f"h_n.{k}"] = h
            out[f"c_n.{k}"] = c
        out["output"] = x
        return out


class ConvGru(nn.Module):
    """Conv1d (centred or causal) + ReLU + optional max pooling, then a GRU, with lengths."""

    def __init__(self, d_in, channels, kernel, hidden, causal, pool):
        super().__init__()
        self.conv = nn.Conv1d(d_in, channels, kernel)
        self.recurrent = nn.GRU(channels, hidden, batch_first=True)
        self.kernel, self.causal, self.pool = kernel, causal, pool

    def forward(self, x, lengths):
        mask = valid_mask(lengths, x.shape[1])[:, :, None].float()
        x = (x * mask).transpose(1, 2)  # [b, d, s]
        pad = (self.kernel - 1, 0) if self.causal else (self.kernel // 2, self.kernel // 2)
        y = F.relu(self.conv(F.pad(x, pad))).transpose(1, 2) * mask  # [b, s, c]
        if self.pool > 1:
            y = F.max_pool1d(y.transpose(1, 2), self.pool).transpose(1, 2)
        pooled = [l // self.pool for l in lengths]
        out, h = packed(self.recurrent, y, pooled)
        return {"output": out, "h_n": h}


class EncoderLayer(nn.Module):
    """nn.TransformerEncoderLayer (batch_first, no dropout) with a key padding mask from lengths."""

    def __init__(self, d_model, nhead, d_ff, norm_first, activation):
        super().__init__()
        self.layer = nn.TransformerEncoderLayer(d_model, nhead, d_ff, dropout=0.0, activation=activation,
                                                batch_first=True, norm_first=norm_first)

    def state_dict(self, *args, **kwargs):  # the layer's own names, without the wrapper's prefix
        return self.layer.state_dict()

    def named_parameters(self, *args, **kwargs):
        return self.layer.named_parameters()

    def forward(self, x, lengths):
        pad = ~valid_mask(lengths, x.shape[1])
        return {"output": self.layer(x, src_key_padding_mask=pad)}


class DecoderLayer(nn.Module):
    """nn.TransformerDecoderLayer (batch_first, no dropout): causal self-attention over the
    target, cross-attention over the memory with its padding masked by lengths."""

    def __init__(self, d_model, nhead, d_ff, norm_first, activation):
        super().__init__()
        self.layer = nn.TransformerDecoderLayer(d_model, nhead, d_ff, dropout=0.0, activation=activation,
                                                batch_first=True, norm_first=norm_first)

    def state_dict(self, *args, **kwargs):
        return self.layer.state_dict()

    def named_parameters(self, *args, **kwargs):
        return self.layer.named_parameters()

    def forward(self, target, memory, lengths):
        causal = nn.Transformer.generate_square_subsequent_mask(target.shape[1])
        pad = ~valid_mask(lengths, memory.shape[1])
        out = self.layer(target, memory, tgt_mask=causal, tgt_is_causal=True, memory_key_padding_mask=pad)
        return {"output": out}


class Seq2SeqRef(nn.Module):
    """The zoo's Seq2Seq (bidirectional LSTM encoder, bridged states, Bahdanau attention with
    input feeding, LSTM decoder, read-out of [h; context]) written in PyTorch, teacher forced."""

    def __init__(self, src_vocab, tgt_vocab, d_embed, d_hidden):
        super().__init__()
        d = 2 * d_hidden
        self.d = d
        self.src_embed = nn.Embedding(src_vocab, d_embed)
        self.encoder = nn.LSTM(d_embed, d_hidden, batch_first=True, bidirectional=True)
        self.bridge_h = nn.Linear(d, d)
        self.bridge_c = nn.Linear(d, d)
        self.tgt_embed = nn.Embedding(tgt_vocab, d_embed)
        self.decoder = nn.LSTM(d_embed + d, d, batch_first=True)
        self.attention = Bahdanau(d, d, d)
        self.out = nn.Linear(2 * d, tgt_vocab)

    def forward(self, src, tgt_in, lengths):
        b = src.shape[0]
        memory, (h, c) = packed(self.encoder, self.src_embed(src), lengths)

        def join(t):  # [dirs, b, h] -> [1, b, dirs * h]
            return t.view(1, 2, b, -1).transpose(1, 2).reshape(1, b, self.d)

        h, c = torch.tanh(self.bridge_h(join(h))), self.bridge_c(join(c))
        context = torch.zeros(b, self.d)
        logits, weights = [], []
        for t in range(tgt_in.shape[1]):
            step = torch.cat([self.tgt_embed(tgt_in[:, t:t + 1]), context[:, None, :]], dim=2)
            out, (h, c) = self.decoder(step, (h, c))
            att = self.attention(out, memory, lengths)
            context = att["context"][:, 0, :]
            logits.append(self.out(torch.cat([out[:, 0, :], context], dim=1)))
            weights.append(att["weights"][:, 0, :])
        return {"logits": torch.stack(logits, 1), "attention": torch.stack(weights, 1)}


def run_seq2seq(name, out_dir):
    """A teacher-forced Seq2Seq case: integer inputs (no input gradients), weight gradients."""
    torch.manual_seed(zlib.crc32(name.encode()))
    m = Seq2SeqRef(9, 7, 5, 4)
    src = torch.tensor([[2, 3, 4, 5, 6], [7, 8, 2, 0, 0], [3, 0, 0, 0, 0]])
    tgt_in = torch.tensor([[0, 3, 4, 5], [0, 6, 2, 0], [0, 5, 0, 0]])
    lengths = [5, 3, 1]
    outputs = m(src, tgt_in, lengths)
    up = {f"upstream.{k}": torch.randn_like(v) for k, v in outputs.items()}
    loss = sum((v * up[f"upstream.{k}"]).sum() for k, v in outputs.items())
    loss.backward()
    t = {k: v.detach().clone() for k, v in m.state_dict().items()}
    t.update({"input.src": src, "input.tgt_in": tgt_in, "lengths": torch.tensor(lengths)})
    t.update({f"output.{k}": v.detach() for k, v in outputs.items()})
    t.update(up)
    for pname, p in m.named_parameters():
        t[f"grad.{pname}"] = p.grad
    meta = {"module": "seq2seq", "src_vocab": "9", "tgt_vocab": "7", "d_embed": "5", "d_hidden": "4",
            "format": "recurrent-zoo-golden/1", "source": f"torch {torch.__version__}",
            "loss": "sum_k sum(output.k * upstream.k)"}
    save_file({k: v.contiguous() for k, v in t.items()}, str(out_dir / f"{name}.safetensors"), metadata=meta)
    print("wrote", out_dir / f"{name}.safetensors")


def run(name, module, inputs, lengths, meta, out_dir):
    leaves = {k: v.requires_grad_(True) for k, v in inputs.items()}
    outputs = module(*leaves.values(), lengths)
    up = {f"upstream.{k}": torch.randn_like(v) for k, v in outputs.items()}
    loss = sum((v * up[f"upstream.{k}"]).sum() for k, v in outputs.items())
    loss.backward()
    t = {k: v.detach().clone() for k, v in module.state_dict().items()}
    t.update({f"input.{k}": v.detach() for k, v in leaves.items()})
    t.update({f"output.{k}": v.detach() for k, v in outputs.items()})
    t.update(up)
    t.update({f"grad.input.{k}": v.grad for k, v in leaves.items()})
    for pname, p in module.named_parameters():
        t[f"grad.{pname}"] = p.grad
    if lengths is not None:
        t["lengths"] = torch.tensor(lengths, dtype=torch.int64)
    meta = {k: str(v) for k, v in meta.items()}
    meta.update({"format": "recurrent-zoo-golden/1", "source": f"torch {torch.__version__}",
                 "loss": "sum_k sum(output.k * upstream.k)"})
    save_file({k: v.contiguous() for k, v in t.items()}, str(out_dir / f"{name}.safetensors"), metadata=meta)
    print("wrote", out_dir / f"{name}.safetensors")


def zoo_main(out_dir):
    out_dir.mkdir(parents=True, exist_ok=True)

    def seed(name):
        torch.manual_seed(zlib.crc32(name.encode()))

    seed("bahdanau_attention")
    lengths = [7, 4, 1]
    m = Bahdanau(4, 6, 5)
    run("bahdanau_attention", m, {"query": torch.randn(3, 2, 4), "keys": torch.randn(3, 7, 6)}, lengths,
        {"module": "additive_attention", "d_query": 4, "d_key": 6, "d_attention": 5}, out_dir)

    seed("luong_general_attention")
    m = LuongGeneral(4, 6)
    run("luong_general_attention", m,
        {"query": torch.randn(3, 2, 4), "keys": torch.randn(3, 7, 6), "values": torch.randn(3, 7, 3)},
        [2, 7, 5], {"module": "luong_general", "d_query": 4, "d_key": 6}, out_dir)

    seed("residual_lstm_2l")
    m = ResidualLstm(4, [6, 6])
    run("residual_lstm_2l", m, {"input": torch.randn(4, 5, 4)}, [5, 2, 4, 1],
        {"module": "residual_lstm", "d_input": 4, "widths": "6,6", "layer_norm": "true"}, out_dir)

    seed("conv_gru")
    m = ConvGru(3, 5, 3, 4, causal=False, pool=1)
    run("conv_gru", m, {"input": torch.randn(3, 6, 3)}, [6, 3, 5],
        {"module": "conv_gru", "d_input": 3, "channels": 5, "kernel": 3, "d_hidden": 4,
         "causal": "false", "pool": 1}, out_dir)

    seed("conv_gru_causal_pool")
    m = ConvGru(3, 5, 2, 4, causal=True, pool=2)
    run("conv_gru_causal_pool", m, {"input": torch.randn(3, 8, 3)}, [8, 5, 2],
        {"module": "conv_gru", "d_input": 3, "channels": 5, "kernel": 2, "d_hidden": 4,
         "causal": "true", "pool": 2}, out_dir)

    # nn.TransformerEncoderLayer: post- and pre-norm, ReLU and GELU, padding from lengths.
    for norm_first in (False, True):
        for activation in ("relu", "gelu"):
            name = f"transformer_encoder_{'pre' if norm_first else 'post'}_{activation}"
            seed(name)
            m = EncoderLayer(8, 2, 12, norm_first, activation).eval()
            run(name, m, {"input": torch.randn(3, 5, 8)}, [5, 3, 1],
                {"module": "transformer_encoder_layer", "d_model": 8, "n_heads": 2, "d_ff": 12,
                 "norm_first": str(norm_first).lower(), "activation": activation}, out_dir)

    # nn.TransformerDecoderLayer: causal self-attention, cross-attention with padded memory.
    for norm_first in (False, True):
        name = f"transformer_decoder_{'pre' if norm_first else 'post'}_gelu"
        seed(name)
        m = DecoderLayer(8, 2, 12, norm_first, "gelu").eval()
        run(name, m, {"target": torch.randn(3, 4, 8), "memory": torch.randn(3, 6, 8)}, [6, 2, 4],
            {"module": "transformer_decoder_layer", "d_model": 8, "n_heads": 2, "d_ff": 12,
             "norm_first": str(norm_first).lower(), "activation": "gelu"}, out_dir)

    # The whole recurrent encoder-decoder with Bahdanau attention, teacher forced.
    run_seq2seq("seq2seq_bahdanau", out_dir)


def main():
    if len(sys.argv) > 1 and sys.argv[1] == "zoo":
        zoo_main(Path(sys.argv[2] if len(sys.argv) > 2 else "crates/recurrent-zoo/tests/golden"))
        return
    out_dir = Path(sys.argv[1] if len(sys.argv) > 1 else "crates/recurrent-cells/tests/golden/extra")
    out_dir.mkdir(parents=True, exist_ok=True)
    for case in CASES:
        make(*case, out_dir)
        print("wrote", out_dir / f"{case[0]}.safetensors")


if __name__ == "__main__":
    main()
