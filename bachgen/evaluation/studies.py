"""The studies of the model: the original project's ideas re-run on the new spelling.

Each variant (:data:`VARIANTS`) is the shipped recipe (:mod:`bachgen.train`) with a few
options changed: the original project's network, what the key column tells, 12-key
augmentation, the context length, one mode only, the batch size. ``bachgen studies run``
trains each variant in a fresh process of its own (TensorFlow is set up before it starts;
one at a time, a bundle that exists is not trained again), then measures it:

* held-out bits per note of the network (pooled over the held-out fugues it covers, in the
  common key; split into struck, held and duration bits), see :mod:`.heldout`;
* where the NumPy step can run it, the generated yardstick: one continuation per fugue
  for each sampling seed of :data:`SAMPLING_SEEDS` with :data:`SAMPLING`, measured against
  the real fugues (pieces inside every band of the real statistics, classifier accuracy),
  each network told the key as it was trained (:mod:`.told`).

Pairs (:data:`PAIRS`, e.g. a major and a minor model) are reported as one model too:
notes-weighted pooled bits over all held-out fugues, and every fugue continued by the
model of its mode. Results go to ``results.json`` and a markdown table ``results.md``.
Training uses a fixed number of epochs (:data:`STUDY_FIT`) so variants compare fairly on
a shared machine; the ``original`` variant is trained like the shipped model instead.
"""

from __future__ import annotations

import contextlib
import json
import multiprocessing
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Sequence

from .. import corpus
from ..bundle import MODEL_FILE, can_step, load_bundle
from ..config import CorpusConfig, FitConfig, NetConfig
from ..data import in_modes
from ..errors import ConfigError
from ..events import Piece
from ..step import load_step
from ..train import setup_tensorflow, train_bundle, train_command
from .heldout import KIND_NAMES, bundle_modes, held_out_report
from .told import (corpus_copy_index, measure_generations, parse_sampling, real_stretch_statistics,
                   told_generations)

#: Sampling settings of the yardstick (temperature, top-p, top-k, compass) and its seeds.
SAMPLING = "1.0:0.98:0:36:84"
SAMPLING_SEEDS = (1722, 7)
#: Training of a study: a fixed number of epochs, the same for every variant.
STUDY_FIT = {"epochs": 4, "patience": 3, "budget_minutes": 60.0}
#: Training of the shipped model (for ``original``, compared against the shipped bundle).
SHIPPED_FIT = {"epochs": 30, "patience": 3, "budget_minutes": 28.0}
STUDY_FILE, RESULTS_JSON, RESULTS_MD = "study.json", "results.json", "results.md"


@dataclass(frozen=True)
class Variant:
    """One study: its name, what it changes (in words), and the options it passes.

    ``net`` / ``fit``: overrides of :class:`~bachgen.config.NetConfig` /
    :class:`~bachgen.config.FitConfig` fields; ``key_told``: the codec's key treatment.
    """

    name: str
    changed: str
    net: dict[str, Any] = field(default_factory=dict)
    fit: dict[str, Any] = field(default_factory=dict)
    key_told: str = "key"

    def configs(self) -> tuple[NetConfig, FitConfig]:
        """The :class:`NetConfig` and :class:`FitConfig` (a :class:`ConfigError` when invalid)."""
        try:
            net, fit = NetConfig(**self.net), FitConfig(**{**STUDY_FIT, **self.fit})
        except TypeError as exc:
            raise ConfigError(f"Study {self.name!r} names an unknown option: {exc}.") from exc
        if fit.augment == "all12" and self.key_told == "key":
            raise ConfigError(f"Study {self.name!r}: augment 'all12' needs key_told none or mode.")
        return net, fit

    def command(self, folder: Path) -> str:
        """The ``bachgen train`` settings of this variant (every setting spelled out) and what
        its key column tells; ``bachgen studies run --only NAME`` trains it."""
        net, fit = self.configs()
        return f"{train_command(asdict(net), asdict(fit), str(folder))} (key told: {self.key_told})"


