# Copied from the project's speed anchors (shared/anchors/, written by this team) so that
# `cargo xtask bench` can rerun PyTorch beside ours from a fresh clone.
"""Helpers to get trustworthy timings on a small shared 2-core VM.

Set BENCH_NO_WAIT=1 to skip waiting for a quiet machine (smoke tests only).

Other processes (cargo builds, pip builds) may run on the same machine. We
 * wait until the machine is quiet before a measurement (wait_quiet), and
 * measure how much CPU *other* processes used during it (ForeignLoad):
   foreign = (busy jiffies of all CPUs, from /proc/stat) - (our own CPU time, os.times)
   expressed as a fraction of wall * ncpu. A measurement with foreign > ~3% is suspect.
"""
import os
import statistics
import time

_HZ = os.sysconf("SC_CLK_TCK")
NCPU = os.cpu_count() or 1


def _cpu_busy_idle():
    with open("/proc/stat") as f:
        parts = f.readline().split()[1:]
    vals = [int(x) for x in parts]
    # user nice system idle iowait irq softirq steal guest guest_nice
    idle = vals[3] + vals[4]
    steal = vals[7] if len(vals) > 7 else 0
    busy = vals[0] + vals[1] + vals[2] + vals[5] + vals[6]
    return busy / _HZ, idle / _HZ, steal / _HZ


def _own_cpu():
    t = os.times()
    return t.user + t.system + t.children_user + t.children_system


class ForeignLoad:
    """Context manager: .foreign = fraction of machine CPU used by other processes."""

    def __enter__(self):
        self.b0, self.i0, self.s0 = _cpu_busy_idle()
        self.o0 = _own_cpu()
        self.w0 = time.perf_counter()
        return self

    def __exit__(self, *exc):
        b1, i1, s1 = _cpu_busy_idle()
        o1 = _own_cpu()
        wall = time.perf_counter() - self.w0
        self.wall = wall
        self.own = (o1 - self.o0) / max(wall * NCPU, 1e-9)
        self.busy = (b1 - self.b0) / max(wall * NCPU, 1e-9)
        self.steal = (s1 - self.s0) / max(wall * NCPU, 1e-9)
        self.foreign = max(0.0, self.busy - self.own)
        return False


def machine_busy(window=1.0):
    """Fraction of all CPUs busy (by anyone but us) over `window` seconds."""
    with ForeignLoad() as fl:
        time.sleep(window)
    return fl.foreign


def wait_quiet(threshold=0.05, window=1.0, timeout=600, verbose=True):
    """Block until other processes use < threshold of the machine for `window` s."""
    if os.environ.get("BENCH_NO_WAIT"):
        return machine_busy(0.2)
    t0 = time.time()
    waited = False
    while True:
        b = machine_busy(window)
        if b < threshold:
            if waited and verbose:
                print(f"  [quiet after {time.time()-t0:.0f}s]", flush=True)
            return b
        if time.time() - t0 > timeout:
            if verbose:
                print(f"  [WARNING: machine still {b*100:.0f}% busy after {timeout}s; measuring anyway]", flush=True)
            return b
        if not waited and verbose:
            print(f"  [machine {b*100:.0f}% busy by other processes; waiting]", flush=True)
        waited = True


def timeit(fn, reps=10, warmup=3, min_time=0.0):
    """Run fn warmup times, then >= reps times (and >= min_time s). Returns list of seconds."""
    for _ in range(warmup):
        fn()
    times = []
    total = 0.0
    while len(times) < reps or total < min_time:
        t0 = time.perf_counter()
        fn()
        dt = time.perf_counter() - t0
        times.append(dt)
        total += dt
    return times


def measure(fn, reps=10, warmup=3, min_time=0.0, max_foreign=0.03, tries=4, quiet_threshold=0.05):
    """Time fn on a quiet machine; retry if others used > max_foreign of the CPUs.

    Returns dict(median, min, max, n, foreign, tries)."""
    best = None
    if os.environ.get("BENCH_NO_WAIT"):
        tries = 1
    for attempt in range(1, tries + 1):
        wait_quiet(quiet_threshold)
        with ForeignLoad() as fl:
            ts = timeit(fn, reps=reps, warmup=warmup, min_time=min_time)
        r = dict(median=statistics.median(ts), min=min(ts), max=max(ts), n=len(ts),
                 foreign=fl.foreign, steal=fl.steal, tries=attempt)
        if best is None or r["foreign"] < best["foreign"]:
            best = r
        if fl.foreign <= max_foreign:
            return r
        print(f"  [retry: foreign load {fl.foreign*100:.1f}% during measurement]", flush=True)
    return best
