"""``ecolint measure`` and ``ecolint calibrate``."""

from __future__ import annotations

import json
import os
import sys
import time

import click

from ecolint.measure.nvml import NvmlUnavailable


def _fail(command: str, message: str, code: int = 2):
    click.echo(f"ecolint {command}: error: {message}", err=True)
    sys.exit(code)


def _int_list(text: str | None, what: str) -> list[int] | None:
    if text is None or text.strip() == "":
        return None
    try:
        values = [int(part) for part in text.split(",") if part.strip()]
    except ValueError:
        raise click.BadParameter(
            f"{what} must be comma-separated whole numbers, not {text!r}"
        ) from None
    if any(v < 0 for v in values):
        raise click.BadParameter(f"{what} must not be negative")
    return values


def _name_list(text: str) -> list[str]:
    return [part.strip() for part in text.split(",") if part.strip()]


@click.command(
    "measure",
    context_settings={"ignore_unknown_options": True, "allow_interspersed_args": False},
)
@click.option(
    "--idle-seconds",
    type=click.FloatRange(min=0),
    default=5.0,
    show_default=True,
    help="Measure idle power for this long before the first run (0: no idle power, no net energy).",
)
@click.option(
    "--repeat",
    type=click.IntRange(min=1),
    default=1,
    show_default=True,
    help="Run the command N times and report mean, standard deviation, 95% interval and CV.",
)
@click.option(
    "--cooldown",
    type=click.FloatRange(min=0),
    default=5.0,
    show_default=True,
    help="Seconds to wait between repeated runs.",
)
@click.option(
    "--tokens",
    type=click.IntRange(min=0),
    default=None,
    help="Tokens the command generates per run (else from ECOLINT_TOKENS=<n> lines or report_tokens()).",
)
@click.option(
    "--gpu",
    "gpu_list",
    default=None,
    metavar="LIST",
    help="Measure only these GPUs: CUDA ordinals among the visible ones, e.g. 0,1 (default: all visible).",
)
@click.option(
    "--interval",
    type=click.FloatRange(min=0.001),
    default=0.1,
    show_default=True,
    help="Power sampling interval in seconds.",
)
@click.option(
    "--json",
    "json_path",
    default=None,
    metavar="FILE",
    help="Write the result as JSON to FILE ('-': standard output; the command's output then goes to standard error).",
)
@click.option("--timeline", is_flag=True, help="Include the sampled power timeline in the JSON.")
@click.option("-q", "--quiet", is_flag=True, help="No live line while the command runs.")
@click.argument("command", nargs=-1, required=True, type=click.UNPROCESSED)
def measure(
    idle_seconds, repeat, cooldown, tokens, gpu_list, interval, json_path, timeline, quiet, command
):
    """Run COMMAND and report the GPU energy it used (NVML).

    \b
    ecolint measure -- python generate.py --max-new-tokens 256
    ecolint measure --repeat 5 --tokens 2560 --json out.json -- python bench.py

    Per GPU: duration, gross energy (NVML total-energy counter), idle power, net energy
    (gross - idle x duration), mean and peak power; with a token count, joules per 1k tokens
    and tokens per joule. All GPUs visible under CUDA_VISIBLE_DEVICES are measured and summed.
    """
    from ecolint.measure.meter import Meter
    from ecolint.measure.nvml import Nvml
    from ecolint.measure.report import environment, format_text, now_iso, result_document
    from ecolint.measure.runner import CommandError, run_command

    argv = list(command)
    if argv and argv[0] == "--":
        argv = argv[1:]
    if not argv:
        _fail("measure", "no command given (ecolint measure [OPTIONS] -- COMMAND [ARGS...])")
    only = _int_list(gpu_list, "--gpu")
    json_to_stdout = json_path == "-"
    output = sys.stderr.buffer if json_to_stdout else sys.stdout.buffer
    live = not quiet and sys.stderr.isatty()
    try:
        nvml = Nvml()
    except NvmlUnavailable as error:
        _fail("measure", str(error))
    try:
        try:
            gpus = nvml.visible_gpus(only=only)
        except NvmlUnavailable as error:
            _fail("measure", str(error))
        env = environment(nvml, gpus)
        started_at = now_iso()
        runs = []
        with Meter(nvml, gpus, interval=interval) as meter:
            idle_w = meter.measure_idle(idle_seconds)
            for number in range(repeat):
                try:
                    run = run_command(argv, meter, idle_w, output=output, live=live)
                except CommandError as error:
                    _fail("measure", str(error), 127)
                except KeyboardInterrupt:
                    click.echo("ecolint measure: interrupted", err=True)
                    sys.exit(130)
                if tokens is not None:
                    run.tokens = tokens
                runs.append(run)
                if run.exit_code:
                    break
                if number + 1 < repeat and cooldown > 0:
                    time.sleep(cooldown)
            samples = meter.sampler.snapshot() if timeline else None
        for gpu in env["gpus"]:
            gpu["temperature_c_after"] = nvml.temperature_c(
                next(g for g in gpus if g.index == gpu["index"])
            )
    finally:
        nvml.close()
    document = result_document(
        command=argv,
        started_at=started_at,
        env=env,
        idle_seconds=idle_seconds,
        idle_w=idle_w,
        runs=runs,
        timeline=None if samples is None else [{"t": s.t, "watts": list(s.watts)} for s in samples],
        settings={
            "repeat": repeat,
            "cooldown_s": cooldown,
            "interval_s": interval,
            "tokens": tokens,
        },
    )
    click.echo(format_text(document), err=True)
    if json_path:
        text = json.dumps(document, indent=1)
        if json_to_stdout:
            click.echo(text)
        else:
            try:
                with open(json_path, "w", encoding="utf-8") as handle:
                    handle.write(text + "\n")
            except OSError as error:
                _fail("measure", f"cannot write {json_path}: {error.strerror or error}")
    failed = next((run.exit_code for run in runs if run.exit_code), 0)
    sys.exit(failed)


