"""NVML access through a fake pynvml: device selection, power sources, errors."""

import sys

import pytest

from fakenvml import FakeGpu
from ecolint.measure import measure_energy, report_tokens
from ecolint.measure.nvml import (
    POWER_INSTANT,
    POWER_USAGE,
    Nvml,
    NvmlUnavailable,
    parse_visible_devices,
)

UUIDS = ["GPU-aaaa1111-0000-0000-0000-000000000000", "GPU-bbbb2222-0000-0000-0000-000000000000"]


@pytest.mark.parametrize(
    "spec, expected",
    [
        (None, [0, 1, 2]),
        ("1", [1]),
        ("2,0", [2, 0]),
        ("0,7,1", [0]),  # CUDA stops at the first invalid entry
        ("", []),
        ("-1", []),
        ("1,1", [1]),
        ("GPU-bbbb", [1]),
        ("bbbb2222", [1]),
        ("GPU-aaaa1111-0000-0000-0000-000000000000,0", [0]),
        ("MIG-1234", []),
    ],
)
def test_parse_visible_devices(spec, expected):
    assert parse_visible_devices(spec, 3, UUIDS + ["GPU-cccc"]) == expected


def test_visible_gpus_follow_cuda_visible_devices(fake_nvml):
    fake_nvml([FakeGpu(name="A", uuid=UUIDS[0]), FakeGpu(name="B", uuid=UUIDS[1])])
    with Nvml() as nvml:
        assert [g.name for g in nvml.visible_gpus({})] == ["A", "B"]
        assert [g.name for g in nvml.visible_gpus({"CUDA_VISIBLE_DEVICES": "1"})] == ["B"]
        assert [g.name for g in nvml.visible_gpus({"CUDA_VISIBLE_DEVICES": "GPU-bbbb,0"})] == [
            "B",
            "A",
        ]
        assert [g.name for g in nvml.visible_gpus({"CUDA_VISIBLE_DEVICES": "1,0"}, only=[1])] == [
            "A"
        ]
        with pytest.raises(NvmlUnavailable, match="no GPU visible"):
            nvml.visible_gpus({"CUDA_VISIBLE_DEVICES": ""})
        with pytest.raises(NvmlUnavailable, match="no GPU 3"):
            nvml.visible_gpus({}, only=[3])


def test_power_source_prefers_the_instantaneous_field(fake_nvml):
    fake_nvml(
        [FakeGpu(), FakeGpu(instant_power=False), FakeGpu(instant_power=False, power_usage=False)]
    )
    with Nvml() as nvml:
        gpus = nvml.visible_gpus({})
        assert [g.power_source for g in gpus] == [POWER_INSTANT, POWER_USAGE, None]
        assert nvml.power_w(gpus[0]) == pytest.approx(70.0)
        assert nvml.power_w(gpus[2]) is None
        assert gpus[1].power_is_one_second_average


def test_missing_energy_counter_is_detected(fake_nvml):
    fake_nvml([FakeGpu(energy_counter=False, architecture=4)])
    with Nvml() as nvml:
        gpu = nvml.visible_gpus({})[0]
        assert not gpu.has_energy_counter
        assert nvml.energy_mj(gpu) is None
        assert nvml.describe(gpu)["architecture"] == "Pascal"


def test_no_driver_no_gpu_no_module(fake_nvml, monkeypatch):
    fake_nvml(init_error="Driver Not Loaded")
    with pytest.raises(NvmlUnavailable, match="no NVIDIA driver found .*Driver Not Loaded"):
        Nvml()
    fake_nvml([])
    with pytest.raises(NvmlUnavailable, match="no NVIDIA GPU found"):
        Nvml().visible_gpus({})
    monkeypatch.setitem(sys.modules, "pynvml", None)
    with pytest.raises(NvmlUnavailable, match="nvidia-ml-py"):
        Nvml()


def test_in_process_measurement_subtracts_idle_power(fake_nvml):
    fake = fake_nvml([FakeGpu(idle_w=50.0, busy_w=250.0)])
    with measure_energy(idle_seconds=0.1, interval=0.005) as m:
        fake.set_busy(True)
        import time

        time.sleep(0.3)
        report_tokens(600)
        fake.set_busy(False)
    result = m.result
    gpu = result.gpus[0]
    assert gpu.idle_w == pytest.approx(50.0, rel=0.02)
    assert result.tokens == 600
    # gross = 250 W busy + 50 W for the few ms around it; net removes 50 W over the window
    assert gpu.net_j == pytest.approx(200.0 * 0.3, rel=0.1)
    assert result.energy_j == pytest.approx(gpu.idle_w * result.duration_s + gpu.net_j)
    assert result.j_per_1k_tokens == pytest.approx(result.energy_j / 0.6)
    assert gpu.energy_source == "counter"
    assert abs(gpu.crosscheck_pct) < 10
    assert fake.inits == fake.shutdowns == 1
    assert any("shorter than 1 s" in w for w in result.warnings)


def test_in_process_measurement_calls_sync_and_fails_cleanly(fake_nvml):
    fake_nvml()
    calls = []
    with measure_energy(interval=0.005, sync=lambda: calls.append("sync")) as m:
        pass
    assert calls == ["sync"] and m.result.tokens is None and m.result.net_j is None
    fake = fake_nvml(init_error="Driver Not Loaded")
    with pytest.raises(NvmlUnavailable):
        with measure_energy():
            pass
    assert fake.shutdowns == 0


def test_live_line_shows_elapsed_time_and_power(fake_nvml):
    import io

    from ecolint.measure.meter import Meter
    from ecolint.measure.runner import LiveLine

    fake_nvml()
    stream = io.StringIO()
    with Nvml() as nvml:
        meter = Meter(nvml, nvml.visible_gpus({}), interval=0.005)
        meter.mark()
        line = LiveLine(meter, stream=stream).start()
        line.draw()
        line.stop()
    text = stream.getvalue()
    assert "[ecolint]" in text and "70.0 W" in text and " s " in text
    assert text.endswith("\r\x1b[K")  # erased when the command ends
