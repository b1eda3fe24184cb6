//! The speed benchmark behind `cargo xtask bench`: our RNN, LSTM and GRU layers against
//! PyTorch's in the same run, and against our own composite path.
//!
//! Configs are those of the speed anchors: A (batch 32, seq 50, d_input 32, d_hidden 128), B
//! (64, 100, 128, 256) and C (B with 2 layers, bidirectional); modes `fwd` (forward only,
//! outputs read back) and `fwdbwd` (forward, then backward of `output.sum()` into the weights).
//! Each measurement is the median of `reps` timed runs after `warmup` untimed ones. PyTorch
//! runs `scripts/torch_rnn_bench.py` (the anchors' method) when a Python with `torch` is
//! found; its numbers and ours come from the same machine minutes apart, so the ratio is the
//! figure to report, not either time.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Instant;

use burn::tensor::{Device, Distribution, Tensor};
use recurrent_cells::fused;
use recurrent_cells::prelude::*;
use serde::{Deserialize, Serialize};

use crate::error::{Result, TrainError};

/// One benchmark shape.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct BenchShape {
    /// `A`, `B` or `C`.
    pub name: char,
    /// Sequences per batch.
    pub batch: usize,
    /// Steps per sequence.
    pub seq: usize,
    /// Input features.
    pub d_input: usize,
    /// Hidden size.
    pub d_hidden: usize,
    /// Stacked layers.
    pub n_layers: usize,
    /// Whether every layer runs both ways.
    pub bidirectional: bool,
}

/// The anchors' configs A, B and C.
pub const SHAPES: [BenchShape; 3] = [
    BenchShape {
        name: 'A',
        batch: 32,
        seq: 50,
        d_input: 32,
        d_hidden: 128,
        n_layers: 1,
        bidirectional: false,
    },
    BenchShape {
        name: 'B',
        batch: 64,
        seq: 100,
        d_input: 128,
        d_hidden: 256,
        n_layers: 1,
        bidirectional: false,
    },
    BenchShape {
        name: 'C',
        batch: 64,
        seq: 100,
        d_input: 128,
        d_hidden: 256,
        n_layers: 2,
        bidirectional: true,
    },
];

impl BenchShape {
    /// The config named `name` (`A`, `B` or `C`, any case).
    pub fn named(name: &str) -> Result<Self> {
        SHAPES
            .iter()
            .find(|s| name.eq_ignore_ascii_case(&s.name.to_string()))
            .copied()
            .ok_or_else(|| {
                TrainError::invalid("config", format!("unknown config {name:?}: use A, B or C"))
            })
    }

    /// Matmul FLOPs of one forward pass (as the anchors count them: `2 * G * H * (I + H)` per
    /// step, sequence, layer and direction).
    pub fn forward_flops(&self, cell: BenchCell) -> f64 {
        let dirs = if self.bidirectional { 2 } else { 1 };
        let h = self.d_hidden as f64;
        let per_step: f64 = (0..self.n_layers)
            .map(|layer| {
                let i = if layer == 0 {
                    self.d_input
                } else {
                    dirs * self.d_hidden
                } as f64;
                dirs as f64 * 2.0 * cell.gates() as f64 * h * (i + h)
            })
            .sum();
        per_step * (self.seq * self.batch) as f64
    }
}

/// The layer a benchmark runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum BenchCell {
    /// `Rnn` with tanh.
    Rnn,
    /// `Lstm`.
    Lstm,
    /// `Gru` (PyTorch's formulation).
    Gru,
}

impl BenchCell {
    /// The name PyTorch's script uses.
    pub fn name(self) -> &'static str {
        match self {
            BenchCell::Rnn => "RNN",
            BenchCell::Lstm => "LSTM",
            BenchCell::Gru => "GRU",
        }
    }

    /// Parses `rnn`, `lstm` or `gru` (any case).
    pub fn parse(name: &str) -> Result<Self> {
        [BenchCell::Rnn, BenchCell::Lstm, BenchCell::Gru]
            .into_iter()
            .find(|c| name.eq_ignore_ascii_case(c.name()))
            .ok_or_else(|| {
                TrainError::invalid(
                    "cell",
                    format!("unknown cell {name:?}: use rnn, lstm or gru"),
                )
            })
    }

    fn gates(self) -> usize {
        match self {
            BenchCell::Rnn => 1,
            BenchCell::Lstm => 4,
            BenchCell::Gru => 3,
        }
    }
}

