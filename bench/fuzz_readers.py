"""Run the reader fuzz suite (tests/fuzz) with many examples and count what happened.

    python bench/fuzz_readers.py [--profile long|ci] [--json bench/results/fuzz_readers.json]

Runs pytest on tests/fuzz with ``MJMIMIC_FUZZ=<profile>`` (default ``long``: hundreds of
random examples per test; ``ci`` is what CI runs) and prints, per reader and kind of
damage, the cases tried and their outcomes: ``read`` (a valid result) or ``refused`` (a
one-line ``MjmimicError``). Any other outcome fails the suite: the pytest summary (with
the failing input) is printed and the exit status is pytest's. docs/reliability.md
quotes these tables.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--profile", choices=("long", "ci"), default="long")
    parser.add_argument("--json", type=Path, help="also write the counts here")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        stats = Path(tmp) / "stats.jsonl"
        env = {**os.environ, "MJMIMIC_FUZZ": args.profile, "MJMIMIC_FUZZ_STATS": str(stats)}
        start = time.perf_counter()
        result = subprocess.run(
            [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "tests/fuzz"],
            cwd=REPO,
            env=env,
            capture_output=True,
            text=True,
        )
        seconds = time.perf_counter() - start
        rows = (
            [json.loads(line) for line in stats.read_text().splitlines()] if stats.exists() else []
        )
    counts = Counter((r["reader"], r["case"], r["outcome"]) for r in rows)
    cases = sorted({(reader, case) for reader, case, _ in counts})
    print(f"profile {args.profile}: {len(rows)} cases in {seconds:.0f} s")
    print(f"| {'reader':<28} | {'damage':<20} | {'cases':>6} | {'read':>6} | {'refused':>7} |")
    print(f"|{'-' * 30}|{'-' * 22}|{'-' * 8}|{'-' * 8}|{'-' * 9}|")
    for reader, case in cases:
        read, refused = counts[(reader, case, "read")], counts[(reader, case, "refused")]
        print(f"| {reader:<28} | {case:<20} | {read + refused:>6} | {read:>6} | {refused:>7} |")
    summary = result.stdout.strip().splitlines()[-1] if result.stdout.strip() else ""
    print(f"pytest: {summary}")
    if result.returncode != 0:
        print(result.stdout[-6000:], result.stderr[-2000:], sep="\n")
    if args.json is not None:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        table = [
            {
                "reader": reader,
                "damage": case,
                "read": counts[(reader, case, "read")],
                "refused": counts[(reader, case, "refused")],
            }
            for reader, case in cases
        ]
        payload = {"profile": args.profile, "seconds": round(seconds, 1), "cases": table}
        args.json.write_text(json.dumps(payload, indent=2) + "\n")
    return result.returncode


if __name__ == "__main__":
    sys.exit(main())
