"""A fake ``pynvml`` module for tests: GPUs whose energy counters advance with real time.

Each fake GPU draws ``idle_w`` or ``busy_w`` watts. It is busy while ``FakePynvml.busy`` is true
or while the file ``busy_file`` exists (so a child process can switch it). The energy counter is
the exact integral of that power, advanced at every NVML call.
"""

from __future__ import annotations

import os
import threading
import time
import types
from dataclasses import dataclass


class FakeNVMLError(Exception):
    def __init__(self, text="Unknown Error"):
        super().__init__(text)


class FakeNotSupported(FakeNVMLError):
    def __init__(self):
        super().__init__("Not Supported")


@dataclass
class FakeGpu:
    name: str = "NVIDIA H100 80GB HBM3"
    uuid: str = "GPU-00000000-1111-2222-3333-444444444444"
    architecture: int = 9
    idle_w: float = 70.0
    busy_w: float = 300.0
    energy_counter: bool = True
    instant_power: bool = True
    power_usage: bool = True


class FakePynvml(types.ModuleType):
    NVML_FI_DEV_POWER_INSTANT = 186
    NVML_TEMPERATURE_GPU = 0

    def __init__(self, gpus=None, init_error: str | None = None):
        super().__init__("pynvml")
        self.NVMLError = FakeNVMLError
        self.gpus = list(gpus) if gpus is not None else [FakeGpu()]
        self.init_error = init_error
        self.busy = False
        self.busy_file: str | None = None
        self.calls = 0
        self.inits = 0
        self.shutdowns = 0
        self._lock = threading.Lock()
        self._energy_mj = [123456.0 for _ in self.gpus]  # counters start anywhere
        self._last = time.monotonic()

    # -- the simulated power ----------------------------------------------------------------
    def is_busy(self) -> bool:
        return self.busy or (self.busy_file is not None and os.path.exists(self.busy_file))

    def power_of(self, index: int) -> float:
        gpu = self.gpus[index]
        return gpu.busy_w if self.is_busy() else gpu.idle_w

    def _advance(self) -> None:
        with self._lock:
            now = time.monotonic()
            for i in range(len(self.gpus)):
                self._energy_mj[i] += self.power_of(i) * (now - self._last) * 1000.0
            self._last = now
            self.calls += 1

    def set_busy(self, value: bool) -> None:
        self._advance()
        self.busy = value

    # -- NVML API ---------------------------------------------------------------------------
    def nvmlInit(self):
        if self.init_error is not None:
            raise FakeNVMLError(self.init_error)
        self.inits += 1

    def nvmlShutdown(self):
        self.shutdowns += 1

    def nvmlSystemGetDriverVersion(self):
        return "580.159.04"

    def nvmlSystemGetNVMLVersion(self):
        return "13.580.159.04"

    def nvmlDeviceGetCount(self):
        return len(self.gpus)

    def nvmlDeviceGetHandleByIndex(self, index):
        if not 0 <= index < len(self.gpus):
            raise FakeNVMLError("Invalid Argument")
        return ("handle", index)

    def _gpu(self, handle):
        return self.gpus[handle[1]]

    def nvmlDeviceGetName(self, handle):
        return self._gpu(handle).name

    def nvmlDeviceGetUUID(self, handle):
        return self._gpu(handle).uuid

    def nvmlDeviceGetArchitecture(self, handle):
        return self._gpu(handle).architecture

    def nvmlDeviceGetTotalEnergyConsumption(self, handle):
        if not self._gpu(handle).energy_counter:
            raise FakeNotSupported()
        self._advance()
        return int(self._energy_mj[handle[1]])

    def nvmlDeviceGetFieldValues(self, handle, field_ids):
        self._advance()
        gpu = self._gpu(handle)
        values = []
        for field_id in field_ids:
            ok = field_id == 186 and gpu.instant_power
            values.append(
                types.SimpleNamespace(
                    fieldId=field_id,
                    nvmlReturn=0 if ok else 3,
                    valueType=1,
                    value=types.SimpleNamespace(
                        uiVal=int(self.power_of(handle[1]) * 1000) if ok else 0
                    ),
                )
            )
        return values

    def nvmlDeviceGetPowerUsage(self, handle):
        if not self._gpu(handle).power_usage:
            raise FakeNotSupported()
        self._advance()
        return int(self.power_of(handle[1]) * 1000)

    def nvmlDeviceGetEnforcedPowerLimit(self, handle):
        return 700000

    def nvmlDeviceGetTemperature(self, handle, sensor):
        return 41

    def nvmlDeviceGetUtilizationRates(self, handle):
        return types.SimpleNamespace(gpu=100 if self.is_busy() else 0, memory=0)

    def nvmlDeviceGetMemoryInfo(self, handle):
        return types.SimpleNamespace(total=80e9, used=1e9, free=79e9)
