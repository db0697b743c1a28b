"""Drives bench/side-by-side.sh: Longbow's and PyTorch's servers, one per thread count each,
interleaved on the same workloads (A B B A within a round, the order flipped every round); prints
medians, ranges and ratios as Markdown, and the spread of the machine's FMA rate, probed before
every round, beside them.

Quiet-machine rule: before the first round it waits until the 1-minute load average is below
--max-load; during every round it measures the CPU time that processes other than the four
servers took (from /proc), and a round in which they took more than --max-foreign CPUs on average
is discarded and run again after the machine is quiet once more.
"""
import argparse
import os
import statistics
import subprocess
import sys
import time

HEADS = 8
ATTENTION = [(s, d, p) for d in (64, 128) for s in (4096, 16384) for p in ("fwd", "fwdbwd")]
TRAIN = [(m, s) for m in ("tiny", "small") for s in (4096, 16384)]
PROBE_WINDOWS = 100


class Server:
    def __init__(self, name, argv, env=None):
        self.name = name
        self.proc = subprocess.Popen(argv, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, env=env, bufsize=1)
        self.hello = self.proc.stdout.readline().strip()
        if not self.hello.startswith("ready"):
            raise SystemExit(f"{name} did not start: {self.hello!r}")

    def run(self, command):
        self.proc.stdin.write(command + "\n")
        line = self.proc.stdout.readline()
        if not line:
            raise SystemExit(f"{self.name} died on: {command}")
        return [float(x) for x in line.split()]

    def run_raw(self, command):
        self.proc.stdin.write(command + "\n")
        return self.proc.stdout.readline().strip()

    def cpu_ticks(self):
        with open(f"/proc/{self.proc.pid}/stat") as f:
            fields = f.read().rsplit(")", 1)[1].split()
        return int(fields[11]) + int(fields[12]) + int(fields[13]) + int(fields[14])

    def close(self):
        try:
            self.proc.stdin.write("quit\n")
            self.proc.stdin.flush()
            self.proc.wait(timeout=60)
        except (BrokenPipeError, subprocess.TimeoutExpired):
            self.proc.kill()


def busy_ticks():
    with open("/proc/stat") as f:
        v = [int(x) for x in f.readline().split()[1:]]
    return sum(v) - v[3] - v[4]  # all but idle and iowait


