"""What runs: a model shape on a GPU at a quantization, batch size and request shape."""

from __future__ import annotations

from dataclasses import dataclass

from ecolint.energy.architectures import Architecture
from ecolint.energy.dataset import GpuSpec

# Which kernel family each quantization runs. BF16 launches FP16's kernels (measured within 2% of
# FP16 on the H200); FP32 is slower per step and draws more power per token, so it has its own family.
KERNEL_FAMILY = {
    "fp16": "fp16",
    "bf16": "fp16",
    "fp32": "fp32",
    "nf4": "nf4",
    "int8_default": "int8_default",
    "int8_pure": "int8_pure",
}


@dataclass(frozen=True)
class Workload:
    """What runs: a model shape on a GPU at a quantization, batch size and request shape."""

    gpu: GpuSpec
    arch: Architecture
    quantization: str
    batch_size: int = 1
    input_tokens: int = 512
    output_tokens: int = 256

    @property
    def family(self) -> str:
        return KERNEL_FAMILY[self.quantization]

    @property
    def context_tokens(self) -> float:
        """Mean number of tokens in the KV cache over the generation."""
        return self.input_tokens + self.output_tokens / 2.0

    def bytes_per_step(self) -> float:
        return self.arch.weight_bytes_read(self.quantization, self.batch_size) + (
            self.batch_size * self.arch.kv_bytes_per_token(self.quantization) * self.context_tokens
        )

    def vram_bytes(self) -> float:
        """Weights plus the full KV cache of every sequence in the batch (activations not counted)."""
        kv = (
            self.batch_size * self.arch.kv_bytes_per_token(self.quantization) * (self.input_tokens + self.output_tokens)
        )
        return self.arch.weight_bytes_resident(self.quantization) + kv
