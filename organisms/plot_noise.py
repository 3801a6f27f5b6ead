"""One figure of the noise study: accuracy by sigma, one line per seed, one panel per
(condition, noise target), from the results measure_noise.py saved.

    python organisms/plot_noise.py [--scoring greedy] [--out noise-organisms.svg]
"""

from __future__ import annotations

import argparse
from pathlib import Path

from common import HERE

ORDER = ("locked", "locked+pw", "control", "base")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scoring", default="greedy")
    parser.add_argument("--out", type=Path, default=HERE / "noise" / "study_greedy.svg")
    args = parser.parse_args()

    from evalgap._output import write_atomic
    from evalgap.analyses import load_result
    from evalgap.report import render
    from evalgap.report.sections.sandbag_noise import curve_spec

    rows, panels = [], []
    for condition in ORDER:
        for target in ("all", "lora"):
            path = HERE / "noise" / f"{args.scoring}-{condition}-{target}.json"
            if not path.exists():
                continue
            spec = curve_spec(load_result(path))
            panel = f"{condition}, noise on {target}"
            panels.append(panel)
            rows += [{**row, "target": panel} for row in spec["data"]["values"]]
    spec["data"] = {"values": rows}
    spec["facet"]["sort"] = panels
    # Baselines differ by panel: drop the one dashed rule; every seed's line starts there.
    spec["spec"]["layer"] = spec["spec"]["layer"][1:]
    spec["resolve"] = {"scale": {"x": "independent"}}
    spec["spec"]["width"], spec["spec"]["height"] = 260, 170
    spec["description"] = "Noise study: accuracy by sigma per condition and noise target"
    suffix = args.out.suffix.lower().lstrip(".")
    write_atomic(args.out, render(spec, suffix))  # type: ignore[arg-type]
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
