"""The yardstick's report as text: the rows side by side, then each generated row's figures.

:func:`format_report` takes the dictionary :func:`bachgen.evaluation.yardstick.generated_report`
returns (also printed as JSON by ``bachgen evaluate --generated --json``).
"""

from __future__ import annotations

from typing import Any

from .statistics import LABELS, STATISTICS

ROWS = {"real_vs_real": "real v real", "through_spelled": "real via spelled",
        "generated": "generated", "generated_compare": "compared"}
ROW_NOTES = {
    "real_vs_real": "Book II's 24 stretches against Book I's 24 (band of Book I): the ceiling",
    "through_spelled": "the 48 real stretches spelled as the model's events and decoded",
    "generated": "one generation per fugue after its first 50 events",
    "generated_compare": "the second model, same seeds and settings",
}


def _number(x: float) -> str:
    """Three decimals for shares and small means, one for semitones."""
    return f"{x:.3f}" if abs(x) < 10 else f"{x:.1f}"


def _label(key: str, row: dict[str, Any]) -> str:
    """A row's column title: the settings of a generated row, else its name."""
    return row.get("label", ROWS.get(key, key))


def format_report(report: dict[str, Any]) -> str:
    """The rows side by side: per statistic the band of the 48 real stretches and, per row,
    the median, how many pieces fall inside the band and the overlapping area; then each
    sampling seed's figures."""
    rows = report["rows"]
    names = [n for n in ROWS if n in rows]
    band = report.get("band") or rows[names[-1]]["statistics"]
    head = f"{'statistic':<40} {'real band':^15}" + "".join(f" | {_label(n, rows[n])[:25]:^25}" for n in names)
    sub = f"{'':<40} {'(48 stretches)':^15}" + " |  median  inside      ovl  " * len(names)
    lines = [head, sub]
    for name in STATISTICS:
        lo, hi = band[name] if isinstance(band[name], list) else band[name]["band"]
        cells = ""
        for n in names:
            s = rows[n]["statistics"][name]
            cells += f" | {_number(s['median']):>7} {s['inside']:>5}/{rows[n]['pieces']:<3} {s['overlap']:>5.2f}  "
        lines.append(f"{LABELS[name]:<40} {_number(lo) + '..' + _number(hi):^15}{cells}")
    lines.append(f"{'inside the band on every statistic':<56}" + "".join(
        f" | {str(rows[n]['all_inside']) + '/' + str(rows[n]['pieces']):^25}" for n in names))
    lines.append(f"{'classifier accuracy (0.5 = cannot tell)':<56}" + "".join(
        f" | {rows[n]['classifier']['accuracy']:>11.2f} +- {rows[n]['classifier']['sd']:<9.2f}" for n in names))
    if all("critic" in rows[n] for n in names if n != "through_spelled"):
        lines.append(f"{'critic accuracy (forest on lines and harmony)':<56}" + "".join(
            f" | {rows[n]['critic']['classifier']['accuracy']:>11.2f} +- {rows[n]['critic']['classifier']['sd']:<9.2f}"
            if "critic" in rows[n] else f" | {'':^25}" for n in names))
    lines += [f"  {_label(n, rows[n])}: {ROW_NOTES[n]}" for n in names]
    if "all_inside_leave_one_out" in rows.get("real_vs_real", {}):
        count = rows["real_vs_real"]["all_inside_leave_one_out"]
        total = rows["real_vs_real"]["pieces"] + rows["real_vs_real"]["real_pieces"]
        lines.append(f"  each real stretch against the band of the other {total - 1}: "
                     f"{count} of {total} inside on every statistic")
    if "through_spelled" in rows:
        same = rows["through_spelled"].get("equals_real")
        lines.append("  the spelled round trip gives " + ("exactly the real values on every statistic"
                                                           if same else "values that differ from the real ones"))
    lines += _generated_lines(report)
    lines += _critic_lines(report)
    return "\n".join(lines)


