"""`python -m bench [--quick] [--only NAME ...] [--out docs/performance.md]`: the benchmark harness.

Measurements, in order: the bare HTTP endpoint (and the load generator's ceiling), the raw
loop, OpenBao Transit, dialvault contacts, consents, handles + authorize at three store sizes,
and the CLI import. Results go to bench/results/latest.json, the table and prose to
docs/performance.md, charts to docs/img/.
"""

from __future__ import annotations

import argparse
import shlex
import shutil
import sys
import tempfile
import time
import traceback
from collections.abc import Callable
from pathlib import Path

from ._common import RESULTS_DIR, ROOT, Run, cpu_layout
from .ceiling import measure_ceiling, measure_drift
from .dialing import measure_dialing
from .dialvault import measure_consents, measure_contacts, measure_import
from .openbao import measure_openbao
from .raw import measure_raw
from .report import evaluate, machine, relative, write_charts, write_json, write_markdown

MEASUREMENTS: dict[str, Callable[[Run], None]] = {
    "ceiling": measure_ceiling,
    "raw": measure_raw,
    "openbao": measure_openbao,
    "contacts": measure_contacts,
    "consents": measure_consents,
    "dialing": measure_dialing,
    "import": measure_import,
}


def parse_args(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="short runs, no 1M points (under 2 minutes)")
    parser.add_argument("--tiny", action="store_true", help=argparse.SUPPRESS)  # the smoke test's mode
    parser.add_argument("--only", nargs="+", choices=sorted(MEASUREMENTS), metavar="NAME",
                        help=f"run only these: {', '.join(MEASUREMENTS)}")  # fmt: skip
    parser.add_argument("--out", type=Path, default=ROOT / "docs" / "performance.md", help="the Markdown report")
    parser.add_argument("--json", type=Path, default=None, help="raw results (default bench/results/latest.json)")
    parser.add_argument("--img-dir", type=Path, default=None, help="charts (default: img/ beside --out)")
    parser.add_argument("--duration", type=float, default=None, help="seconds measured per HTTP figure")
    parser.add_argument("--connections", type=int, default=32, help="connections for single-item requests")
    parser.add_argument("--import-budget", type=float, default=900.0,
                        help="seconds: skip an import size projected to take longer (default 900)")  # fmt: skip
    parser.add_argument("--cache-dir", type=Path, default=RESULTS_DIR / "cache", help="prebuilt stores")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(sys.argv[1:] if argv is None else argv)
    server_cpus, client_cpus = cpu_layout()
    args.cache_dir.mkdir(parents=True, exist_ok=True)
    workdir = Path(tempfile.mkdtemp(prefix="dialvault-bench-"))
    run = Run(
        quick=args.quick or args.tiny,
        tiny=args.tiny,
        import_budget_s=args.import_budget,
        duration=args.duration or (0.5 if args.tiny else 2.0 if args.quick else 10.0),
        warmup=0.2 if args.tiny else 0.5 if args.quick else 2.0,
        connections=args.connections,
        workdir=workdir,
        cache_dir=args.cache_dir,
        server_cpus=server_cpus,
        client_cpus=client_cpus,
    )
    names = args.only or list(MEASUREMENTS)
    started = time.perf_counter()
    failed: list[str] = []
    try:
        for name in names:
            run.log(f"[{time.perf_counter() - started:6.1f} s] {name}")
            try:
                MEASUREMENTS[name](run)
            except Exception as exc:  # one broken measurement must not lose the others
                failed.append(name)
                run.notes.append(f"{name} failed: {type(exc).__name__}: {str(exc)[:300]}")
                traceback.print_exc()
        if len(names) > 1:
            run.log(f"[{time.perf_counter() - started:6.1f} s] drift")
            measure_drift(run)
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    evaluate(run)
    info = machine()
    json_path = args.json or RESULTS_DIR / ("latest-quick.json" if args.quick else "latest.json")
    write_json(run, info, json_path)
    img_dir = args.img_dir or args.out.parent / "img"
    charts = write_charts(run, img_dir)
    command = "python -m bench " + " ".join(shlex.quote(a) for a in (sys.argv[1:] if argv is None else argv))
    write_markdown(run, info, command.strip(), args.out, charts)
    run.log(f"[{time.perf_counter() - started:6.1f} s] wrote {relative(args.out)}, {relative(json_path)}, "
            f"{len(charts)} charts")  # fmt: skip
    return 1 if failed else 0


if __name__ == "__main__":
    raise SystemExit(main())
