"""One forward and one backward of Longbow's kernels and of PyTorch's flash SDPA, for Nsight Compute.

    ncu --clock-control none --kernel-name regex:'flash_fwd_bf16_d128|flash_bwd_bf16_d128|flash_fwd_kernel|dq_dk_dv' \
        --launch-count 4 --section SpeedOfLight --section WarpStateStats ... \
        python3 bench/gpu/flash_profile.py [S]
"""
import sys

import torch

import flash_bench
import flash_lib as fl

s = int(sys.argv[1]) if len(sys.argv) > 1 else 8192
H, D = flash_bench.H, flash_bench.D
gen = torch.Generator(device="cuda").manual_seed(7)
q, k, v, dout = (torch.randn(s, H, D, generator=gen, device="cuda").to(torch.bfloat16) for _ in range(4))
scale = fl.default_scale(D)
flash = fl.Flash(fl.committed_ptx("flash_fwd"), fl.committed_ptx("flash_bwd"))
out = torch.empty_like(q)
lse = torch.empty(s, H, device="cuda")
dq, dk, dv = (torch.zeros(s, H, D, device="cuda") for _ in range(3))
delta = torch.empty(s, H, device="cuda")
flash.forward(q, k, v, out, lse, scale, True)
flash.backward(q, k, v, out, lse, dout, dq, dk, dv, delta, scale, True)
ref = flash_bench.Torch(q, k, v, dout, scale)
ref.forward()
ref.prepare_backward()  # runs the forward and one backward
torch.cuda.synchronize()
