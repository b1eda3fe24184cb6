//! PyTorch reference cases of the zoo's modules (`tests/golden/`, made by
//! `scripts/make_golden.py zoo`): outputs and every gradient within 1e-4 on the CPU
//! backends. The PyTorch module behind each case is in the script and in
//! `tests/golden/README.md`.

use std::path::{Path, PathBuf};

use burn::tensor::{Device, Int, Tensor, TensorData};
use recurrent_cells::{SequenceInput, StateDict};
use recurrent_zoo::attention::{
    AdditiveAttentionConfig, AttentionInput, DotAttentionConfig, LuongScore,
};
use recurrent_zoo::conv::{CnnRecurrentConfig, ConvFrontEndConfig};
use recurrent_zoo::models::{Seq2SeqAttention, Seq2SeqConfig};
use recurrent_zoo::transformer::{
    FeedForwardActivation, TransformerLayersConfig, TransformerSeq2SeqConfig, decoder_layer,
    encoder_layer, padding_mask,
};
use recurrent_zoo::{PytorchWeights, RecurrentConfig, RecurrentKind, RecurrentStackConfig};

const TOLERANCE: f32 = 1e-4;

#[allow(deprecated)] // burn-ndarray is deprecated in burn 0.22 but still a supported backend.
fn devices() -> Vec<(&'static str, Device)> {
    vec![("flex", Device::flex()), ("ndarray", Device::ndarray())]
}

fn case(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/golden")
        .join(format!("{name}.safetensors"))
}

struct Case {
    dict: StateDict,
    device: Device,
}

impl Case {
    fn load(name: &str, device: &Device) -> Self {
        let dict = StateDict::load(case(name)).unwrap();
        assert_eq!(dict.metadata["format"], "recurrent-zoo-golden/1");
        Self {
            dict,
            device: device.clone().autodiff(),
        }
    }

    fn meta(&self, key: &str) -> usize {
        self.dict.metadata[key].parse().unwrap()
    }

    fn flag(&self, key: &str) -> bool {
        self.dict.metadata[key] == "true"
    }

    /// An input as a tracked leaf.
    fn input(&self, name: &str) -> Tensor<3> {
        let data = self.dict.get(&format!("input.{name}")).unwrap().clone();
        Tensor::<3>::from_data(data, &self.device).require_grad()
    }

    fn lengths(&self) -> Tensor<1, Int> {
        Tensor::from_data(self.dict.get("lengths").unwrap().clone(), &self.device)
    }

    /// Runs the loss of `outputs`, then compares outputs, the weights' gradients (from
    /// `grads_of`) and the inputs' gradients with the case.
    fn check(
        &self,
        what: &str,
        outputs: Vec<(&str, Tensor<3>)>,
        inputs: Vec<(&str, Tensor<3>)>,
        grads_of: impl Fn(&burn::tensor::Gradients) -> StateDict,
    ) {
        let mut loss: Option<Tensor<1>> = None;
        for (name, out) in &outputs {
            let up = self.dict.get(&format!("upstream.{name}")).unwrap().clone();
            let up = Tensor::<3>::from_data(up, &self.device);
            let term = (out.clone() * up).sum();
            loss = Some(match loss {
                Some(l) => l + term,
                None => term,
            });
            compare(what, &format!("output.{name}"), out.to_data(), &self.dict);
        }
        let grads = loss.unwrap().backward();
        for (name, input) in &inputs {
            let g = input.grad(&grads).expect("the input has a gradient");
            compare(what, &format!("grad.input.{name}"), g.to_data(), &self.dict);
        }
        let weights = grads_of(&grads);
        let expected: Vec<&str> = self
            .dict
            .names()
            .filter(|n| n.starts_with("grad.") && !n.starts_with("grad.input."))
            .collect();
        assert_eq!(
            weights.len(),
            expected.len(),
            "{what}: gradients {:?} vs the case's {expected:?}",
            weights.names().collect::<Vec<_>>()
        );
        for (name, data) in weights.iter() {
            compare(what, &format!("grad.{name}"), data.clone(), &self.dict);
        }
    }
}

fn compare(what: &str, name: &str, actual: TensorData, dict: &StateDict) {
    let expected = dict
        .get(name)
        .unwrap_or_else(|| panic!("{what}: the case has no {name}"));
    assert_eq!(
        actual.shape().to_vec(),
        expected.shape().to_vec(),
        "{what}: {name} shape"
    );
    let a = actual.convert::<f32>().try_into_vec::<f32>().unwrap();
    let e = expected
        .clone()
        .convert::<f32>()
        .try_into_vec::<f32>()
        .unwrap();
    let worst = a
        .iter()
        .zip(&e)
        .map(|(x, y)| {
            if x.is_finite() {
                (x - y).abs()
            } else {
                f32::INFINITY
            }
        })
        .fold(0.0f32, f32::max);
    assert!(worst <= TOLERANCE, "{what}: {name} differs by {worst}");
}

