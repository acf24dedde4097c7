"""Which half-precision dtype LLM303 and LLM306 suggest (and their fixes write), and why.

``"auto"`` loads the checkpoint in the dtype it was saved in, which is what transformers 5 does
by default: most recent checkpoints are bfloat16, and several overflow in float16 (T5, Gemma,
Llama 3), so neither float16 nor a fixed choice fits them all. ``"auto"`` is only valid as the
value of the dtype keyword itself; where the float32 sits in a constant or a command-line
option's default that other code may use as a ``torch.dtype``, bfloat16 keeps those uses valid.
"""

from __future__ import annotations

from dataclasses import dataclass

import libcst as cst

AUTO_WHY = ("the checkpoint's own dtype, the default of transformers 5; many checkpoints are bfloat16 and "
            "overflow in float16: T5, Gemma, Llama 3")
BFLOAT16_WHY = ("the float32 is set where other code may use it as a torch dtype, so \"auto\" cannot go there; "
                "bfloat16 keeps float32's range, where float16 overflows for T5, Gemma and Llama 3")


@dataclass(frozen=True)
class DtypeChoice:
    """The dtype to load with: ``"auto"`` or ``"bfloat16"``, and the reason the message gives."""

    name: str  # "auto" or "bfloat16"
    why: str

    def written(self, torch: str = "torch") -> str:
        """How the value is written as the keyword's value: ``"auto"`` or ``torch.bfloat16``."""
        return '"auto"' if self.name == "auto" else f"{torch}.{self.name}"


AUTO = DtypeChoice("auto", AUTO_WHY)
BFLOAT16 = DtypeChoice("bfloat16", BFLOAT16_WHY)


def written_at_key(entry) -> bool:
    """Whether an entry's value is written right at its keyword or dict key (not a name or option)."""
    owner, node = entry.owner, entry.value.node
    if node is None or owner is None or str(getattr(entry.value.kind, "value", entry.value.kind)) not in (
            "symbol", "const"):
        return False
    if isinstance(owner, cst.Call):
        return any(arg.keyword is entry.key_node and arg.value is node for arg in owner.args)
    if isinstance(owner, cst.Dict):
        return any(isinstance(element, cst.DictElement) and element.key is entry.key_node and element.value is node
                   for element in owner.elements)
    return False


def float32_replacement(entry) -> DtypeChoice:
    """For an explicit float32 (LLM303): ``"auto"`` where it is written at the keyword, else bfloat16."""
    return AUTO if written_at_key(entry) else BFLOAT16
