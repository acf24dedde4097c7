"""Run a command under measurement: forward its output, collect its token reports, show a live line."""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import threading
import time

from ecolint.measure.meter import Meter, Window
from ecolint.measure.tokens import TOKENS_FILE_ENV, parse_tokens_line, read_tokens_file


class CommandError(RuntimeError):
    """The command could not be started. The message is one line."""


class LiveLine:
    """``elapsed  power`` on one terminal line, redrawn twice a second."""

    def __init__(self, meter: Meter, stream=None, period: float = 0.5):
        self.meter = meter
        self.stream = stream if stream is not None else sys.stderr
        self.period = period
        self.lock = threading.Lock()
        self._stop = threading.Event()
        self._thread = None
        self._t0 = None
        self._shown = False

    def start(self) -> "LiveLine":
        self._t0 = time.monotonic()
        self._thread = threading.Thread(target=self._run, name="ecolint-live-line", daemon=True)
        self._thread.start()
        return self

    def _run(self) -> None:
        while not self._stop.wait(self.period):
            self.draw()

    def draw(self) -> None:
        sample = self.meter.sampler.latest()
        watts = [w for w in sample.watts if w is not None] if sample else []
        power = f"{sum(watts):7.1f} W" if watts else "      ? W"
        text = f"\r\x1b[K[ecolint] {time.monotonic() - self._t0:7.1f} s {power}"
        with self.lock:
            self.stream.write(text)
            self.stream.flush()
            self._shown = True

    def clear(self) -> None:
        """Erase the line (called before the command's own output is written)."""
        if self._shown:
            self.stream.write("\r\x1b[K")
            self.stream.flush()
            self._shown = False

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join()
        with self.lock:
            self.clear()


def run_command(
    argv: list[str],
    meter: Meter,
    idle_w: list | None,
    *,
    output=None,
    live: bool = False,
    environ=None,
) -> Window:
    """Run ``argv`` once and return its measured window.

    The command's standard output is copied to ``output`` (a binary stream; default our stdout)
    line by line, and its ``ECOLINT_TOKENS=<n>`` lines and :func:`report_tokens` calls are summed
    into the window's token count. Its standard input and error are ours.
    """
    sink = output if output is not None else sys.stdout.buffer
    env = dict(os.environ if environ is None else environ)
    handle, tokens_path = tempfile.mkstemp(prefix="ecolint-tokens-", suffix=".txt")
    os.close(handle)
    env[TOKENS_FILE_ENV] = tokens_path
    line_tokens = []
    liveline = LiveLine(meter) if live else None
    try:
        start = meter.mark()
        try:
            process = subprocess.Popen(argv, stdout=subprocess.PIPE, env=env)
        except FileNotFoundError:
            raise CommandError(f"command not found: {argv[0]}") from None
        except PermissionError:
            raise CommandError(f"command not executable: {argv[0]}") from None
        except OSError as error:
            raise CommandError(f"cannot run {argv[0]}: {error.strerror or error}") from None
        if liveline:
            liveline.start()

        def pump() -> None:
            for line in iter(process.stdout.readline, b""):
                count = parse_tokens_line(line)
                if count is not None:
                    line_tokens.append(count)
                if liveline:
                    with liveline.lock:
                        liveline.clear()
                        sink.write(line)
                        sink.flush()
                else:
                    sink.write(line)
                    sink.flush()
            process.stdout.close()

        reader = threading.Thread(target=pump, name="ecolint-stdout", daemon=True)
        reader.start()
        try:
            code = process.wait()
            result = meter.end(start, idle_w)  # close the window as soon as the command ends
        except KeyboardInterrupt:
            process.wait()
            raise
        finally:
            if liveline:
                liveline.stop()
        reader.join()
        file_tokens = read_tokens_file(tokens_path)
    finally:
        try:
            os.unlink(tokens_path)
        except OSError:
            pass
    if line_tokens or file_tokens is not None:
        result.tokens = sum(line_tokens) + (file_tokens or 0)
    result.exit_code = code
    return result