def _tell_line(tell: dict[str, Any], name: str) -> str:
    """One tell: its name, Bach's rate and ours (percent of its family) and their ratio."""
    ratio = f"{tell['ratio']:.2f}x" if tell["ratio"] is not None else "-"
    return f"    {name:<36} Bach {100 * tell['real_rate']:>5.2f} %  ours {100 * tell['rate']:>5.2f} %  {ratio:>6}"


def _critic_lines(report: dict[str, Any]) -> list[str]:
    """The critic's tells: ranked for each row that has them, then the watched ones per seed."""
    lines = []
    for key in ("real_vs_real", "generated", "generated_compare"):
        row = report["rows"].get(key)
        if not row or "critic" not in row:
            continue
        lines.append(f"critic, {_label(key, row)}: accuracy {row['critic']['classifier']['accuracy']:.2f}; "
                     f"the features that tell it most (importance; rates in % of their family):")
        lines += [_tell_line(t, f"{t['feature']} ({t['importance']:.3f})") for t in row["critic"]["tells"]]
        if key == "real_vs_real":
            continue
        for s in row.get("sampling_seeds", []):
            if s.get("watched"):
                lines.append(f"  seed {s['seed']}: critic {s['critic']:.2f} +- {s['critic_sd']:.2f}; the watched tells:")
                lines += [_tell_line(t, t["tell"]) + ("" if t["within_30_percent"] else "  (off by > 30 %)")
                          for t in s["watched"]]
        if "critic" in row.get("spread", {}) and len(row["sampling_seeds"]) > 1:
            c = row["spread"]["critic"]
            lines.append(f"  over {len(row['sampling_seeds'])} seeds: critic {c['mean']:.2f} +- {c['sd']:.2f} "
                         f"({c['min']:.2f}..{c['max']:.2f})")
    return lines


def _generated_lines(report: dict[str, Any]) -> list[str]:
    """Loops, copied runs, each sampling seed's figures and timing of the generated rows."""
    extra = report.get("generated") or {}
    lines = []
    for key in ("generated", "generated_compare"):
        row = report["rows"].get(key)
        if not row:
            continue
        lines.append(f"{row.get('label', key)}:")
        for s in row.get("sampling_seeds", []):
            lines.append(f"  seed {s['seed']:>6}: inside on every statistic {s['all_inside']:>2}/{s['pieces']}, "
                         f"classifier {s['accuracy']:.2f} +- {s['accuracy_sd']:.2f}, stuck {s['stuck']}, "
                         f"longest copied run median {s['longest_copied_run_median']:g} max "
                         f"{s['longest_copied_run_max']}, sampling {s['sample_seconds']} s")
        if "meter" in row:
            lines.append("  the bar's pulse (notes struck per slot of the bar, against the fugue's own; "
                         "correlation, moved a slot):")
            lines += [f"    {name:>6}: {m['pieces']:>2} pieces, match {m['match']:.2f} vs moved {m['moved']:.2f}, "
                      f"closer to the real than to the moved in {m['better']}" for name, m in row["meter"].items()]
        if len(row.get("sampling_seeds", [])) > 1:
            a, c = row["spread"]["all_inside"], row["spread"]["accuracy"]
            lines.append(f"  over {len(row['sampling_seeds'])} seeds: inside {a['mean']:.1f} +- {a['sd']:.1f} "
                         f"({a['min']:g}..{a['max']:g}), classifier {c['mean']:.2f} +- {c['sd']:.2f} "
                         f"({c['min']:.2f}..{c['max']:.2f})")
    if "real_vs_real_copied_run_median" in extra:
        lines.append(f"real fugues against one another, longest copied run: median "
                     f"{extra['real_vs_real_copied_run_median']:g}, max {extra['real_vs_real_copied_run_max']}")
    if "seconds" in report:
        lines.append(f"time: sampling {report['seconds']['sample']} s, total {report['seconds']['total']} s")
    return lines