/// Forward only, or forward and backward.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum BenchMode {
    /// Forward, outputs read back.
    Fwd,
    /// Forward, then backward of `output.sum()`.
    FwdBwd,
}

impl BenchMode {
    /// The name PyTorch's script uses.
    pub fn name(self) -> &'static str {
        match self {
            BenchMode::Fwd => "fwd",
            BenchMode::FwdBwd => "fwdbwd",
        }
    }

    /// Parses `fwd` or `fwdbwd`.
    pub fn parse(name: &str) -> Result<Self> {
        match name {
            "fwd" => Ok(BenchMode::Fwd),
            "fwdbwd" | "fwd+bwd" => Ok(BenchMode::FwdBwd),
            _ => Err(TrainError::invalid(
                "mode",
                format!("unknown mode {name:?}: use fwd or fwdbwd"),
            )),
        }
    }
}

/// What to measure.
#[derive(Debug, Clone)]
pub struct BenchOptions {
    /// Configs to run.
    pub shapes: Vec<BenchShape>,
    /// Layers to run.
    pub cells: Vec<BenchCell>,
    /// Modes to run.
    pub modes: Vec<BenchMode>,
    /// Timed runs per measurement (the median is kept).
    pub reps: usize,
    /// Rounds per config and layer, each timing PyTorch and then ours afresh; each side's
    /// fastest round counts (interference on a shared machine only ever slows a run down).
    pub rounds: usize,
    /// Untimed runs before them.
    pub warmup: usize,
    /// Whether to time the composite path (burn ops) too.
    pub composite: bool,
    /// The device ours runs on.
    pub device: Device,
    /// Python to run PyTorch with (`None`: skip PyTorch).
    pub python: Option<PathBuf>,
    /// `scripts/torch_rnn_bench.py`.
    pub script: PathBuf,
    /// Threads PyTorch may use (ours uses rayon's pool, one thread per core).
    pub threads: usize,
}

/// One line of the table: times in milliseconds (medians of the fastest round).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct BenchRow {
    /// Config.
    pub shape: char,
    /// Layer.
    pub cell: BenchCell,
    /// Mode.
    pub mode: BenchMode,
    /// Ours, fused kernels.
    pub ours_ms: f64,
    /// Ours, composite path.
    pub composite_ms: Option<f64>,
    /// PyTorch.
    pub torch_ms: Option<f64>,
    /// Matmul GFLOP of the work (3x forward for fwd+bwd).
    pub gflop: f64,
}

impl BenchRow {
    /// PyTorch's time over ours: above 1 we are faster.
    pub fn speed_vs_torch(&self) -> Option<f64> {
        self.torch_ms.map(|t| t / self.ours_ms)
    }

    /// The composite path's time over the fused one.
    pub fn speed_vs_composite(&self) -> Option<f64> {
        self.composite_ms.map(|t| t / self.ours_ms)
    }
}

/// Largest share of the machine's CPU time other processes may take during a measurement
/// before it is taken again (as `scripts/benchutil.py` does for PyTorch).
const MAX_FOREIGN: f64 = 0.03;
/// Attempts per measurement; the one with the least foreign load counts when none is quiet.
const TRIES: usize = 4;

/// CPU seconds spent by the whole machine (busy, from `/proc/stat`) and by this process and
/// its waited-for children (`/proc/self/stat`). `None` off Linux. Linux reports both in
/// `USER_HZ` ticks, which is 100 on every architecture it supports.
fn cpu_seconds() -> Option<(f64, f64)> {
    const HZ: f64 = 100.0;
    let stat = std::fs::read_to_string("/proc/stat").ok()?;
    let fields: Vec<f64> = stat
        .lines()
        .next()?
        .split_whitespace()
        .skip(1)
        .filter_map(|v| v.parse().ok())
        .collect();
    // user nice system idle iowait irq softirq ...
    let busy =
        fields.first()? + fields.get(1)? + fields.get(2)? + fields.get(5)? + fields.get(6)?;
    let own = std::fs::read_to_string("/proc/self/stat").ok()?;
    // The fields after the command name (which may hold spaces) start at field 3.
    let after = own.rsplit_once(')')?.1;
    let own: Vec<f64> = after
        .split_whitespace()
        .filter_map(|v| v.parse().ok())
        .collect();
    // utime, stime, cutime, cstime are fields 14..=17 (11..=14 after the state field).
    let own_ticks: f64 = own.get(10..14)?.iter().sum();
    Some((busy / HZ, own_ticks / HZ))
}

