"""``python -m ecolint.measure measure|calibrate ...``: the two commands without the rest of ecolint."""

import click

from ecolint.measure.cli import COMMANDS


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
def main() -> None:
    """Measure GPU energy (NVML) and calibrate ecolint on this GPU."""


for _command in COMMANDS:
    main.add_command(_command)

if __name__ == "__main__":
    main(prog_name="python -m ecolint.measure")
