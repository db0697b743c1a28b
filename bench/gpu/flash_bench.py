"""Times Longbow's flash attention beside PyTorch's scaled_dot_product_attention (flash backend).

B=1, H=16, D=128, bf16, causal; TFLOP/s with forward FLOPs 2*S*S*D*H (causal half of 4*S*S*D*H)
and backward 2.5x that; the median of many CUDA-event-timed runs after warm-up, all in one run
on one GPU. Longbow's backward is its two kernels (delta, then dq/dk/dv); PyTorch's is the aten
flash backward op that autograd calls. Each size also compares the two outputs and gradients.

    python3 bench/gpu/flash_bench.py [--sizes 4096 16384 65536] [--variants fwd:8,1,128 bwd:BWD_DQ_MIDDLE=0 ...]

--variants builds other versions with nvcc and times them beside the committed PTX:
fwd:NW,MT,BN is flash_fwd.cu with another d128 tile (warps, m-tiles per warp, keys per step);
bwd:NAME=VALUE,... is flash_bwd.cu with those definitions.
"""
import argparse
import json
import os
import statistics
import tempfile

import torch
import torch.nn.functional as F
from torch.nn.attention import SDPBackend, sdpa_kernel

import flash_check
import flash_lib as fl

H, D, DTYPE = 16, 128, torch.bfloat16


def time_ms(fn, reps, warmup=3):
    for _ in range(warmup):
        fn()
    starts = [torch.cuda.Event(enable_timing=True) for _ in range(reps)]
    ends = [torch.cuda.Event(enable_timing=True) for _ in range(reps)]
    for s, e in zip(starts, ends):
        s.record()
        fn()
        e.record()
    torch.cuda.synchronize()
    return statistics.median(s.elapsed_time(e) for s, e in zip(starts, ends))


def reps_for(s):
    return {4096: 50, 16384: 20}.get(s, 10)


class Torch:
    """PyTorch SDPA, flash backend, on [1, H, S, D] views of the same [S, H, D] tensors."""

    def __init__(self, q, k, v, dout, scale):
        view = lambda x: x.unsqueeze(0).transpose(1, 2)
        self.q, self.k, self.v, self.dout, self.scale = view(q), view(k), view(v), view(dout), scale
        self.saved = None

    def forward(self):
        with sdpa_kernel(SDPBackend.FLASH_ATTENTION):
            return F.scaled_dot_product_attention(self.q, self.k, self.v, is_causal=True, scale=self.scale)

    def prepare_backward(self):
        """The aten op autograd calls, so that only the backward kernels are timed; autograd if it is absent."""
        try:
            self.saved = torch.ops.aten._scaled_dot_product_flash_attention(
                self.q, self.k, self.v, 0.0, True, False, scale=self.scale)
            self.backward()
        except (AttributeError, RuntimeError, TypeError) as e:
            print(f"aten flash backward unavailable ({e}); timing autograd instead")
            self.saved = None
            self.leaves = [x.detach().requires_grad_() for x in (self.q, self.k, self.v)]
            with sdpa_kernel(SDPBackend.FLASH_ATTENTION):
                self.graph_out = F.scaled_dot_product_attention(*self.leaves, is_causal=True, scale=self.scale)

    def backward(self):
        if self.saved is None:
            return torch.autograd.grad(self.graph_out, self.leaves, self.dout, retain_graph=True)
        out, lse, cq, ck, mq, mk, seed, off, _ = self.saved
        return torch.ops.aten._scaled_dot_product_flash_attention_backward(
            self.dout, self.q, self.k, self.v, out, lse, cq, ck, mq, mk, 0.0, True, seed, off, scale=self.scale)[:3]