def wait_quiet(max_load, log):
    while os.getloadavg()[0] >= max_load:
        log(f"waiting: 1-minute load average {os.getloadavg()[0]:.2f} >= {max_load}")
        time.sleep(120)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--jar", required=True)
    ap.add_argument("--java", required=True)
    ap.add_argument("--root", required=True)
    ap.add_argument("--threads", type=int, nargs="+", default=[1, 2])
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--parts", nargs="+", default=["attention", "train"])
    ap.add_argument("--sizes", type=int, nargs="+", default=[4096, 16384])
    ap.add_argument("--max-load", type=float, default=1.0)
    ap.add_argument("--max-foreign", type=float, default=0.2, help="CPUs other processes may use during a round")
    ap.add_argument("--peak", type=float, default=0.0, help="fp32 FMA peak per core in GFLOP/s, for the %% of peak column")
    a = ap.parse_args()
    log = lambda m: print(f"[{time.strftime('%H:%M:%S')}] {m}", file=sys.stderr, flush=True)

    # Both frameworks' native memory comes from glibc malloc; both keep what they free, so that a
    # workload does not page-fault in memory the previous one gave back (~10 us a page here).
    keep_freed = {"GLIBC_TUNABLES": "glibc.malloc.mmap_threshold=4294967296:glibc.malloc.trim_threshold=68719476736"}
    peer_env = {"PATH": "/usr/bin:/bin", "OPENBLAS_NUM_THREADS": "1", "OPENBLAS_CORETYPE": "SkylakeX", **keep_freed}
    servers = {}
    for n in a.threads:
        servers[("longbow", n)] = Server(f"longbow x{n}", [a.java, "--add-modules", "jdk.incubator.vector",
                                          "--enable-native-access=ALL-UNNAMED", "-Xmx16g", f"-Dlongbow.cpu.threads={n}",
                                          "-cp", a.jar, "dev.longbow.bench.sidebyside.LongbowPeerServer"],
                                         env={**os.environ, **keep_freed})
        servers[("torch", n)] = Server(f"pytorch x{n}", ["chroot", a.root, "env", f"OMP_NUM_THREADS={n}"]
                                       + [f"{k}={v}" for k, v in peer_env.items()]
                                       + ["python3", "/opt/longbow-peer/torch_peer.py", str(n)])
    lanes = servers[("longbow", a.threads[0])].hello.split("lanes=")[1].split()[0]

    work = []
    if "attention" in a.parts:
        work += [("attn", s, d, p) for (s, d, p) in ATTENTION if s in a.sizes]
    if "train" in a.parts:
        work += [("train", m, s) for (m, s) in TRAIN if s in a.sizes]

    def command(w, reps):
        return " ".join(map(str, w + (reps,)))

    log("warm-up: every workload once on every server, at 4096 tokens; the FMA probe once")
    for n in a.threads:
        servers[("longbow", n)].run(f"probe {PROBE_WINDOWS}")
    for w in {(x[0], 4096) + x[2:] if x[0] == "attn" else (x[0], x[1], 4096) for x in work}:
        for srv in servers.values():
            srv.run(command(w, 1))

    results = {}  # (framework, threads, work) -> samples (ms), two per round
    foreign_log = []
    probes = {}  # threads -> FMA GFLOP/s per thread, window by window
    wait_quiet(a.max_load, log)
    started = time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime())
    load_before = os.getloadavg()
    r = 0
    while r < a.rounds:
        t0, b0 = time.time(), busy_ticks()
        own0 = sum(s.cpu_ticks() for s in servers.values())
        round_probes = {n: servers[("longbow", n)].run(f"probe {PROBE_WINDOWS}") for n in a.threads}
        round_values = {}
        for n in a.threads:
            for w in work:
                # A B B A, one repetition each: a slow stretch of the machine (here the two vCPUs
                # at times share one physical core, halving the FMA rate for tens of milliseconds
                # to seconds) lands on both frameworks alike, and the order flips every round.
                a_, b_ = ("longbow", "torch") if r % 2 == 0 else ("torch", "longbow")
                for fw in (a_, b_, b_, a_):
                    round_values.setdefault((fw, n, w), []).extend(servers[(fw, n)].run(command(w, 1)))
        hz = os.sysconf("SC_CLK_TCK")
        foreign = ((busy_ticks() - b0) - (sum(s.cpu_ticks() for s in servers.values()) - own0)) / hz / (time.time() - t0)
        log(f"round {r + 1}: {time.time() - t0:.0f} s, other processes used {foreign:.2f} CPUs, load {os.getloadavg()[0]:.2f}")
        if foreign > a.max_foreign:
            log("round discarded: the machine was not quiet")
            time.sleep(60)
            wait_quiet(a.max_load, log)
            continue
        foreign_log.append(foreign)
        for k, v in round_values.items():
            results.setdefault(k, []).extend(v)
        for n, v in round_probes.items():
            probes.setdefault(n, []).extend(v)
        r += 1
    profiles = {}
    for w in (x for x in work if x[0] == "train"):
        for n in a.threads:
            line = servers[("longbow", n)].run_raw(f"profile {w[1]} {w[2]} 2")
            profiles[(w[1], w[2], n)] = {k: float(v) for k, v in (kv.split("=") for kv in line.split(";"))}
    for s in servers.values():
        s.close()

    model = next((l.split(":", 1)[1].strip() for l in subprocess.run(["lscpu"], capture_output=True, text=True).stdout.splitlines()
                  if l.startswith("Model name")), "?")
    print(f"Machine: {model}, {os.cpu_count()} CPUs, Vector API {lanes} float lanes. Taken {started}, {a.rounds} rounds, "
          f"1-minute load average {load_before[0]:.2f} before; other processes used at most {max(foreign_log):.2f} CPUs in a round.")
    for n, v in probes.items():
        q = statistics.quantiles(v, n=10)
        print(f"FMA probe at {n} thread(s), before every round: {statistics.median(v):.0f} GFLOP/s per thread median, "
              f"10th percentile {q[0]:.0f}, min {min(v):.0f} ({len(v)} windows of ~20 ms).")
    print(f"Values: median of {2 * a.rounds} runs (two per round, in A B B A order with the peer), range in brackets; "
          "ratio = PyTorch time / Longbow time (above 1: Longbow faster).\n")

    def fmt(v):
        return f"{statistics.median(v):.1f} [{min(v):.1f}-{max(v):.1f}]"

    attn = [w for w in work if w[0] == "attn"]
    if attn:
        print("| S, D | pass | threads | Longbow ms | PyTorch ms | Longbow / PyTorch | Longbow GFLOP/s | PyTorch GFLOP/s |"
              + (" Longbow % of peak |" if a.peak else ""))
        print("|---|---|---|---|---|---|---|---|" + ("---|" if a.peak else ""))
        for w in attn:
            _, s, d, p = w
            flops = 2.0 * HEADS * s * s * d * (3.5 if p == "fwdbwd" else 1)
            for n in a.threads:
                lb, pt = results[("longbow", n, w)], results[("torch", n, w)]
                glb, gpt = flops / statistics.median(lb) / 1e6, flops / statistics.median(pt) / 1e6
                row = (f"| {s}, {d} | {p.replace('fwdbwd', 'fwd+bwd')} | {n} | {fmt(lb)} | {fmt(pt)} | "
                       f"{statistics.median(pt) / statistics.median(lb):.2f} | {glb:.0f} | {gpt:.0f} |")
                print(row + (f" {100 * glb / (a.peak * n):.0f}% |" if a.peak else ""))
        print()
    train = [w for w in work if w[0] == "train"]
    if train:
        print("| model | sequence | threads | Longbow step ms | PyTorch step ms | Longbow tokens/s | PyTorch tokens/s | Longbow / PyTorch |")
        print("|---|---|---|---|---|---|---|---|")
        for w in train:
            _, m, s = w
            for n in a.threads:
                lb, pt = results[("longbow", n, w)], results[("torch", n, w)]
                print(f"| {m} | {s} | {n} | {fmt(lb)} | {fmt(pt)} | {s / statistics.median(lb) * 1e3:.0f} | "
                      f"{s / statistics.median(pt) * 1e3:.0f} | {statistics.median(pt) / statistics.median(lb):.2f} |")
        if profiles:
            print("\nWhere Longbow's step goes (share of JFR samples over two steps, after the rounds):\n")
            keys = list(next(iter(profiles.values())).keys())
            print("| model, sequence, threads | " + " | ".join(keys) + " |")
            print("|---|" + "---|" * len(keys))
            for (m, s, n), shares in profiles.items():
                print(f"| {m}, {s}, {n} | " + " | ".join(f"{shares[k]:.0f}%" for k in keys) + " |")


if __name__ == "__main__":
    main()
