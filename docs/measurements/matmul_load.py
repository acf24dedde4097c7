"""A fixed GPU load for checking ``ecolint measure``: bf16 matrix products for a set time.

    ecolint measure --repeat 3 -- python docs/measurements/matmul_load.py --seconds 3

It prints ``ECOLINT_TOKENS=<n>`` with n = the number of products (a stand-in for tokens), so
that the per-1k figures of the report can be checked by hand.
"""

import argparse
import time

import torch


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--seconds", type=float, default=3.0)
    parser.add_argument("--size", type=int, default=8192)
    args = parser.parse_args()
    generator = torch.Generator(device="cuda").manual_seed(0)
    a = torch.randn(args.size, args.size, device="cuda", dtype=torch.bfloat16, generator=generator)
    b = torch.randn(args.size, args.size, device="cuda", dtype=torch.bfloat16, generator=generator)
    torch.cuda.synchronize()
    count = 0
    start = time.monotonic()
    while time.monotonic() - start < args.seconds:
        for _ in range(10):
            a @ b
        torch.cuda.synchronize()
        count += 10
    elapsed = time.monotonic() - start
    flops = 2 * args.size**3 * count / elapsed
    print(f"{count} products of {args.size}^3 in {elapsed:.2f} s: {flops / 1e12:.0f} TFLOP/s")
    print(f"ECOLINT_TOKENS={count}")


if __name__ == "__main__":
    main()