def bench_size(s, flashes, gen, rows):
    rnd = lambda: torch.randn(s, H, D, generator=gen, device="cuda").to(DTYPE)
    q, k, v, dout = rnd(), rnd(), rnd(), rnd()
    scale = fl.default_scale(D)
    flops = fl.causal_flops(s, H, D)
    reps = reps_for(s)
    ref = Torch(q, k, v, dout, scale)
    t_fwd = time_ms(ref.forward, reps)
    ref_out = ref.forward().transpose(1, 2).squeeze(0)
    ref.prepare_backward()
    t_bwd = time_ms(ref.backward, reps)
    rdq, rdk, rdv = (x.transpose(1, 2).squeeze(0) for x in ref.backward())
    rows.append(dict(impl="torch sdpa flash", S=s, fwd_ms=t_fwd, bwd_ms=t_bwd,
                     fwd_tflops=flops / t_fwd / 1e9, bwd_tflops=2.5 * flops / t_bwd / 1e9))

    out = torch.empty(s, H, D, device="cuda", dtype=DTYPE)
    lse = torch.empty(s, H, device="cuda")
    dq, dk, dv = (torch.zeros(s, H, D, device="cuda") for _ in range(3))
    delta = torch.empty(s, H, device="cuda")
    for name, flash in flashes:
        t_fwd = time_ms(lambda: flash.forward(q, k, v, out, lse, scale, True), reps)
        out.fill_(float("nan"))
        flash.forward(q, k, v, out, lse, scale, True)
        bwd = lambda: flash.backward(q, k, v, out, lse, dout, dq, dk, dv, delta, scale, True)
        t_bwd = time_ms(bwd, reps)
        for x in (dq, dk, dv):
            x.zero_()
        bwd()
        rows.append(dict(impl=f"longbow {name}", S=s, fwd_ms=t_fwd, fwd_tflops=flops / t_fwd / 1e9,
                         bwd_ms=t_bwd, bwd_tflops=2.5 * flops / t_bwd / 1e9, out_vs_torch=fl.rel_err(out, ref_out),
                         dq_vs_torch=fl.rel_err(dq, rdq), dk_vs_torch=fl.rel_err(dk, rdk), dv_vs_torch=fl.rel_err(dv, rdv)))
    del q, k, v, dout, out, dq, dk, dv, ref
    torch.cuda.empty_cache()


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--sizes", type=int, nargs="+", default=[4096, 16384, 65536])
    ap.add_argument("--variants", nargs="*", default=[])
    ap.add_argument("--seed", type=int, default=1234)
    ap.add_argument("--json", default=os.path.join(os.environ.get("OUT", "."), "flash_bench.json"))
    args = ap.parse_args()
    print(f"{torch.cuda.get_device_name()}, torch {torch.__version__}, seed {args.seed}", flush=True)
    fwd_ptx, bwd_ptx = fl.committed_ptx("flash_fwd"), fl.committed_ptx("flash_bwd")
    flashes = [("committed", fl.Flash(fwd_ptx, bwd_ptx))]
    tmp = tempfile.mkdtemp()
    for spec in args.variants:
        kind, _, arg = spec.partition(":")
        try:
            if kind == "fwd":
                cfg = tuple(int(x) for x in arg.split(","))
                defines = [f"FWD_D128_NW={cfg[0]}", f"FWD_D128_MT={cfg[1]}", f"FWD_D128_BN={cfg[2]}"]
                flash = fl.Flash(fl.build_variant(tmp, "flash_fwd", defines), bwd_ptx, {128: cfg})
            else:
                flash = fl.Flash(fwd_ptx, fl.build_variant(tmp, "flash_bwd", arg.split(",")))
            fails = flash_check.check(flash, args.seed, [c for c in flash_check.CASES if c[4] == 128][:4])
            if fails:
                print(f"variant {spec}: {fails} check failures, not timed")
                continue
            flashes.append((spec, flash))
        except Exception as e:  # a variant that does not build or load is reported, not fatal
            print(f"variant {spec}: {e}")
    gen = torch.Generator(device="cuda").manual_seed(args.seed)
    rows = []
    for s in args.sizes:
        bench_size(s, flashes, gen, rows)
        print(f"S={s} done", flush=True)
    with open(args.json, "w") as f:
        json.dump(rows, f, indent=1)
    print(f"\n{'impl':28s} {'S':>6s} {'fwd ms':>9s} {'fwd TF/s':>9s} {'bwd ms':>9s} {'bwd TF/s':>9s}  errors vs torch")
    for r in rows:
        errs = " ".join(f"{k[:-9]}={r[k]:.1e}" for k in r if k.endswith("_vs_torch"))
        print(f"{r['impl']:28s} {r['S']:6d} {r['fwd_ms']:9.3f} {r['fwd_tflops']:9.1f} "
              f"{r['bwd_ms']:9.3f} {r['bwd_tflops']:9.1f}  {errs}")


if __name__ == "__main__":
    main()