VARIANTS: tuple[Variant, ...] = (
    Variant("original", "original network (id/vocab input, 1×LSTM 256, no conditioning), "
            "trained like the shipped model", {"arch": "original"}, SHIPPED_FIT),
    Variant("reference", "shipped settings, 4 epochs"),
    Variant("key-none", "key not told (constant key column)", key_told="none"),
    Variant("all12", "12-key augmentation (own key −5..+6), key not told", fit={"augment": "all12"},
            key_told="none"),
    Variant("mode-only", "mode told, shift not", key_told="mode"),
    Variant("context-25", "seq_len 96, stride 48 (~25 events)", fit={"seq_len": 96, "stride": 48}),
    Variant("context-100", "seq_len 384, stride 192 (~100 events)", fit={"seq_len": 384, "stride": 192}),
    Variant("major", "major fugues only", fit={"modes": "major"}),
    Variant("minor", "minor fugues only", fit={"modes": "minor"}),
    Variant("batch-128", "batch size 128", fit={"batch_size": 128}),
    Variant("batch-32", "batch size 32", fit={"batch_size": 32}),
)
#: Variants reported together as one model: name → the variants (one per mode).
PAIRS: dict[str, tuple[str, ...]] = {"major+minor": ("major", "minor")}


def variants_by_name(names: Sequence[str] | None = None) -> list[Variant]:
    """The variants named (all when ``names`` is empty), in :data:`VARIANTS` order."""
    known = {v.name: v for v in VARIANTS}
    unknown = sorted(set(names or ()) - set(known))
    if unknown:
        raise ConfigError(f"Unknown studies: {', '.join(unknown)}.",
                          f"Choose from {', '.join(known)}.")
    for variant in VARIANTS:
        variant.configs()  # fail early on a bad option
    return [v for v in VARIANTS if not names or v.name in names]


def train_variant(variant: Variant, folder: Path, corpus_config: CorpusConfig) -> None:
    """Train ``variant`` into ``folder`` in this process, its lines in ``folder/train.log``
    (run in a fresh process: TensorFlow's threads and seeds are set before it starts)."""
    net, fit = variant.configs()
    with open(folder / "train.log", "w") as log, contextlib.redirect_stdout(log), \
            contextlib.redirect_stderr(log):
        setup_tensorflow(fit)
        pieces = corpus.load_corpus(corpus_config)
        summary = train_bundle(pieces, folder, net, fit, log=log, key_told=variant.key_told)
        print(json.dumps(summary, indent=1), file=log)


def train(variant: Variant, folder: Path, corpus_config: CorpusConfig | None = None) -> None:
    """Train ``variant`` in a process of its own (log in ``folder/train.log``) unless its bundle exists."""
    if (folder / MODEL_FILE).exists():
        return
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "command.txt").write_text(variant.command(folder) + "\n")
    process = multiprocessing.get_context("spawn").Process(
        target=train_variant, args=(variant, folder, corpus_config or CorpusConfig.from_env()))
    process.start()
    process.join()
    if process.exitcode:
        raise ConfigError(f"Training {variant.name} failed (exit {process.exitcode}).",
                          f"See {folder / 'train.log'}.")


# --------------------------------------------------------------------------- measuring


def training_facts(bundle: Any) -> dict[str, Any]:
    """What the training summary says: epochs run and best, minutes, load, val bits/token."""
    config = bundle.config
    return {"epochs_run": config.get("epochs_run"), "best_epoch": config.get("best_epoch"),
            "minutes": round(config.get("train_seconds", 0.0) / 60, 1),
            "load_average": [round(x, 2) for x in config.get("load_average_before", [])[:1]
                             + config.get("load_average_after", [])[:1]],
            "val_bits_per_token": config.get("best_val_bits_per_token"),
            "parameters": config.get("parameters"), "key_told": bundle.codec.key_told}