/// Median wall time of `f` in milliseconds, on a quiet machine: taken again (up to [`TRIES`]
/// times) when other processes used more than [`MAX_FOREIGN`] of the CPUs meanwhile.
fn median_ms(reps: usize, warmup: usize, mut f: impl FnMut()) -> f64 {
    let cpus = std::thread::available_parallelism().map_or(1, |n| n.get()) as f64;
    let mut best: Option<(f64, f64)> = None;
    for _ in 0..TRIES {
        let before = cpu_seconds();
        let start = Instant::now();
        let ms = median_ms_once(reps, warmup, &mut f);
        let wall = start.elapsed().as_secs_f64();
        let foreign = match (before, cpu_seconds()) {
            (Some((b0, o0)), Some((b1, o1))) => ((b1 - b0) - (o1 - o0)).max(0.0) / (wall * cpus),
            _ => 0.0,
        };
        if best.is_none_or(|(f, _)| foreign < f) {
            best = Some((foreign, ms));
        }
        if foreign <= MAX_FOREIGN {
            break;
        }
    }
    best.map_or(f64::NAN, |(_, ms)| ms)
}

/// Median wall time of `f` in milliseconds, once.
fn median_ms_once(reps: usize, warmup: usize, mut f: impl FnMut()) -> f64 {
    for _ in 0..warmup {
        f();
    }
    let mut times: Vec<f64> = (0..reps.max(1))
        .map(|_| {
            let start = Instant::now();
            f();
            start.elapsed().as_secs_f64() * 1e3
        })
        .collect();
    times.sort_by(f64::total_cmp);
    times[times.len() / 2]
}

fn time_layer<L: RecurrentLayer>(
    layer: &L,
    mode: BenchMode,
    x: &Tensor<3>,
    reps: usize,
    warmup: usize,
) -> f64 {
    match mode {
        BenchMode::Fwd => median_ms(reps, warmup, || {
            let (out, _) = layer.forward_input(SequenceInput::new(x.clone()));
            // Waits for the work (a lazy backend's queue) without copying the output out, as
            // PyTorch's script times its forward.
            out.device()
                .sync()
                .expect("the backend finishes the forward pass");
        }),
        BenchMode::FwdBwd => median_ms(reps, warmup, || {
            let (out, _) = layer.forward_input(SequenceInput::new(x.clone()));
            let grads = out.sum().backward();
            drop(grads);
        }),
    }
}

/// Times one layer: fused, and composite when asked.
fn time_ours(
    options: &BenchOptions,
    shape: &BenchShape,
    cell: BenchCell,
    mode: BenchMode,
) -> (f64, Option<f64>) {
    let device = match mode {
        BenchMode::Fwd => options.device.clone(),
        BenchMode::FwdBwd => options.device.clone().autodiff(),
    };
    let x = Tensor::<3>::random(
        [shape.batch, shape.seq, shape.d_input],
        Distribution::Uniform(-1.0, 1.0),
        &device,
    );
    let run = |layer: &dyn Fn() -> f64| -> (f64, Option<f64>) {
        fused::set_enabled(true);
        let ours = layer();
        let composite = options.composite.then(|| {
            fused::set_enabled(false);
            let t = layer();
            fused::set_enabled(true);
            t
        });
        (ours, composite)
    };
    let (reps, warmup) = (options.reps, options.warmup);
    match cell {
        BenchCell::Rnn => {
            let layer = RnnConfig::new(shape.d_input, shape.d_hidden)
                .with_n_layers(shape.n_layers)
                .with_bidirectional(shape.bidirectional)
                .init(&device);
            run(&|| time_layer(&layer, mode, &x, reps, warmup))
        }
        BenchCell::Lstm => {
            let layer = LstmConfig::new(shape.d_input, shape.d_hidden)
                .with_n_layers(shape.n_layers)
                .with_bidirectional(shape.bidirectional)
                .init(&device);
            run(&|| time_layer(&layer, mode, &x, reps, warmup))
        }
        BenchCell::Gru => {
            let layer = GruConfig::new(shape.d_input, shape.d_hidden)
                .with_n_layers(shape.n_layers)
                .with_bidirectional(shape.bidirectional)
                .init(&device);
            run(&|| time_layer(&layer, mode, &x, reps, warmup))
        }
    }
}

