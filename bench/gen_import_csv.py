"""Generate a consent-import CSV of N synthetic rows (valid CN mobile numbers, E.164) for benchmarks.

python bench/gen_import_csv.py 1000000 /tmp/import.csv [--national-share 0.1]
"""

from __future__ import annotations

import argparse
import csv
import random

PURPOSES = ("marketing", "service", "collections", "survey")
METHODS = ("web_form", "ivr", "agent_call", "paper")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("rows", type=int)
    parser.add_argument("path")
    parser.add_argument("--national-share", type=float, default=0.1, help="share of rows in national format")
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args()
    rng = random.Random(args.seed)
    with open(args.path, "w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(
            ["phone", "region", "purpose", "channels", "notice_id", "notice_version", "method", "consented_at",
             "expires_at", "jurisdiction", "language"]
        )  # fmt: skip
        for i in range(args.rows):
            national = f"13{i % 10}{rng.randrange(10**8):08d}"
            if rng.random() < args.national_share:
                phone, region = national, "CN"
            else:
                phone, region = "+86" + national, ""
            day = 1 + i % 28
            writer.writerow(
                [phone, region, PURPOSES[i % 4], "voice" if i % 3 else "voice;sms", "bench-notice", "v1",
                 METHODS[i % 4], f"2025-{1 + i % 12:02d}-{day:02d}T10:00:00Z", "", "CN", "zh"]
            )  # fmt: skip


if __name__ == "__main__":
    main()