def held_out(bundle: Any, pieces: Sequence[Piece]) -> dict[str, Any]:
    """Held-out bits per note of the network alone: per fugue and pooled."""
    return held_out_report(bundle, pieces, None)["lstm"]


def yardstick(bundles: Sequence[Any], pieces: Sequence[Piece], context: dict[str, Any],
              seeds: Sequence[int] = SAMPLING_SEEDS) -> list[dict[str, Any]]:
    """The generated yardstick per sampling seed; each fugue is continued by the first of
    ``bundles`` trained on its mode (one bundle: every fugue)."""
    settings = parse_sampling(SAMPLING)
    steps = [load_step(b) for b in bundles]
    rows = []
    for seed in seeds:
        started, made, order = time.perf_counter(), [], []
        for bundle, step in zip(bundles, steps):
            mine = [x for x in pieces if in_modes(x, bundle_modes(bundle)) and x.name not in order]
            order += [x.name for x in mine]
            made += told_generations(bundle, mine, 400, 50, settings, seed, step)
        row = measure_generations(made, bundles[0].codec, context["real"], context["index"], settings,
                                  seed, 400, 50, time.perf_counter() - started)
        rows.append(summary_row(row))
    return rows


def summary_row(row: dict[str, Any]) -> dict[str, Any]:
    """The yardstick's headline figures of one generated row (the full row is long)."""
    acc = row["classifier"].get("accuracy", row["classifier"]) if isinstance(row["classifier"], dict) \
        else row["classifier"]
    return {"seed": row["settings"]["seed"], "inside": row["all_inside"], "pieces": row["pieces"],
            "classifier": acc, "stuck": row.get("stuck"),
            "copied_median": row.get("longest_copied_run_median"),
            "sample_seconds": row.get("sample_seconds"),
            "medians": {k: [round(v["median"], 3), round(v["real_median"], 3), v["inside"]]
                        for k, v in row["statistics"].items()}}


def measure(folders: Sequence[Path], pieces: Sequence[Piece], context: dict[str, Any]) -> dict[str, Any]:
    """Held-out bits and (where the step can run every network) the yardstick of one model
    made of the bundles in ``folders`` (one, or one per mode); pooled bits weight by notes."""
    bundles = [load_bundle(f) for f in folders]
    per_piece: dict[str, Any] = {}
    for bundle in bundles:
        per_piece.update({k: v for k, v in held_out(bundle, pieces).items() if k != "pooled"})
    notes = sum(r["notes"] for r in per_piece.values())
    pooled = {key: sum(r[key] * r["notes"] for r in per_piece.values()) / notes
              for key in ("bits_per_note", *KIND_NAMES.values())}
    result = {"held_out": {"pieces": per_piece, "pooled": pooled, "fugues": len(per_piece)}}
    if len(bundles) == 1:
        result["training"] = training_facts(bundles[0])
    if all(can_step(b) for b in bundles):
        result["yardstick"] = yardstick(bundles, pieces, context)
    else:
        result["yardstick_skipped"] = "the NumPy step reads only the conditioned network"
    return result


def measured(name: str, folders: Sequence[Path], out: Path, pieces: Sequence[Any],
             context: dict[str, Any], again: bool = False) -> dict[str, Any]:
    """:func:`measure` once; the result is kept in ``out/name/study.json`` and read back later."""
    path = out / name / STUDY_FILE
    if path.exists() and not again:
        return json.loads(path.read_text())
    started = time.monotonic()
    result = measure(folders, pieces, context)
    result["measure_seconds"] = round(time.monotonic() - started, 1)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(result, indent=1, default=float) + "\n")
    return result


# --------------------------------------------------------------------------- the table


def _seed_cells(result: dict[str, Any]) -> tuple[str, str]:
    """The "inside N/48" and classifier cells, one value per sampling seed (``–``: not sampled)."""
    rows = result.get("yardstick")
    if not rows:
        return "–", "–"
    inside = " / ".join(f"{r['inside']}/{r['pieces']}" for r in rows)
    classifier = " / ".join(f"{r['classifier']:.2f}" if isinstance(r["classifier"], float)
                            else str(r["classifier"]) for r in rows)
    return inside, classifier


