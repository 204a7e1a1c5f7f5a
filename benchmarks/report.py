"""Writes docs/benchmarks.md (a table per benchmark and PNG plots) from benchmarks/results/*.json."""

from __future__ import annotations

import json
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "benchmarks" / "results"
DOC = ROOT / "docs" / "benchmarks.md"
IMG = ROOT / "docs" / "img"


def _plot(result: dict) -> str:
    IMG.mkdir(parents=True, exist_ok=True)
    labels = [m["label"] for m in result["measurements"]]
    medians = [m["median"] for m in result["measurements"]]
    figure, axis = plt.subplots(figsize=(7, 0.6 * len(labels) + 1.2))
    axis.barh(labels, medians, color="#4c72b0")
    axis.set_xlabel(f"median ({result['measurements'][0]['unit']})")
    axis.set_title(result["title"])
    axis.invert_yaxis()
    figure.tight_layout()
    path = IMG / f"bench_{result['name']}.png"
    figure.savefig(path, dpi=100)
    plt.close(figure)
    return f"img/{path.name}"


def _standardise(result: dict) -> dict:
    """The dbt refresh benchmark writes its own richer shape; present it like the others."""
    if "measurements" in result:
        return result
    rows = result["results"]
    return {
        "name": "dbt_refresh",
        "title": result["benchmark"],
        "command": "make bench BENCH=dbt_refresh  (python -m benchmarks.bench_dbt_refresh)",
        "measured_at": result["measured_at"],
        "commit": result.get("commit"),
        "parameters": result.get("workload", {}),
        "measurements": [
            m
            for row in rows
            for m in (
                {"label": f"{row['tenants']} tenants: one process, parsed once (per tenant)",
                 "samples": [row["in_process"]["overhead_per_tenant_seconds"]], "unit": "s",
                 "median": row["in_process"]["overhead_per_tenant_seconds"]},
                {"label": f"{row['tenants']} tenants: one dbt CLI process per tenant (per tenant)"
                 + (" (sampled)" if row["naive"].get("sampled") else ""),
                 "samples": [row["naive"]["overhead_per_tenant_seconds"]], "unit": "s",
                 "median": row["naive"]["overhead_per_tenant_seconds"]},
            )
        ],
        "ratios": [
            {"label": f"naive / ours overhead per tenant, {row['tenants']} tenants", "value": row["overhead_ratio"],
             "target": ">= 10", "met": row["overhead_ratio"] >= 10}
            for row in rows
        ],
        "notes": result.get("definition", ""),
    }


def _summary(results: list[dict]) -> list[str]:
    """One row per ratio: where we stand, at a glance (details per benchmark below)."""
    rows = [(result, r) for result in results for r in result["ratios"]]
    if not rows:
        return []
    lines = ["## Summary", "", "| benchmark | ratio | value | target | met |", "|---|---|---|---|---|"]
    for result, r in rows:
        met = "-" if r["met"] is None else ("yes" if r["met"] else "**no**")
        lines.append(f"| {result['title']} | {r['label']} | {r['value']:.2f} | {r['target']} | {met} |")
    return [*lines, ""]


def render() -> str:
    lines = [
        "# Benchmarks",
        "",
        "Measured on this project's own machine (2 cores, 24 GiB) by `make bench`; each benchmark runs our",
        "code and a baseline side by side, several runs, and reports the median. Ratios are ours / baseline",
        "unless a row says otherwise. Raw results: `benchmarks/results/*.json`.",
        "",
    ]
    results = [_standardise(json.loads(p.read_text())) for p in sorted(RESULTS.glob("*.json"))]
    if not results:
        lines.append("No results yet: run `make bench`.")
    lines += _summary(results)
    for result in results:
        commit = f" on commit {result['commit']}" if result.get("commit") else ""
        lines += [f"## {result['title']}", "", f"Command: `{result['command']}`  ",
                  f"Measured: {result['measured_at']}{commit}", ""]
        if result.get("parameters"):
            lines += ["Parameters: " + ", ".join(f"{k}={v}" for k, v in result["parameters"].items()), ""]
        lines += ["| measurement | median | runs |", "|---|---|---|"]
        for m in result["measurements"]:
            lines.append(f"| {m['label']} | {m['median']:.3f} {m['unit']} | {len(m['samples'])} |")
        lines += ["", "| ratio | value | target | met |", "|---|---|---|---|"]
        for r in result["ratios"]:
            met = "-" if r["met"] is None else ("yes" if r["met"] else "**no**")
            lines.append(f"| {r['label']} | {r['value']:.2f} | {r['target']} | {met} |")
        lines += ["", f"![{result['title']}]({_plot(result)})", ""]
        if result.get("notes"):
            lines += [result["notes"], ""]
    return "\n".join(lines) + "\n"


def main() -> None:
    DOC.write_text(render())
    print(f"wrote {DOC}")


if __name__ == "__main__":
    main()
