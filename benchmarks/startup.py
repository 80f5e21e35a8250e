"""How fast `amops --help` starts, beside `aws --version` and `python -c pass`, in one run.

Goal (issue 2): amops --help at most half of aws --version. Usage: python benchmarks/startup.py [RUNS]
"""

from __future__ import annotations

import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path

RUNS = int(sys.argv[1]) if len(sys.argv) > 1 else 20
BIN = Path(sys.executable).parent


def median_ms(command: list[str]) -> float:
    subprocess.run(command, capture_output=True, check=True)  # warm the file cache
    times = []
    for _ in range(RUNS):
        started = time.perf_counter()
        subprocess.run(command, capture_output=True, check=True)
        times.append((time.perf_counter() - started) * 1000)
    return statistics.median(times)


def main() -> None:
    aws = shutil.which("aws", path=str(BIN)) or shutil.which("aws")
    amops = shutil.which("amops", path=str(BIN)) or shutil.which("amops")
    if not aws or not amops:
        sys.exit("needs `aws` (awscli) and `amops` installed: pip install -e '.[dev]'")
    figures = {
        "python -c pass": median_ms([sys.executable, "-c", "pass"]),
        "aws --version": median_ms([aws, "--version"]),
        "amops --help": median_ms([amops, "--help"]),
    }
    print(f"median of {RUNS} runs each")
    for name, value in figures.items():
        print(f"  {name:<16} {value:7.1f} ms")
    ratio = figures["amops --help"] / figures["aws --version"]
    verdict = "meets" if ratio <= 0.5 else "misses"
    print(f"amops --help / aws --version = {ratio:.2f} ({verdict} the goal of at most 0.50)")


if __name__ == "__main__":
    main()
