"""The studies behind the shipped settings: short trainings that vary one thing each.

Every study (``bachgen train --study NAME``) trains variants of one small reference
setting with the same budget each and scores every variant on the held-out fugues;
each variant's result is cached in ``runs/studies/variants/KEY.json`` and the study's
table goes to ``runs/studies/NAME.json`` and into the model card (:mod:`bachgen.card`).
"""

from __future__ import annotations

import json
import sys
from dataclasses import replace
from pathlib import Path
from typing import Any, Sequence

from .config import ModelConfig, TokenConfig, TrainConfig, to_dict
from .errors import ConfigError
from .events import Piece
from .train import train


#: The small reference setting every study varies one thing of.
STUDY_TOKENS = TokenConfig(transpose="common", holds=False)
STUDY_MODEL = ModelConfig(vocab_size=2, embed_dim=64, units=128, layers=2, dropout=0.2, seq_len=50)
STUDY_TRAIN = TrainConfig(epochs=5, batch_size=32, learning_rate=5e-3, patience=2, stride=10,
                          epoch_windows=1600)

#: Study name -> variants: (label, token changes, model changes, train changes, modes).
STUDIES: dict[str, list[tuple[str, dict, dict, dict, tuple[str, ...]]]] = {
    "transpose": [
        ("common (C major / A minor)", {}, {}, {}, ("all",)),
        ("none (original keys)", {"transpose": "none"}, {}, {}, ("all",)),
        ("augment (12 transpositions)", {"transpose": "augment"}, {}, {}, ("all",)),
    ],
    "seq_len": [
        ("seq_len 25", {}, {"seq_len": 25}, {}, ("all",)),
        ("seq_len 50", {}, {}, {}, ("all",)),
        ("seq_len 100", {}, {"seq_len": 100}, {}, ("all",)),
    ],
    "batch": [
        ("batch 128", {}, {}, {"batch_size": 128}, ("all",)),
        ("batch 32", {}, {}, {}, ("all",)),
    ],
    "mode": [
        ("separate major / minor models", {}, {}, {}, ("major", "minor")),
        ("one model (major + minor)", {}, {}, {}, ("all",)),
    ],
}

STUDY_NOTES = {
    "transpose": "Held-out pieces are scored in the keys each variant works in (common: moved "
                 "to C major / A minor; none and augment: original keys).",
    "seq_len": "Training windows of 25, 50 or 100 words; evaluation always runs the whole piece.",
    "batch": "Same windows per epoch, so batch 128 makes a quarter of the updates of batch 32.",
    "mode": "Separate models: one trained on the major training fugues, one on the minor, each "
            "with half the window budget (same total); each held-out fugue is scored by the "
            "model of its mode.",
}


def _variant_key(tokens: TokenConfig, model: ModelConfig, config: TrainConfig,
                 modes: tuple[str, ...]) -> str:
    return (f"t-{tokens.transpose}_h-{int(tokens.holds)}_e{model.embed_dim}_u{model.units}"
            f"_l{model.layers}_s{model.seq_len}_b{config.batch_size}_w{config.epoch_windows}"
            f"_ep{config.epochs}_st{config.stride}_{'-'.join(modes)}_seed{config.seed}")


def run_variant(pieces: Sequence[Piece], tokens: TokenConfig, model: ModelConfig,
                config: TrainConfig, modes: tuple[str, ...], out: Path, force: bool = False,
                verbose: int = 2) -> dict[str, Any]:
    """Train (once per mode) and score on the held-out fugues; cached in ``out/KEY.json``."""
    from .evaluate import Scores, evaluate_bundle
    from .dataset import split_pieces

    key = _variant_key(tokens, model, config, modes)
    cache = out / f"{key}.json"
    if cache.is_file() and not force:
        return json.loads(cache.read_text())
    parts: list[Scores] = []
    seconds = 0.0
    epochs = []
    vocab = []
    val_loss = []
    for mode in modes:
        part_config = config if len(modes) == 1 else replace(
            config, epoch_windows=max(1, (config.epoch_windows or 0) // len(modes)) or None)
        result = train(pieces, tokens, model, part_config, out / key / mode, mode, verbose=verbose)
        test = split_pieces(pieces, mode=mode).test
        parts.append(evaluate_bundle(result.bundle, test, mode))
        seconds += result.seconds
        epochs.append(f"{result.best_epoch}/{len(result.history['loss'])}")
        vocab.append(str(result.bundle.codec.vocab_size - 1))
        val_loss.append(result.best_val_loss)
    bits = sum(p.bits for p in parts)
    events = sum(p.events for p in parts)
    notes = sum(p.notes for p in parts)
    row = {
        "key": key,
        "vocabulary": " + ".join(vocab),
        "unknown held-out words": sum(p.unknown_words for p in parts),
        "best epoch / run": ", ".join(epochs),
        "held-out bits/note": bits / notes,
        "bits/event": bits / events,
        "top-1": sum(p.top1 * p.events for p in parts) / events,
        "top-5": sum(p.top5 * p.events for p in parts) / events,
        "train s": round(seconds),
        "best val loss": " + ".join(f"{v:.3f}" for v in val_loss),
    }
    out.mkdir(parents=True, exist_ok=True)
    cache.write_text(json.dumps(row, indent=2) + "\n")
    return row


def run_study(name: str, pieces: Sequence[Piece], out: Path, seed: int = STUDY_TRAIN.seed,
              force: bool = False, verbose: int = 2) -> dict[str, Any]:
    """Run every variant of study ``name``; writes and returns ``out/NAME.json``."""
    if name not in STUDIES:
        raise ConfigError(f"Unknown study {name!r}; choose from {', '.join(STUDIES)} or all.")
    rows = []
    for label, tok, mod, trn, modes in STUDIES[name]:
        tokens = replace(STUDY_TOKENS, **tok)
        model = replace(STUDY_MODEL, **mod)
        config = replace(STUDY_TRAIN, seed=seed, **trn)
        print(f"study {name}: {label}", file=sys.stderr, flush=True)
        row = run_variant(pieces, tokens, model, config, modes, out / "variants", force, verbose)
        rows.append({"variant": label, **{k: v for k, v in row.items() if k != "key"}})
    report = {
        "study": name,
        "reference": {"tokens": to_dict(STUDY_TOKENS), "model": to_dict(STUDY_MODEL),
                      "training": to_dict(replace(STUDY_TRAIN, seed=seed))},
        "note": STUDY_NOTES[name],
        "command": f"bachgen train --study {name}",
        "rows": rows,
    }
    (out / f"{name}.json").write_text(json.dumps(report, indent=2) + "\n")
    return report

