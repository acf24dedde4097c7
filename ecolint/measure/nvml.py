"""Thin access to NVML (through nvidia-ml-py, imported as ``pynvml``).

Everything that can fail because there is no driver or no GPU raises :class:`NvmlUnavailable`
with a one-line message; the command line turns it into ``exit 2``.

The ``pynvml`` module is looked up at call time (``importlib.import_module``), so tests can put a
fake module in ``sys.modules["pynvml"]``.
"""

from __future__ import annotations

import importlib
import os
from dataclasses import dataclass, field

# NVML architecture numbers (nvmlDeviceGetArchitecture); pynvml has the same constants.
ARCH_NAMES = {
    2: "Kepler",
    3: "Maxwell",
    4: "Pascal",
    5: "Volta",
    6: "Turing",
    7: "Ampere",
    8: "Ada Lovelace",
    9: "Hopper",
    10: "Blackwell",
}
ARCH_AMPERE = 7

# Field id of nvmlDeviceGetFieldValues (nvml.h); used when pynvml lacks the constant.
FI_DEV_POWER_INSTANT = 186

# c_nvmlValue_t member for each NVML value type.
_VALUE_MEMBERS = {
    0: "dVal",
    1: "uiVal",
    2: "ulVal",
    3: "ullVal",
    4: "sllVal",
    5: "siVal",
    6: "usVal",
}

# Where a power reading came from.
POWER_INSTANT = "instant"  # NVML_FI_DEV_POWER_INSTANT
POWER_USAGE = "usage"  # nvmlDeviceGetPowerUsage


class NvmlUnavailable(RuntimeError):
    """No usable NVML: library, driver or GPU missing. The message is one line."""


def load_pynvml():
    """The ``pynvml`` module, or NvmlUnavailable if nvidia-ml-py is not installed."""
    try:
        return importlib.import_module("pynvml")
    except ImportError as error:
        raise NvmlUnavailable(f"cannot import pynvml (install nvidia-ml-py): {error}") from None


def _text(value) -> str:
    return value.decode("utf-8", "replace") if isinstance(value, bytes) else str(value)


def _error_text(error: BaseException) -> str:
    text = " ".join(str(error).split())
    return text or type(error).__name__


@dataclass
class Gpu:
    """One GPU as NVML sees it."""

    index: int  # NVML index (PCI bus order)
    handle: object = field(repr=False)
    name: str = ""
    uuid: str = ""
    architecture: int | None = None
    has_energy_counter: bool = False
    power_source: str | None = None  # POWER_INSTANT, POWER_USAGE or None (no power reading)

    @property
    def architecture_name(self) -> str:
        if self.architecture is None:
            return "unknown"
        return ARCH_NAMES.get(self.architecture, f"arch {self.architecture}")

    @property
    def power_is_one_second_average(self) -> bool:
        """True when the power reading is nvmlDeviceGetPowerUsage on Ampere or newer.

        From Ampere on, that call returns the average over the last second, which smooths away
        and under-counts phases shorter than that.
        """
        return self.power_source == POWER_USAGE and (self.architecture or 0) >= ARCH_AMPERE