@click.command("calibrate")
@click.option(
    "--arch",
    "archs",
    default="qwen2-1.5b,mistral-7b",
    show_default=True,
    help="Architectures (comma-separated); see --list.",
)
@click.option(
    "--quantization",
    "precisions",
    default="fp16,bf16,nf4,int8_default,int8_pure",
    show_default=True,
    help="Precisions: fp16, bf16, nf4, int8_default, int8_pure, fp32.",
)
@click.option(
    "--batch-size",
    "batch_sizes",
    default="1,8",
    show_default=True,
    help="Batch sizes (comma-separated).",
)
@click.option(
    "--kv-cache-off/--no-kv-cache-off",
    default=True,
    show_default=True,
    help="Also measure fp16 with generate(use_cache=False) (precision fp16_no_kv_cache).",
)
@click.option("--fp32/--no-fp32", default=True, show_default=True, help="Also measure fp32.")
@click.option(
    "--compile/--no-compile",
    "compiled",
    default=False,
    show_default=True,
    help="Also measure fp16 with a static KV cache and decoding compiled by torch.compile "
    "(precision fp16_compiled; compilation happens in the warm-up).",
)
@click.option("--input-tokens", type=click.IntRange(min=1), default=64, show_default=True)
@click.option(
    "--new-tokens",
    type=click.IntRange(min=1),
    default=64,
    show_default=True,
    help="New tokens per sequence (fixed: no early stop).",
)
@click.option(
    "--warmup",
    type=click.IntRange(min=0),
    default=1,
    show_default=True,
    help="Unmeasured runs first.",
)
@click.option(
    "--runs", type=click.IntRange(min=1), default=3, show_default=True, help="Measured runs."
)
@click.option(
    "--min-run-seconds",
    type=click.FloatRange(min=0),
    default=0.0,
    show_default=True,
    help="Repeat generate within each measured run until it lasts this long "
    "(timed on one extra unmeasured call; 0: one call per run).",
)
@click.option(
    "--pause",
    type=click.FloatRange(min=0),
    default=2.0,
    show_default=True,
    help="Thermal pause between runs, seconds.",
)
@click.option(
    "--idle-seconds",
    type=click.FloatRange(min=0),
    default=3.0,
    show_default=True,
    help="Idle power measured before each configuration.",
)
@click.option(
    "--interval",
    type=click.FloatRange(min=0.001),
    default=0.1,
    show_default=True,
    help="Power sampling interval, seconds.",
)
@click.option(
    "--outlier-channels",
    type=click.IntRange(min=0),
    default=6,
    show_default=True,
    help="Large hidden channels added to the random model (0: none).",
)
@click.option("--outlier-scale", type=float, default=20.0, show_default=True)
@click.option("--seed", type=int, default=0, show_default=True)
@click.option(
    "--gpu",
    "gpu_ordinal",
    type=click.IntRange(min=0),
    default=0,
    show_default=True,
    help="CUDA ordinal of the GPU to calibrate.",
)
@click.option(
    "--time-budget",
    type=click.FloatRange(min=0),
    default=None,
    help="Skip the configurations left once this many seconds have passed.",
)
@click.option(
    "-o",
    "--output",
    "output",
    default=None,
    metavar="FILE",
    help="Calibration CSV to write (default: ecolint-calibration-<gpu>-<date>.csv).",
)
@click.option(
    "--log",
    "log_path",
    default=None,
    metavar="FILE",
    help="JSON with every run's measurement (default: the CSV's name with .json).",
)
@click.option("--experiment", default=None, help="Experiment name written in each row.")
@click.option(
    "--source-file",
    default=None,
    help="source_file written in each row (default: the JSON log's path).",
)
@click.option(
    "--row-prefix", default="c", show_default=True, help="Row ids are this prefix and a number."
)
@click.option(
    "--first-row",
    type=click.IntRange(min=1),
    default=1,
    show_default=True,
    help="Number of the first row id (to continue another calibration file's numbering).",
)
@click.option("--list", "list_archs", is_flag=True, help="List the known architectures and exit.")
def calibrate(
    archs,
    precisions,
    batch_sizes,
    kv_cache_off,
    fp32,
    compiled,
    input_tokens,
    new_tokens,
    warmup,
    runs,
    min_run_seconds,
    pause,
    idle_seconds,
    interval,
    outlier_channels,
    outlier_scale,
    seed,
    gpu_ordinal,
    time_budget,
    output,
    log_path,
    experiment,
    source_file,
    row_prefix,
    first_row,
    list_archs,
):
    """Measure energy per token on this GPU and write a calibration file.

    \b
    ecolint calibrate --arch qwen2-1.5b,mistral-7b \\
        --quantization fp16,bf16,nf4,int8_default,int8_pure --batch-size 1,8

    Models are built from real architectures' configurations with random weights (no download).
    Pass the file to check/estimate/compare/optimize/diagnose with --calibration FILE, or set
    calibration = "FILE" under [tool.ecolint].
    """
    from ecolint.measure import calibrate as cal
    from ecolint.measure.calibration_file import PRECISIONS, gpu_key
    from ecolint.measure.calibration_plan import Plan, Protocol
    from ecolint.measure.calibration_results import save as save_rows
    from ecolint.measure.random_model import CalibrationError, available_architectures, load_architecture

    if list_archs:
        for name in available_architectures():
            arch = load_architecture(name)
            click.echo(f"{name:<16} {arch['model_id']}  ({arch['params_b']:g}B)")
        return
    names = _name_list(archs)
    chosen = _name_list(precisions)
    unknown = [p for p in chosen if p not in PRECISIONS]
    if unknown:
        raise click.BadParameter(
            f"unknown precision {unknown[0]!r}; valid: {', '.join(PRECISIONS)}",
            param_hint="--quantization",
        )
    sizes = _int_list(batch_sizes, "--batch-size")
    if not sizes or any(s < 1 for s in sizes):
        raise click.BadParameter(
            "give at least one batch size of 1 or more", param_hint="--batch-size"
        )
    try:
        for name in names:
            load_architecture(name)
    except CalibrationError as error:
        _fail("calibrate", str(error))
    protocol = Protocol(
        input_tokens=input_tokens,
        new_tokens=new_tokens,
        warmup=warmup,
        runs=runs,
        pause_s=pause,
        idle_seconds=idle_seconds,
        interval=interval,
        seed=seed,
        outlier_channels=outlier_channels,
        outlier_scale=outlier_scale,
        time_budget_s=time_budget,
        min_run_s=min_run_seconds,
    )
    plan = Plan(
        architectures=names,
        precisions=chosen,
        batch_sizes=sizes,
        kv_cache_off=kv_cache_off,
        fp32=fp32,
        compiled=compiled,
    )
    state = {}

    def paths(calibration):
        if "csv" not in state:
            date = calibration.started_at[:10]
            key = gpu_key(calibration.gpu["name"])
            state["csv"] = output or f"ecolint-calibration-{key}-{date}.csv"
            state["log"] = log_path or os.path.splitext(state["csv"])[0] + ".json"
            state["experiment"] = experiment or f"calibrate_{key}_{date.replace('-', '')}"
        return state["csv"], state["log"]

    def save(calibration):
        csv_path, json_path = paths(calibration)
        save_rows(
            calibration,
            csv_path,
            json_path,
            source_file=source_file or json_path,
            experiment=state["experiment"],
            row_prefix=row_prefix,
            first_number=first_row,
            protocol=protocol,
        )

    def emit(line):
        click.echo(line)
        sys.stdout.flush()

    try:
        calibration = cal.run_calibration(
            plan, protocol, device_ordinal=gpu_ordinal, emit=emit, on_result=save
        )
    except NvmlUnavailable as error:
        _fail("calibrate", str(error))
    except CalibrationError as error:
        _fail("calibrate", str(error))
    if not calibration.results:
        _fail(
            "calibrate",
            "nothing was measured"
            + (f" ({calibration.skipped[0]})" if calibration.skipped else ""),
            1,
        )
    save(calibration)
    for text in calibration.skipped:
        click.echo(f"skipped: {text}")
    csv_path, json_path = paths(calibration)
    click.echo(f"wrote {len(calibration.results)} rows to {csv_path} (runs in {json_path})")
    click.echo(f"use it with: ecolint check --calibration {csv_path}")


COMMANDS = [measure, calibrate]