#[test]
fn bahdanau_attention_matches_pytorch() {
    for (backend, device) in devices() {
        let c = Case::load("bahdanau_attention", &device);
        let attention =
            AdditiveAttentionConfig::new(c.meta("d_query"), c.meta("d_key"), c.meta("d_attention"))
                .init(&c.device)
                .load(&c.dict, "")
                .unwrap();
        let (query, keys) = (c.input("query"), c.input("keys"));
        let out = attention
            .forward(AttentionInput::new(query.clone(), keys.clone()).lengths(c.lengths()));
        c.check(
            &format!("bahdanau on {backend}"),
            vec![("context", out.context), ("weights", out.weights)],
            vec![("query", query), ("keys", keys)],
            |g| attention.grads(g, ""),
        );
    }
}

#[test]
fn luong_general_attention_matches_pytorch() {
    for (backend, device) in devices() {
        let c = Case::load("luong_general_attention", &device);
        let attention = DotAttentionConfig::new(c.meta("d_query"), c.meta("d_key"))
            .with_score(LuongScore::General)
            .init(&c.device)
            .load(&c.dict, "")
            .unwrap();
        let (query, keys, values) = (c.input("query"), c.input("keys"), c.input("values"));
        let input = AttentionInput::new(query.clone(), keys.clone())
            .values(values.clone())
            .lengths(c.lengths());
        let out = attention.forward(input);
        c.check(
            &format!("luong general on {backend}"),
            vec![("context", out.context), ("weights", out.weights)],
            vec![("query", query), ("keys", keys), ("values", values)],
            |g| attention.grads(g, ""),
        );
    }
}

#[test]
fn residual_two_layer_lstm_matches_pytorch() {
    for (backend, device) in devices() {
        let c = Case::load("residual_lstm_2l", &device);
        let widths: Vec<usize> = c.dict.metadata["widths"]
            .split(',')
            .map(|w| w.parse().unwrap())
            .collect();
        let stack = RecurrentStackConfig::new(RecurrentKind::Lstm, c.meta("d_input"), widths)
            .with_residual(true)
            .with_layer_norm(c.flag("layer_norm"))
            .init(&c.device)
            .load(&c.dict, "")
            .unwrap();
        let x = c.input("input");
        let (out, state) = stack.forward_input(SequenceInput::new(x.clone()).lengths(c.lengths()));
        let mut outputs = vec![("output", out)];
        let names = [("h_n.0", "c_n.0"), ("h_n.1", "c_n.1")];
        for (layer, (h, cell)) in state.0.iter().zip(names) {
            outputs.push((h, layer.hidden()));
            outputs.push((cell, layer.cell().unwrap()));
        }
        c.check(
            &format!("residual lstm on {backend}"),
            outputs,
            vec![("input", x)],
            |g| stack.grads(g, ""),
        );
    }
}

fn check_conv_gru(name: &str) {
    for (backend, device) in devices() {
        let c = Case::load(name, &device);
        let conv = ConvFrontEndConfig::new(c.meta("d_input"), c.meta("channels"))
            .with_kernel(c.meta("kernel"))
            .with_causal(c.flag("causal"))
            .with_pool(c.meta("pool"));
        let recurrent = RecurrentConfig::new(RecurrentKind::Gru, 0, c.meta("d_hidden"));
        let model = CnnRecurrentConfig::stacked(conv, recurrent)
            .init(&c.device)
            .load(&c.dict, "")
            .unwrap();
        let x = c.input("input");
        let (out, state, _) = model
            .try_forward_input(SequenceInput::new(x.clone()).lengths(c.lengths()))
            .unwrap();
        c.check(
            &format!("{name} on {backend}"),
            vec![("output", out), ("h_n", state.hidden())],
            vec![("input", x)],
            |g| model.grads(g, ""),
        );
    }
}

#[test]
fn conv_gru_matches_pytorch() {
    check_conv_gru("conv_gru");
}

#[test]
fn causal_pooled_conv_gru_matches_pytorch() {
    check_conv_gru("conv_gru_causal_pool");
}

/// burn's layer configuration for a Transformer case (no dropout).
fn transformer_config(c: &Case) -> (usize, usize, usize, bool, FeedForwardActivation) {
    (
        c.meta("d_model"),
        c.meta("n_heads"),
        c.meta("d_ff"),
        c.flag("norm_first"),
        c.dict.metadata["activation"].parse().unwrap(),
    )
}