/// One row of the PyTorch script's JSON output.
#[derive(Debug, Deserialize)]
struct TorchRow {
    config: String,
    cell: String,
    mode: String,
    median_ms: f64,
}

/// Runs PyTorch's script and returns its medians, or why it could not.
/// PyTorch's times for one config and layer (every mode asked for).
fn run_torch(
    options: &BenchOptions,
    python: &Path,
    shape: &BenchShape,
    cell: BenchCell,
) -> Result<Vec<TorchRow>> {
    let out =
        std::env::temp_dir().join(format!("recurrent-torch-bench-{}.json", std::process::id()));
    let join = |items: Vec<String>| items.join(",");
    let status = Command::new(python)
        .arg(&options.script)
        .args(["--threads", &options.threads.to_string()])
        .args(["--reps", &options.reps.to_string()])
        .args(["--warmup", &options.warmup.to_string()])
        .args(["--configs", &shape.name.to_string()])
        .args(["--cells", cell.name()])
        .args([
            "--modes",
            &join(options.modes.iter().map(|m| m.name().to_string()).collect()),
        ])
        .arg("--json")
        .arg(&out)
        .status()
        .map_err(|source| TrainError::Io {
            path: python.to_path_buf(),
            source,
        })?;
    if !status.success() {
        return Err(TrainError::invalid(
            "pytorch benchmark",
            format!(
                "{} {} exited with {status}",
                python.display(),
                options.script.display()
            ),
        ));
    }
    let text = std::fs::read_to_string(&out).map_err(|source| TrainError::Io {
        path: out.clone(),
        source,
    })?;
    let _ = std::fs::remove_file(&out);
    serde_json::from_str(&text)
        .map_err(|e| TrainError::invalid("pytorch benchmark", format!("{}: {e}", out.display())))
}

/// A Python that imports `torch`: `$RECURRENT_PYTHON`, else `python3` on the PATH.
pub fn find_torch_python() -> Option<PathBuf> {
    let candidate = std::env::var_os("RECURRENT_PYTHON")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from("python3"));
    let ok = Command::new(&candidate)
        .args(["-c", "import torch"])
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .status()
        .is_ok_and(|s| s.success());
    ok.then_some(candidate)
}

/// Runs every measurement, config by config and layer by layer: PyTorch's (when a Python with
/// torch is given) right before ours, so that both see the same state of a shared machine.
/// `progress` receives each finished row.
pub fn run(options: &BenchOptions, mut progress: impl FnMut(&BenchRow)) -> Result<Vec<BenchRow>> {
    let mut rows = Vec::new();
    for shape in &options.shapes {
        for &cell in &options.cells {
            // Per mode: the fastest ours, composite and PyTorch time over the rounds.
            let mut best: Vec<(f64, Option<f64>, Option<f64>)> =
                vec![(f64::INFINITY, None, None); options.modes.len()];
            for _ in 0..options.rounds.max(1) {
                let torch = match &options.python {
                    Some(python) => run_torch(options, python, shape, cell)?,
                    None => Vec::new(),
                };
                for (slot, &mode) in best.iter_mut().zip(&options.modes) {
                    let (ours_ms, composite_ms) = time_ours(options, shape, cell, mode);
                    let torch_ms = torch
                        .iter()
                        .find(|r| {
                            r.config == shape.name.to_string()
                                && r.cell == cell.name()
                                && r.mode == mode.name()
                        })
                        .map(|r| r.median_ms);
                    *slot = (
                        slot.0.min(ours_ms),
                        least(slot.1, composite_ms),
                        least(slot.2, torch_ms),
                    );
                }
            }
            for (&mode, (ours_ms, composite_ms, torch_ms)) in options.modes.iter().zip(best) {
                let factor = if mode == BenchMode::FwdBwd { 3.0 } else { 1.0 };
                let row = BenchRow {
                    shape: shape.name,
                    cell,
                    mode,
                    ours_ms,
                    composite_ms,
                    torch_ms,
                    gflop: factor * shape.forward_flops(cell) / 1e9,
                };
                progress(&row);
                rows.push(row);
            }
        }
    }
    Ok(rows)
}

/// The smaller of two optional times.
fn least(a: Option<f64>, b: Option<f64>) -> Option<f64> {
    match (a, b) {
        (Some(a), Some(b)) => Some(a.min(b)),
        (a, b) => a.or(b),
    }
}