def table_row(name: str, changed: str, result: dict[str, Any]) -> str:
    """One markdown row: variant, change, epochs, minutes, load, val bits, held-out bits, yardstick."""
    t = result.get("training", {})
    pooled = result["held_out"]["pooled"]
    inside, classifier = _seed_cells(result)
    epochs = f"{t['epochs_run']}/{t['best_epoch']}" if t else "–"
    load = "→".join(f"{x:.1f}" for x in t.get("load_average", [])) or "–"
    val = f"{t['val_bits_per_token']:.3f}" if t.get("val_bits_per_token") is not None else "–"
    return (f"| {name} | {changed} | {epochs} | {t.get('minutes', '–')} | {load} | {val} | "
            f"{pooled['bits_per_note']:.2f} ({pooled['struck']:.2f}/{pooled['held']:.2f}/"
            f"{pooled['duration']:.2f}) | {result['held_out']['fugues']} | {inside} | {classifier} |")


def write_results(out: Path, results: dict[str, dict[str, Any]], changes: dict[str, str]) -> None:
    """``results.json`` (everything measured) and ``results.md`` (the table)."""
    (out / RESULTS_JSON).write_text(json.dumps(results, indent=1, default=float) + "\n")
    seeds = " / ".join(str(s) for s in SAMPLING_SEEDS)
    lines = [f"Held-out bits/note: LSTM only, common key, pooled over the held-out fugues the model "
             f"covers (struck/held/duration). Yardstick: sampling {SAMPLING}, seeds {seeds}; "
             f"load: 1-minute load average before → after training.", "",
             "| variant | what changed | epochs run/best | minutes | load | val bits/token | "
             "held-out bits/note (struck/held/dur) | held-out fugues | inside (per seed) | "
             "classifier (per seed) |", "|" + "---|" * 10]
    lines += [table_row(name, changes.get(name, ""), r) for name, r in results.items()]
    (out / RESULTS_MD).write_text("\n".join(lines) + "\n")


def collect(out: Path) -> dict[str, dict[str, Any]]:
    """Every measured variant and pair under ``out``, in :data:`VARIANTS` then :data:`PAIRS` order."""
    order = [v.name for v in VARIANTS] + list(PAIRS)
    return {n: json.loads((out / n / STUDY_FILE).read_text()) for n in order
            if (out / n / STUDY_FILE).exists()}


def run(names: Sequence[str] | None, out: Path, again: bool = False, log: Any = None,
        corpus_config: CorpusConfig | None = None) -> dict[str, Any]:
    """Train (unless trained) and measure each variant named, then the pairs whose variants
    are all measured; the results files are rewritten after every variant, so a run cut
    short keeps what it measured."""
    variants = variants_by_name(names)
    corpus_config = corpus_config or CorpusConfig.from_env()
    pieces = corpus.load_corpus(corpus_config)
    context = {"real": real_stretch_statistics(pieces), "index": corpus_copy_index(pieces)}
    changes = {v.name: v.changed for v in VARIANTS}
    changes.update({p: f"{' and '.join(parts)} models together" for p, parts in PAIRS.items()})
    for variant in variants:
        print(f"{time.strftime('%H:%M:%S')} {variant.name}: training", file=log, flush=True)
        train(variant, out / variant.name, corpus_config)
        print(f"{time.strftime('%H:%M:%S')} {variant.name}: measuring", file=log, flush=True)
        measured(variant.name, [out / variant.name], out, pieces, context, again)
        for pair, parts in PAIRS.items():
            if all((out / p / STUDY_FILE).exists() for p in parts):
                measured(pair, [out / p for p in parts], out, pieces, context, again)
        write_results(out, collect(out), changes)
    print(f"{time.strftime('%H:%M:%S')} done", file=log, flush=True)
    return collect(out)
