//! Measures the cost of single burn ops on flex (a development aid for the cells).
use burn::tensor::{
    Device, Distribution, Tensor,
    activation::{sigmoid, tanh},
};
use std::time::Instant;
fn time<F: FnMut()>(name: &str, n: usize, mut f: F) {
    for _ in 0..3 {
        f();
    }
    let t = Instant::now();
    for _ in 0..n {
        f();
    }
    println!(
        "{name:40} {:8.1} us",
        t.elapsed().as_secs_f64() * 1e6 / n as f64
    );
}
fn main() {
    let d = Device::flex();
    let r = |s: [usize; 2]| Tensor::<2>::random(s, Distribution::Uniform(-1., 1.), &d);
    let x = r([3200, 32]);
    let w = r([32, 512]);
    let h = r([32, 128]);
    let whh = r([128, 512]);
    let g = r([32, 512]);
    let s = r([32, 128]);
    time("proj 3200x32x512", 20, || {
        x.clone().matmul(w.clone()).into_data();
    });
    let x3 = Tensor::<3>::random([50, 32, 32], Distribution::Uniform(-1., 1.), &d);
    time("proj batched 50x[32x32x512]", 20, || {
        x3.clone()
            .matmul(w.clone().unsqueeze_dim::<3>(0))
            .into_data();
    });
    let xs = r([32, 32]);
    time("step proj 32x32x512 (x50)", 20, || {
        for _ in 0..50 {
            xs.clone().matmul(w.clone()).into_data();
        }
    });
    for chunk in [64usize, 160, 320, 640, 1600] {
        time(&format!("proj in chunks of {chunk} rows"), 10, || {
            let parts: Vec<_> = x
                .clone()
                .split(chunk, 0)
                .into_iter()
                .map(|c| c.matmul(w.clone()))
                .collect();
            Tensor::cat(parts, 0).into_data();
        });
    }
    let w1024 = r([32, 1024]);
    time("proj 3200x32x1024", 10, || {
        x.clone().matmul(w1024.clone()).into_data();
    });
    let x128 = r([3200, 128]);
    time("proj 3200x128x512", 10, || {
        x128.clone().matmul(whh.clone()).into_data();
    });
    let wt = r([512, 32]);
    time("proj via W x^T  512x32x3200", 20, || {
        wt.clone().matmul(x.clone().transpose()).into_data();
    });
    time("hidden 32x128x512", 200, || {
        h.clone().matmul(whh.clone()).into_data();
    });
    time("sigmoid [32,512]", 200, || {
        sigmoid(g.clone()).into_data();
    });
    time("tanh [32,512]", 200, || {
        tanh(g.clone()).into_data();
    });
    time("tanh [32,128]", 200, || {
        tanh(s.clone()).into_data();
    });
    time("2*sig(2x)-1 [32,128]", 200, || {
        (sigmoid(s.clone() * 2.0) * 2.0 - 1.0).into_data();
    });
    time("sigmoid [32,128]", 200, || {
        sigmoid(s.clone()).into_data();
    });
    time("mul [32,128]", 200, || {
        (s.clone() * s.clone()).into_data();
    });
    time("narrow+mul [32,128]", 200, || {
        (g.clone().narrow(1, 128, 128) * s.clone()).into_data();
    });
    time("add bcast [32,512]+[1,512]", 200, || {
        (g.clone() + w.clone().narrow(0, 0, 1)).into_data();
    });
    time("exp [32,512]", 200, || {
        g.clone().exp().into_data();
    });
    time("recip(1+exp(-clamp x)) [32,512]", 200, || {
        (g.clone().clamp(-80.0, 80.0).neg().exp() + 1.0)
            .recip()
            .into_data();
    });
    time("sigmoid [32,512] again", 200, || {
        sigmoid(g.clone()).into_data();
    });
    let nd = {
        #[allow(deprecated)]
        let d = Device::ndarray();
        d
    };
    let xn = Tensor::<2>::random([3200, 32], Distribution::Uniform(-1., 1.), &nd);
    let wn = Tensor::<2>::random([32, 512], Distribution::Uniform(-1., 1.), &nd);
    let xn3 = Tensor::<3>::random([50, 32, 32], Distribution::Uniform(-1., 1.), &nd);
    time("ndarray proj 3200x32x512", 20, || {
        xn.clone().matmul(wn.clone()).into_data();
    });
    time("ndarray proj batched", 20, || {
        xn3.clone()
            .matmul(wn.clone().unsqueeze_dim::<3>(0))
            .into_data();
    });
    let gn = Tensor::<2>::random([32, 512], Distribution::Uniform(-1., 1.), &nd);
    time("ndarray sigmoid [32,512]", 200, || {
        sigmoid(gn.clone()).into_data();
    });
    time("ndarray recip(1+exp(-clamp x))", 200, || {
        (gn.clone().clamp(-80.0, 80.0).neg().exp() + 1.0)
            .recip()
            .into_data();
    });
    time("into_data only", 200, || {
        s.clone().into_data();
    });
}