/// The geometric mean of the finite positive values, if any.
pub fn geometric_mean(values: impl Iterator<Item = f64>) -> Option<f64> {
    let logs: Vec<f64> = values
        .filter(|v| v.is_finite() && *v > 0.0)
        .map(f64::ln)
        .collect();
    (!logs.is_empty()).then(|| (logs.iter().sum::<f64>() / logs.len() as f64).exp())
}

/// Peak memory of one training step (forward and backward) of config B's LSTM.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct PeakMemory {
    /// Growth of our peak resident set over the step, MiB.
    pub ours_mib: f64,
    /// The same for PyTorch (`scripts/torch_peak_mem.py`), when run.
    pub torch_mib: Option<f64>,
}

/// A field of `/proc/self/status` in KiB (`VmRSS`, `VmHWM`); `None` off Linux.
fn status_kib(field: &str) -> Option<f64> {
    let text = std::fs::read_to_string("/proc/self/status").ok()?;
    text.lines()
        .find(|l| l.starts_with(field) && l[field.len()..].starts_with(':'))
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|v| v.parse().ok())
}

/// Our side of [`peak_memory`], to run in a process of its own (allocators keep freed memory,
/// so a process that has already run other work would reuse it and show no growth): the
/// growth of the peak resident set over one config-B LSTM training step on `device`, in MiB,
/// with the model and its input already allocated. `None` off Linux.
pub fn peak_memory_probe(device: &Device) -> Option<f64> {
    let shape = SHAPES[1];
    let device = device.clone().autodiff();
    let layer = LstmConfig::new(shape.d_input, shape.d_hidden).init(&device);
    let x = Tensor::<3>::random(
        [shape.batch, shape.seq, shape.d_input],
        Distribution::Uniform(-1.0, 1.0),
        &device,
    );
    let _ = x.to_data();
    std::fs::write("/proc/self/clear_refs", "5").ok()?;
    let base = status_kib("VmRSS")?;
    let (out, _) = layer.forward_input(SequenceInput::new(x));
    drop(out.sum().backward());
    Some((status_kib("VmHWM")? - base) / 1024.0)
}

/// Peak memory of one config-B LSTM training step: ours from `probe` (a command running
/// [`peak_memory_probe`] in a fresh process and printing its number) and PyTorch's
/// (`scripts/torch_peak_mem.py`, when a Python with torch is given). `None` when our probe
/// gives no number (not Linux).
pub fn peak_memory(options: &BenchOptions, mut probe: Command) -> Option<PeakMemory> {
    let out = probe.output().ok()?;
    let ours_mib = String::from_utf8_lossy(&out.stdout).trim().parse().ok()?;
    let torch_mib = options.python.as_ref().and_then(|python| {
        let script = options.script.with_file_name("torch_peak_mem.py");
        let out = Command::new(python)
            .arg(script)
            .args(["--threads", &options.threads.to_string()])
            .output()
            .ok()?;
        let value: serde_json::Value = serde_json::from_slice(&out.stdout).ok()?;
        value.get("peak_mib")?.as_f64()
    });
    Some(PeakMemory {
        ours_mib,
        torch_mib,
    })
}

/// The Markdown table of `rows`.
pub fn table(rows: &[BenchRow]) -> String {
    let mut out = String::from(
        "| config | cell | mode | ours (fused) ms | composite ms | PyTorch ms | speed vs PyTorch | fused vs composite | ours GFLOP/s |\n|---|---|---|---|---|---|---|---|---|\n",
    );
    let ms = |v: Option<f64>| v.map_or("—".to_string(), |v| format!("{v:.2}"));
    let ratio = |v: Option<f64>| v.map_or("—".to_string(), |v| format!("{v:.2}x"));
    for r in rows {
        out.push_str(&format!(
            "| {} | {} | {} | {:.2} | {} | {} | {} | {} | {:.0} |\n",
            r.shape,
            r.cell.name(),
            if r.mode == BenchMode::Fwd {
                "fwd"
            } else {
                "fwd+bwd"
            },
            r.ours_ms,
            ms(r.composite_ms),
            ms(r.torch_ms),
            ratio(r.speed_vs_torch()),
            ratio(r.speed_vs_composite()),
            r.gflop / (r.ours_ms / 1e3),
        ));
    }
    out
}

