#!/usr/bin/env python3
"""Prints the ours-vs-peers tables (markdown) from criterion's results in target/criterion.

Usage: python3 benches/table.py [TARGET_DIR]   (default: target)

Each criterion group is one scenario; a function id starting with "ours" is ours, every other id is
a peer — except in the areas of OWN_PATHS, which compare our own paths with each other. The time shown is criterion's median per-iteration time of the latest run (robust to the
spikes a shared machine adds), with the relative width of its 95 % confidence interval as a noise
indicator (e.g. "±4 %"). Ratio = ours / peer: below 1 means ours is faster.
"""

import json
import os
import sys


# The peer each target names comes first.
PEER_ORDER = ["tokio", "governor", "async-channel", "tokio-spawn", "async-lock", "leaky-bucket"]


def load(root):
    results = {}
    for dirpath, _dirnames, filenames in os.walk(root):
        if os.path.basename(dirpath) != "new" or "benchmark.json" not in filenames:
            continue
        with open(os.path.join(dirpath, "benchmark.json")) as f:
            bench = json.load(f)
        with open(os.path.join(dirpath, "estimates.json")) as f:
            est = json.load(f)["median"]
        point = est["point_estimate"]
        ci = est["confidence_interval"]
        spread = (ci["upper_bound"] - ci["lower_bound"]) / 2 / point if point else 0.0
        results.setdefault(bench["group_id"], {})[bench["function_id"]] = (point, spread)
    return results


def fmt_time(ns):
    if ns >= 1e6:
        return f"{ns / 1e6:.3g} ms"
    if ns >= 1e3:
        return f"{ns / 1e3:.3g} µs"
    return f"{ns:.3g} ns"


# Areas that compare our own paths with each other (no peer): each row's ratio is to the row of
# the same first word ending in "_reused" (what keeping a connection saves).
OWN_PATHS = {"fetch"}


def own_paths_table(area, groups, results):
    print(f"\n### {area}\n")
    print("| scenario | median | / reused |")
    print("|---|---:|---:|")
    for group in groups:
        row = results[group]
        for who in sorted(row, key=lambda w: row[w][0]):
            time, spread = row[who]
            base = row.get(who.split("_", 1)[0] + "_reused")
            ratio = f"**{time / base[0]:.2f}**" if base else "–"
            print(f"| `{group.split('/', 1)[1]}/{who}` | {fmt_time(time)} ±{spread:.0%} | {ratio} |")


def main():
    target = sys.argv[1] if len(sys.argv) > 1 else "target"
    results = load(os.path.join(target, "criterion"))
    if not results:
        sys.exit(f"no criterion results under {target}/criterion: run `cargo bench` first")
    by_area = {}
    for group in sorted(results):
        by_area.setdefault(group.split("/")[0], []).append(group)
    for area, groups in by_area.items():
        if area in OWN_PATHS:
            own_paths_table(area, groups, results)
            continue
        peers = sorted(
            {who for group in groups for who in results[group] if not who.startswith("ours")},
            key=lambda who: (PEER_ORDER.index(who) if who in PEER_ORDER else len(PEER_ORDER), who),
        )
        header = ["scenario", "ours"] + peers + [f"ours / {p}" for p in peers]
        print(f"\n### {area}\n")
        print("| " + " | ".join(header) + " |")
        print("|" + "---|" + "---:|" * (len(header) - 1))
        for group in groups:
            row = results[group]
            for who in sorted(w for w in row if w.startswith("ours")):
                ours, spread = row[who]
                name = group.split("/", 1)[1]
                if who != "ours":
                    name += f" ({who[len('ours-'):]})"
                cells = [f"`{name}`", f"{fmt_time(ours)} ±{spread:.0%}"]
                for p in peers:
                    cells.append(f"{fmt_time(row[p][0])} ±{row[p][1]:.0%}" if p in row else "–")
                for p in peers:
                    cells.append(f"**{ours / row[p][0]:.2f}**" if p in row else "–")
                print("| " + " | ".join(cells) + " |")


if __name__ == "__main__":
    main()