class Nvml:
    """An initialised NVML session. Use as a context manager, or call :meth:`close`."""

    def __init__(self, module=None):
        self.nv = module if module is not None else load_pynvml()
        error_type = getattr(self.nv, "NVMLError", Exception)
        try:
            self.nv.nvmlInit()
        except error_type as error:
            raise NvmlUnavailable(f"no NVIDIA driver found (NVML: {_error_text(error)})") from None
        except OSError as error:
            raise NvmlUnavailable(f"no NVIDIA driver found ({_error_text(error)})") from None
        self._error = error_type
        self._instant_field = getattr(self.nv, "NVML_FI_DEV_POWER_INSTANT", FI_DEV_POWER_INSTANT)

    # -- session -----------------------------------------------------------------------------
    def close(self) -> None:
        try:
            self.nv.nvmlShutdown()
        except Exception:  # noqa: BLE001 - shutting down never matters to the result
            pass

    def __enter__(self) -> "Nvml":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def _call(self, name, *args, default=None):
        try:
            return getattr(self.nv, name)(*args)
        except (self._error, AttributeError, OSError):
            return default

    def driver_version(self) -> str | None:
        value = self._call("nvmlSystemGetDriverVersion")
        return None if value is None else _text(value)

    def nvml_version(self) -> str | None:
        value = self._call("nvmlSystemGetNVMLVersion")
        return None if value is None else _text(value)

    # -- devices -----------------------------------------------------------------------------
    def device_count(self) -> int:
        try:
            return int(self.nv.nvmlDeviceGetCount())
        except self._error as error:
            raise NvmlUnavailable(f"NVML cannot count GPUs: {_error_text(error)}") from None

    def gpu(self, index: int) -> Gpu:
        try:
            handle = self.nv.nvmlDeviceGetHandleByIndex(index)
        except self._error as error:
            raise NvmlUnavailable(f"NVML cannot open GPU {index}: {_error_text(error)}") from None
        gpu = Gpu(index=index, handle=handle)
        gpu.name = _text(self._call("nvmlDeviceGetName", handle, default="unknown GPU"))
        gpu.uuid = _text(self._call("nvmlDeviceGetUUID", handle, default=""))
        arch = self._call("nvmlDeviceGetArchitecture", handle)
        gpu.architecture = None if arch is None or int(arch) > 1000 else int(arch)
        gpu.has_energy_counter = self.energy_mj(gpu, probe=True) is not None
        if self._instant_power_mw(handle) is not None:
            gpu.power_source = POWER_INSTANT
        elif self._call("nvmlDeviceGetPowerUsage", handle) is not None:
            gpu.power_source = POWER_USAGE
        return gpu

    def visible_gpus(self, environ=None, only: list[int] | None = None) -> list[Gpu]:
        """The GPUs a CUDA program started with ``environ`` would see, in CUDA's order.

        ``only`` picks among them by position (like CUDA device ordinals).
        """
        count = self.device_count()
        if count == 0:
            raise NvmlUnavailable("no NVIDIA GPU found (NVML reports 0 devices)")
        env = os.environ if environ is None else environ
        spec = env.get("CUDA_VISIBLE_DEVICES")
        uuids = None
        if spec is not None and any(
            not part.strip().isdigit() for part in spec.split(",") if part.strip()
        ):
            uuids = [
                self._call("nvmlDeviceGetUUID", self.nv.nvmlDeviceGetHandleByIndex(i), default="")
                for i in range(count)
            ]
            uuids = [_text(u) for u in uuids]
        indices = parse_visible_devices(spec, count, uuids)
        if not indices:
            raise NvmlUnavailable(f"no GPU visible (CUDA_VISIBLE_DEVICES={spec!r})")
        if only:
            bad = [i for i in only if i < 0 or i >= len(indices)]
            if bad:
                raise NvmlUnavailable(f"no GPU {bad[0]} among the {len(indices)} visible")
            indices = [indices[i] for i in only]
        return [self.gpu(i) for i in indices]

    # -- readings ----------------------------------------------------------------------------
    def energy_mj(self, gpu: Gpu, probe: bool = False) -> float | None:
        """The total-energy counter in millijoules (Volta and newer), or None where unsupported."""
        if not probe and not gpu.has_energy_counter:
            return None
        value = self._call("nvmlDeviceGetTotalEnergyConsumption", gpu.handle)
        return None if value is None else float(value)

    def _instant_power_mw(self, handle) -> float | None:
        values = self._call("nvmlDeviceGetFieldValues", handle, [self._instant_field])
        if not values:
            return None
        value = values[0]
        if getattr(value, "nvmlReturn", 1) != 0:
            return None
        member = _VALUE_MEMBERS.get(getattr(value, "valueType", 1), "uiVal")
        reading = getattr(value.value, member, None)
        if reading is None or reading <= 0:
            return None
        return float(reading)

    def power_w(self, gpu: Gpu) -> float | None:
        """Board power in watts from the GPU's power source (see :attr:`Gpu.power_source`)."""
        if gpu.power_source == POWER_INSTANT:
            milliwatts = self._instant_power_mw(gpu.handle)
        elif gpu.power_source == POWER_USAGE:
            milliwatts = self._call("nvmlDeviceGetPowerUsage", gpu.handle)
        else:
            return None
        return None if milliwatts is None else float(milliwatts) / 1000.0

    def power_limit_w(self, gpu: Gpu) -> float | None:
        value = self._call("nvmlDeviceGetEnforcedPowerLimit", gpu.handle)
        if value is None:
            value = self._call("nvmlDeviceGetPowerManagementLimit", gpu.handle)
        return None if value is None else float(value) / 1000.0

    def temperature_c(self, gpu: Gpu) -> float | None:
        sensor = getattr(self.nv, "NVML_TEMPERATURE_GPU", 0)
        value = self._call("nvmlDeviceGetTemperature", gpu.handle, sensor)
        return None if value is None else float(value)

    def describe(self, gpu: Gpu) -> dict:
        """Static facts about a GPU for reports and provenance."""
        return {
            "index": gpu.index,
            "name": gpu.name,
            "uuid": gpu.uuid,
            "architecture": gpu.architecture_name,
            "power_limit_w": self.power_limit_w(gpu),
            "temperature_c": self.temperature_c(gpu),
            "energy_counter": gpu.has_energy_counter,
            "power_source": gpu.power_source,
        }


def parse_visible_devices(
    spec: str | None, count: int, uuids: list[str] | None = None
) -> list[int]:
    """NVML indices named by a ``CUDA_VISIBLE_DEVICES`` value, in order.

    Like CUDA: unset means all devices; entries are indices or (prefixes of) ``GPU-`` UUIDs;
    the list stops at the first entry that names no device; repeats are dropped. Integer entries
    are taken as NVML indices, which equal CUDA's when ``CUDA_DEVICE_ORDER=PCI_BUS_ID`` (the usual
    case on servers; with CUDA's default order a mixed-GPU machine may number them differently).
    """
    if spec is None:
        return list(range(count))
    indices: list[int] = []
    for part in spec.split(","):
        entry = part.strip()
        if not entry:
            break
        if entry.lstrip("-").isdigit():
            index = int(entry)
            if index < 0 or index >= count:
                break
        else:
            matches = [
                i
                for i, u in enumerate(uuids or [])
                if u and u.startswith(entry if entry.startswith("GPU-") else "GPU-" + entry)
            ]
            if len(matches) != 1:
                break
            index = matches[0]
        if index in indices:
            break
        indices.append(index)
    return indices