/// Where and on what a report was measured.
#[derive(Debug, Clone)]
pub struct ReportContext {
    /// The command that produced it.
    pub command: String,
    /// The machine (CPU model, cores).
    pub machine: String,
    /// The commit measured.
    pub commit: String,
    /// The backend ours ran on.
    pub backend: String,
    /// PyTorch's version, or why it was not run.
    pub torch: String,
    /// This machine's SGEMM speed in GFLOP/s ([`sgemm_peak`]), measured in the same run.
    pub sgemm_gflops: Option<f64>,
}

/// Side of the square matrices [`sgemm_peak`] multiplies.
const SGEMM_SIZE: usize = 2048;

/// This machine's SGEMM speed: the GFLOP/s of a 2048 x 2048 x 2048 f32 product with the GEMM
/// the fused kernels use (all of rayon's threads), the yardstick for how close a recurrent
/// layer comes to the hardware. The fastest of `rounds` medians of `reps` products, as the
/// layers' times are.
pub fn sgemm_peak(reps: usize, rounds: usize) -> f64 {
    let n = SGEMM_SIZE;
    let a: Vec<f32> = (0..n * n).map(|i| ((i % 13) as f32 - 6.0) * 0.1).collect();
    let b: Vec<f32> = (0..n * n).map(|i| ((i % 7) as f32 - 3.0) * 0.1).collect();
    let mut out = vec![0.0; n * n];
    let ms = (0..rounds.max(1))
        .map(|_| {
            median_ms(reps.max(3), 1, || {
                recurrent_cells::fused::sgemm_square(&a, &b, &mut out, n);
            })
        })
        .fold(f64::INFINITY, f64::min);
    2.0 * (n * n * n) as f64 / (ms * 1e-3) / 1e9
}

/// The CPU model and core count from `/proc/cpuinfo` (or what is known elsewhere).
pub fn machine_description() -> String {
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    let model = std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|text| {
            text.lines()
                .find(|l| l.starts_with("model name"))
                .and_then(|l| l.split(':').nth(1))
                .map(|m| m.trim().to_string())
        })
        .unwrap_or_else(|| std::env::consts::ARCH.to_string());
    format!("{model}, {cores} cores available")
}