fn check_encoder_layer(name: &str) {
    for (backend, device) in devices() {
        let c = Case::load(name, &device);
        let (d_model, n_heads, d_ff, norm_first, activation) = transformer_config(&c);
        // One layer of the zoo's stack; post-norm stacks have no final norm, and a pre-norm
        // stack's final norm is PyTorch's `nn.TransformerEncoder(norm=...)`, not part of the
        // layer, so the layer is run on its own here.
        let layers = TransformerLayersConfig::new(d_model, n_heads, d_ff, 1)
            .with_dropout(0.0)
            .with_norm_first(norm_first)
            .with_activation(activation)
            .try_init(&c.device)
            .unwrap();
        let layer = layers
            .layers
            .into_iter()
            .next()
            .unwrap()
            .load(&c.dict, "")
            .unwrap();
        let x = c.input("input");
        let seq = x.dims()[1];
        let out = encoder_layer(
            &layer,
            x.clone(),
            Some(padding_mask(c.lengths(), seq)),
            false,
        );
        c.check(
            &format!("{name} on {backend}"),
            vec![("output", out)],
            vec![("input", x)],
            |g| layer.grads(g, ""),
        );
    }
}

#[test]
fn transformer_encoder_layer_post_norm_relu_matches_pytorch() {
    check_encoder_layer("transformer_encoder_post_relu");
}

#[test]
fn transformer_encoder_layer_post_norm_gelu_matches_pytorch() {
    check_encoder_layer("transformer_encoder_post_gelu");
}

#[test]
fn transformer_encoder_layer_pre_norm_relu_matches_pytorch() {
    check_encoder_layer("transformer_encoder_pre_relu");
}

#[test]
fn transformer_encoder_layer_pre_norm_gelu_matches_pytorch() {
    check_encoder_layer("transformer_encoder_pre_gelu");
}

fn check_decoder_layer(name: &str) {
    for (backend, device) in devices() {
        let c = Case::load(name, &device);
        let (d_model, n_heads, d_ff, norm_first, activation) = transformer_config(&c);
        let config = TransformerSeq2SeqConfig::new(2, 2)
            .with_d_model(d_model)
            .with_n_heads(n_heads)
            .with_d_ff(d_ff)
            .with_n_decoder_layers(1)
            .with_dropout(0.0)
            .with_norm_first(norm_first)
            .with_activation(activation);
        let model = config.try_init(&c.device).unwrap();
        let layer = model
            .decoder
            .into_iter()
            .next()
            .unwrap()
            .load(&c.dict, "")
            .unwrap();
        let (target, memory) = (c.input("target"), c.input("memory"));
        let steps = memory.dims()[1];
        let (out, _) = decoder_layer(
            &layer,
            target.clone(),
            memory.clone(),
            Some(padding_mask(c.lengths(), steps)),
        );
        c.check(
            &format!("{name} on {backend}"),
            vec![("output", out)],
            vec![("target", target), ("memory", memory)],
            |g| layer.grads(g, ""),
        );
    }
}

#[test]
fn transformer_decoder_layer_post_norm_matches_pytorch() {
    check_decoder_layer("transformer_decoder_post_gelu");
}

#[test]
fn transformer_decoder_layer_pre_norm_matches_pytorch() {
    check_decoder_layer("transformer_decoder_pre_gelu");
}

#[test]
fn seq2seq_with_bahdanau_attention_matches_pytorch() {
    for (backend, device) in devices() {
        let c = Case::load("seq2seq_bahdanau", &device);
        let model = Seq2SeqConfig::new(c.meta("src_vocab"), c.meta("tgt_vocab"))
            .with_d_embed(c.meta("d_embed"))
            .with_d_hidden(c.meta("d_hidden"))
            .with_kind(RecurrentKind::Lstm)
            .with_bidirectional(true)
            .with_attention(Seq2SeqAttention::Bahdanau)
            .init(&c.device)
            .load(&c.dict, "")
            .unwrap();
        let ids = |name: &str| -> Tensor<2, Int> {
            Tensor::from_data(c.dict.get(name).unwrap().clone(), &c.device)
        };
        let lengths: Vec<usize> = c
            .dict
            .get("lengths")
            .unwrap()
            .clone()
            .convert::<i64>()
            .try_into_vec::<i64>()
            .unwrap()
            .into_iter()
            .map(|l| l as usize)
            .collect();
        // Teacher forcing 1: every step is fed the true previous token, as in the case.
        let out = model
            .forward(ids("input.src"), &lengths, ids("input.tgt_in"), 1.0, 0)
            .unwrap();
        c.check(
            &format!("seq2seq on {backend}"),
            vec![("logits", out.logits), ("attention", out.attention)],
            vec![],
            |g| model.grads(g, ""),
        );
    }
}
