"""Click commands of the advisor: thin wrappers that validate, build a report and print it."""

from __future__ import annotations

import functools

import click

from ecolint.advisor import compare as compare_report
from ecolint.advisor import datalist
from ecolint.advisor import diagnose as diagnose_report
from ecolint.advisor import estimate as estimate_report
from ecolint.advisor import optimize as optimize_report
from ecolint.advisor.report import render_json, render_markdown
from ecolint.advisor.validation import InputError, validate
from ecolint.energy.dataset import GPU_ALIASES


class AdvisorUsageError(click.ClickException):
    """One line on stderr (``Error: ...``) and exit status 2, like click's usage errors."""

    exit_code = 2


class AdvisorPlanError(click.ClickException):
    """A plan that cannot run (it does not fit the GPU): said first, no figures, exit status 1."""

    exit_code = 1


def _inputs_options(func):
    options = [
        click.option(
            "--model", "-m", help="Hugging Face id, informal name (Mistral-7B) or size (7B)."
        ),
        click.option(
            "--gpu",
            "-g",
            help="rtx5090, rtx4090d, a800, a100, h100, h200, rtx3090, v100, l4, t4 "
            f"(aliases: {', '.join(GPU_ALIASES)}; each names one card; default rtx4090d).",
        ),
        click.option(
            "--quantization", "-q", help="fp16 (default), bf16, fp32, nf4, int8_default, int8_pure."
        ),
        click.option(
            "--precision",
            help="Compute precision: fp32, bf16, fp16, tf32 (default: from the quantization).",
        ),
        click.option(
            "--batch-size", "-b", type=int, help="Concurrent sequences per batch, 1-64 (default 1)."
        ),
        click.option("--sequence-length", type=int, help="Prompt tokens, 128-4096 (default 512)."),
        click.option(
            "--generation-length",
            type=int,
            help="Generated tokens per request, 1-2048 (default 256).",
        ),
        click.option(
            "--requests",
            help="Requests per month (1M, 2.5M/month) or per day (50k/day); default 1M/month.",
        ),
        click.option(
            "--region",
            help="us (default), cn, eu, fr, no, in: price and grid intensity from the data.",
        ),
        click.option(
            "--price", type=float, help="Electricity price in $/kWh (overrides the region's)."
        ),
        click.option(
            "--grid", type=float, help="Grid carbon intensity in gCO2/kWh (overrides the region's)."
        ),
        click.option(
            "--pue",
            type=float,
            help="Power usage effectiveness (default 1.1 cloud, 1.0 with --on-prem).",
        ),
        click.option(
            "--on-prem", is_flag=True, help="On-premises hardware: PUE 1.0 unless --pue is given."
        ),
        click.option(
            "--calibration",
            type=click.Path(dir_okay=False),
            help="CSV of your own measurements (measurements.csv format); matching rows take precedence.",
        ),
        click.option(
            "--json", "as_json", is_flag=True, help="Emit a JSON object instead of Markdown."
        ),
    ]
    for option in reversed(options):
        func = option(func)
    return func


def _emit(report, as_json: bool) -> None:
    click.echo(render_json(report) if as_json else render_markdown(report), nl=False)


def _guarded(func):
    """Turn invalid inputs into a one-line error with exit status 2."""

    @functools.wraps(func)
    def wrapper(*args, **kwargs):
        try:
            return func(*args, **kwargs)
        except InputError as error:
            raise AdvisorUsageError(str(error)) from None

    return wrapper


def _validate(kwargs: dict, **extra):
    as_json = kwargs.pop("as_json")
    return validate(**kwargs, **extra), as_json


@click.command()
@_inputs_options
@click.option("--use-case", help="api (default), chat or batch: bounds the optimized batch size.")
@_guarded
def estimate(use_case, **kwargs):
    """Energy per token and request, throughput, latency, power, and monthly kWh, cost and CO2."""
    inputs, as_json = _validate(kwargs, use_case=use_case, default_use_case="api")
    _refuse_impossible(inputs)
    _emit(estimate_report.build(inputs), as_json)


def _refuse_impossible(inputs) -> None:
    """No command recommends, compares or prices a plan that no precision makes fit the GPU."""
    impossible = estimate_report.impossible_plan(inputs)
    if impossible:
        raise AdvisorPlanError(impossible)


@click.command()
@_inputs_options
@click.option("--use-case", help="api (default), chat or batch.")
@_guarded
def optimize(use_case, **kwargs):
    """The precision and batch size that use least energy, with the measurements behind the choice."""
    inputs, as_json = _validate(kwargs, use_case=use_case, default_use_case="api")
    _refuse_impossible(inputs)
    _emit(optimize_report.build(inputs), as_json)


@click.command()
@_inputs_options
@_guarded
def compare(**kwargs):
    """FP16, NF4, INT8 default and INT8 pure side by side for one model and GPU."""
    inputs, as_json = _validate(kwargs)
    _refuse_impossible(inputs)
    _emit(compare_report.build(inputs), as_json)


@click.command()
@_inputs_options
@click.option(
    "--observed-throughput",
    type=float,
    required=True,
    help="Throughput you measured, tok/s (whole batch).",
)
@click.option("--observed-power", type=float, help="Average GPU board power you measured, W.")
@_guarded
def diagnose(observed_throughput, observed_power, **kwargs):
    """Match a slow or power-hungry setup against the known energy patterns and suggest fixes."""
    inputs, as_json = _validate(kwargs)
    _refuse_impossible(inputs)
    unloadable = estimate_report.misfit(inputs)
    if unloadable:
        raise AdvisorPlanError(
            f"this setup cannot load: {unloadable}, so what was observed is not this setup on one GPU "
            f"(layers offloaded to CPU memory, or another GPU); diagnose the setup that ran."
        )
    diagnose_report.check_observation(inputs, observed_throughput, observed_power)
    _emit(diagnose_report.build(inputs, observed_throughput, observed_power), as_json)


@click.command()
@click.option("--gpu", "-g", help="Only this GPU (aliases accepted).")
@click.option("--model", "-m", help="Only models whose id or name contains this text.")
@click.option(
    "--precision", "-q", help="Only this quantization (fp16, nf4, int8_default, int8_pure, ...)."
)
@click.option(
    "--all", "show_all", is_flag=True, help="Also list alternative, duplicate and excluded rows."
)
@click.option("--json", "as_json", is_flag=True, help="Emit a JSON object instead of Markdown.")
@_guarded
def data(gpu, model, precision, show_all, as_json):
    """List the shipped measurements (canonical rows; --all for every row with its status)."""
    _emit(datalist.build(gpu=gpu, model=model, precision=precision, show_all=show_all), as_json)


COMMANDS = [estimate, optimize, compare, diagnose, data]