/// Writes the Markdown report `markdown` (table, geometric means, context) and the bar chart
/// `chart` (PNG, speed relative to PyTorch, or to the composite path without PyTorch), making
/// their folders as needed. Returns whether the chart was drawn: a run with neither PyTorch
/// nor the composite path has no ratio to draw, and its report links no chart.
pub fn write_report(
    rows: &[BenchRow],
    memory: Option<&PeakMemory>,
    context: &ReportContext,
    markdown: &Path,
    chart: &Path,
) -> Result<bool> {
    for path in [markdown, chart] {
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent).map_err(|source| TrainError::Io {
                path: parent.to_path_buf(),
                source,
            })?;
        }
    }
    let vs_torch = rows.iter().any(|r| r.torch_ms.is_some());
    let mut text = String::from("# Benchmarks: recurrent layers on the CPU\n\n");
    text.push_str(
        "Generated by `cargo xtask bench`; do not edit by hand. Times are medians, each side's \
         fastest of the rounds (each round times PyTorch, then ours, afresh: interference on a \
         shared machine only slows a run down); the ratios come from one run on one machine, so \
         they, not the times, are the figures to compare. \"speed vs PyTorch\" is PyTorch's \
         time over ours: above 1 we are faster.\n\n",
    );
    text.push_str(&format!(
        "- command: `{}`\n- machine: {}\n- commit: {}\n- ours: {} backend, fused kernels (medians taken again when other processes loaded the machine, as the PyTorch script does; on rayon's threads, one per core; the process allocator is mimalloc, as in every `cargo xtask` command); composite = the same layers on burn ops (`RECURRENT_FUSED=0`)\n- PyTorch: {}\n\n",
        context.command, context.machine, context.commit, context.backend, context.torch
    ));
    text.push_str(&table(rows));
    if let Some(g) = geometric_mean(rows.iter().filter_map(BenchRow::speed_vs_torch)) {
        text.push_str(&format!(
            "\nGeometric mean of the speed vs PyTorch: **{g:.2}x**.\n"
        ));
    }
    if let Some(g) = geometric_mean(rows.iter().filter_map(BenchRow::speed_vs_composite)) {
        text.push_str(&format!(
            "\nGeometric mean of fused over composite: **{g:.2}x**.\n"
        ));
    }
    let b_lstm_fwd = rows
        .iter()
        .find(|r| r.shape == 'B' && r.cell == BenchCell::Lstm && r.mode == BenchMode::Fwd);
    if let (Some(peak), Some(row)) = (context.sgemm_gflops, b_lstm_fwd) {
        let reached = row.gflop / (row.ours_ms * 1e-3);
        text.push_str(&format!(
            "\n\
SGEMM peak of this machine (a {SGEMM_SIZE}x{SGEMM_SIZE}x{SGEMM_SIZE} f32 product with the GEMM the kernels use, on all threads, same run): {peak:.0} GFLOP/s. Config B LSTM forward reaches {reached:.0} GFLOP/s, **{:.0}%** of it.\n",
            100.0 * reached / peak
        ));
    }
    if let Some(m) = memory {
        let torch = m
            .torch_mib
            .map_or("not measured".to_string(), |t| format!("{t:.0} MiB"));
        text.push_str(&format!(
            "\nPeak memory of one config-B LSTM training step (growth of the peak resident set over the step, each in a fresh process): ours {:.0} MiB, PyTorch {torch}.\n",
            m.ours_mib
        ));
    }
    let bars: Vec<(String, f64)> = rows
        .iter()
        .filter_map(|r| {
            let ratio = if vs_torch {
                r.speed_vs_torch()
            } else {
                r.speed_vs_composite()
            }?;
            let mode = if r.mode == BenchMode::Fwd {
                "fwd"
            } else {
                "fwd+bwd"
            };
            Some((format!("{} {} {mode}", r.shape, r.cell.name()), ratio))
        })
        .collect();
    let drawn = !bars.is_empty();
    if drawn {
        let title = if vs_torch {
            "Speed relative to PyTorch (CPU; above 1 = faster)"
        } else {
            "Fused kernels relative to the composite path"
        };
        crate::plot::bars(chart, title, "speed ratio", &bars, Some(1.0))?;
        let chart_name = chart
            .file_name()
            .map_or_else(String::new, |n| n.to_string_lossy().into_owned());
        text.push_str(&format!(
            "\n![speed relative to the baseline]({chart_name})\n"
        ));
    }
    recurrent_cells::write_atomic(markdown, text.as_bytes())
        .map_err(|e| TrainError::invalid("report", format!("{}: {e}", markdown.display())))?;
    Ok(drawn)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(torch_ms: Option<f64>) -> BenchRow {
        BenchRow {
            shape: 'A',
            cell: BenchCell::Lstm,
            mode: BenchMode::Fwd,
            ours_ms: 2.0,
            composite_ms: None,
            torch_ms,
            gflop: 1.0,
        }
    }

    fn context() -> ReportContext {
        ReportContext {
            command: "cargo xtask bench".into(),
            machine: "test".into(),
            commit: "0000000".into(),
            backend: "flex".into(),
            torch: "test".into(),
            sgemm_gflops: None,
        }
    }

    #[test]
    fn a_report_makes_its_folders_and_links_a_chart_only_when_it_drew_one() {
        let dir = std::env::temp_dir().join(format!("recurrent-report-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        // Folders that do not exist yet, the chart's in another one.
        let (md, png) = (dir.join("a/b/report.md"), dir.join("c/report.png"));
        let drawn = write_report(&[row(Some(3.0))], None, &context(), &md, &png).unwrap();
        assert!(drawn && png.is_file(), "the chart is drawn");
        let text = std::fs::read_to_string(&md).unwrap();
        assert!(text.contains("| 1.50x |"), "{text}");
        assert!(text.contains("](report.png)"), "{text}");
        // No PyTorch and no composite times: no ratio, no chart, no link to one.
        let (md, png) = (dir.join("d/report.md"), dir.join("d/report.png"));
        let drawn = write_report(&[row(None)], None, &context(), &md, &png).unwrap();
        assert!(!drawn && !png.exists());
        let text = std::fs::read_to_string(&md).unwrap();
        assert!(!text.contains("report.png"), "{text}");
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn the_least_of_two_optional_times_ignores_a_missing_one() {
        assert_eq!(least(Some(2.0), Some(1.5)), Some(1.5));
        assert_eq!(least(Some(2.0), None), Some(2.0));
        assert_eq!(least(None, Some(3.0)), Some(3.0));
        assert_eq!(least(None, None), None);
    }
}
