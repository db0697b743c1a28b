"""Checks the flash-attention PTX against a float64 reference on fresh random inputs.

Every forward output starts as NaN (unwritten elements fail); the backward accumulators start
as random values and the check compares what the kernel added. Exit status 1 on any failure.

    python3 bench/gpu/flash_check.py [--fwd-ptx P] [--bwd-ptx P] [--seed N]
"""
import argparse
import sys

import torch

import flash_lib as fl

# (sq, sk, hq, hkv, d, dtype, causal, q_start, k_start, fp32 out)
CASES = [
    (256, 256, 4, 4, 128, torch.bfloat16, True, 0, 0, False),
    (200, 200, 4, 2, 64, torch.float16, False, 0, 0, False),        # ragged tiles, GQA
    (77, 300, 8, 2, 128, torch.bfloat16, True, 250, 0, False),       # ring step: part of K hidden
    (130, 190, 2, 1, 64, torch.bfloat16, True, 0, 100, True),        # first 100 rows see no key
    (1000, 1000, 2, 2, 128, torch.float16, True, 0, 0, True),
    (64, 96, 2, 2, 128, torch.bfloat16, True, 0, 5000, False),       # every row sees no key
    (512, 512, 8, 8, 64, torch.bfloat16, True, 1024, 1024, False),   # zigzag diagonal block
    (300, 700, 4, 1, 128, torch.bfloat16, False, 0, 0, True),        # GQA 4:1, non-causal
    (2048, 2048, 16, 16, 128, torch.bfloat16, True, 0, 0, False),
]
TOL = {torch.bfloat16: 1e-2, torch.float16: 3e-3}


def run_case(flash, case, gen):
    sq, sk, hq, hkv, d, dtype, causal, q_start, k_start, f32out = case
    dev = "cuda"
    rnd = lambda *shape: torch.randn(*shape, generator=gen, device=dev)
    q, k, v, dout = rnd(sq, hq, d).to(dtype), rnd(sk, hkv, d).to(dtype), rnd(sk, hkv, d).to(dtype), rnd(sq, hq, d).to(dtype)
    scale = fl.default_scale(d)
    out = torch.full((sq, hq, d), float("nan"), device=dev, dtype=torch.float32 if f32out else dtype)
    lse = torch.full((sq, hq), float("nan"), device=dev)
    flash.forward(q, k, v, out, lse, scale, causal, q_start, k_start)

    dq0, dk0, dv0 = rnd(sq, hq, d), rnd(sk, hkv, d), rnd(sk, hkv, d)
    dq, dk, dv = dq0.clone(), dk0.clone(), dv0.clone()
    delta = torch.full((sq, hq), float("nan"), device=dev)
    flash.backward(q, k, v, out.to(dtype), lse, dout, dq, dk, dv, delta, scale, causal, q_start, k_start)
    torch.cuda.synchronize()

    r_out, r_lse, r_dq, r_dk, r_dv = fl.reference(q, k, v, dout, scale, causal, q_start, k_start)
    errs = {"out": fl.rel_err(out, r_out), "dq": fl.rel_err(dq - dq0, r_dq),
            "dk": fl.rel_err(dk - dk0, r_dk), "dv": fl.rel_err(dv - dv0, r_dv)}
    hidden = torch.isinf(r_lse)
    lse_ok = bool(torch.equal(torch.isneginf(lse), hidden)) and not torch.isnan(lse).any().item()
    lse_err = (lse[~hidden].double() - r_lse[~hidden]).abs().max().item() if (~hidden).any() else 0.0
    ok = lse_ok and lse_err < 1e-3 and all(e == e and e < TOL[dtype] for e in errs.values())
    return ok, errs, lse_err, lse_ok


def check(flash, seed, cases=CASES):
    gen = torch.Generator(device="cuda").manual_seed(seed)
    failures = 0
    for case in cases:
        ok, errs, lse_err, lse_ok = run_case(flash, case, gen)
        failures += not ok
        sq, sk, hq, hkv, d, dtype, causal, qs, ks, f32 = case
        print(f"{'ok  ' if ok else 'FAIL'} sq={sq} sk={sk} h={hq}/{hkv} d={d} {fl.NAMES[dtype]} causal={causal} "
              f"start={qs}/{ks} f32out={f32}  " + " ".join(f"{n}={e:.2e}" for n, e in errs.items())
              + f" lse={lse_err:.1e}{'' if lse_ok else ' (-inf/NaN pattern wrong)'}", flush=True)
    return failures


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--fwd-ptx", default=fl.committed_ptx("flash_fwd"))
    ap.add_argument("--bwd-ptx", default=fl.committed_ptx("flash_bwd"))
    ap.add_argument("--seed", type=int, default=torch.seed() % 2**31)
    args = ap.parse_args()
    print(f"seed {args.seed}; {torch.cuda.get_device_name()}; fwd {args.fwd_ptx}; bwd {args.bwd_ptx}")
    failures = check(fl.Flash(args.fwd_ptx, args.bwd_ptx), args.seed)
    print(f"{failures} of {len(CASES)} cases failed")
    sys.exit(1 if failures else 0)


if __name__ == "__main__":
    main()
