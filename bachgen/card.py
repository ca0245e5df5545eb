"""The model card: what the shipped network was trained on, how, and how well it does.

:func:`build_card` gathers the facts (data and split, training, held-out figures, the
studies of :mod:`bachgen.studies`) as sections of rows; :func:`write_card` scores a
saved bundle on the held-out fugues and saves the card into it (the bundle renders it
as ``README.md``).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Sequence

from . import catalog
from .events import Piece
from .studies import STUDIES

STUDY_COLUMNS = ["variant", "vocabulary", "unknown held-out words", "best epoch / run",
                 "held-out bits/note", "bits/event", "top-1", "top-5", "train s"]


def build_card(bundle: Any, studies_dir: Path | None, evaluation: dict | None,
               baseline_note: str = "") -> dict[str, Any]:
    """The model card's facts: data, split, training, held-out figures, studies.

    Training facts (split, time, the command) come from ``bundle.training``.
    """
    training = bundle.training
    sections = [_data_section(training["split"]), _training_section(bundle)]
    if training.get("note"):
        sections.append({"title": "How these settings were chosen", "body": training["note"]})
    if evaluation:
        sections.append(_evaluation_section(evaluation, baseline_note))
    if studies_dir is not None:
        sections += _study_sections(studies_dir)
    return {
        "architecture": bundle.card.get("architecture", "embedding-lstm"),
        "title": "bachgen LSTM: event words of the Well-Tempered Clavier fugues",
        "summary": f"A {bundle.model_config.layers}-layer LSTM ({bundle.model_config.units} "
                   f"units, embedding {bundle.model_config.embed_dim}) that predicts the next "
                   f"event word (the pitches struck together and for how long) of a fugue in the "
                   f"style of J.S. Bach. Words: transpose={bundle.tokens.transpose}, "
                   f"holds={bundle.tokens.holds}; {bundle.codec.vocab_size - 1} words. "
                   f"Intended use: generating new music for listening and study in the bachgen "
                   f"app; it knows only these 48 fugues and nothing of other music.",
        "sections": sections,
    }


def _data_section(split: dict[str, list[str]]) -> dict[str, Any]:
    """Where the fugues come from, how they are split, and one row per fugue."""
    from .dataset import HELD_OUT, VALIDATION

    data_rows = [{"id": f.id, "title": f.title, "voices": f.voices,
                  "split": "test (held out)" if f.id in HELD_OUT else
                  ("validation" if f.id in VALIDATION else "train"),
                  "sha256": f.sha256} for f in catalog.FUGUES]
    return {
        "title": "Data",
        "body": f"The 48 fugues of the Well-Tempered Clavier (Books I and II) in Humdrum kern, "
                f"from `{catalog.SOURCE_REPOSITORY}` at commit `{catalog.SOURCE_COMMIT}`; each "
                f"file is verified against its SHA-256 before use. The split is by whole piece "
                f"and fixed (`bachgen.dataset.HELD_OUT`, `VALIDATION`): "
                f"{len(split['train'])} fugues train, {len(split['validation'])} "
                f"decide early stopping, {len(split['test'])} are held out for every "
                f"figure below. The vocabulary is built from the training fugues only.",
        "rows": data_rows, "columns": ["id", "title", "voices", "split", "sha256"]}


def _training_section(bundle: Any) -> dict[str, Any]:
    """How long and how far the network trained, and the command that repeats it."""
    training = bundle.training
    command = training.get("command", "bachgen train")
    return {
        "title": "Training",
        "body": f"{training['epochs_run']} epochs run, best epoch {training['best_epoch']} "
                f"(validation loss {training['best_val_loss']:.3f} nats per word), "
                f"{training['train_windows']} training windows of {bundle.model_config.seq_len}+1 "
                f"words (stride {training['config']['stride']}), "
                f"**{training['seconds'] / 60:.1f} minutes** on {training['machine']}.\n\n"
                f"Reproduce (from the repository root, corpus in `$BACHGEN_CORPUS_DIR`):\n\n"
                f"```\n{command}\n```\n\nThe same seed gives the same weights on the same "
                f"machine and TensorFlow version (op determinism on)."}


def _evaluation_section(evaluation: dict, baseline_note: str) -> dict[str, Any]:
    """The held-out figures of every model in ``evaluation`` (from :mod:`bachgen.evaluate`)."""
    rows = [{"model": m["model"], "bits/note": m["bits_per_note"],
             "bits/event": m["bits_per_event"], "cross-entropy (nats/event)":
             m["cross_entropy_nats"], "top-1": m["top1"], "top-5": m["top5"],
             "unknown words": m["unknown_words"], "events": m["events"], "notes": m["notes"]}
            for m in evaluation["models"]]
    return {
        "title": "Held-out figures",
        "body": f"Held-out fugues: {', '.join(evaluation['held_out'])}. The network runs "
                f"through each held-out fugue continuously, its state carried from the first "
                f"word to the last, as in generation. A word the vocabulary lacks costs every "
                f"model the same: escape probability {evaluation['escape_probability']:.4f} "
                f"(Good–Turing, words seen once / training words) plus the bits to spell it "
                f"(pitch count, pitches, duration); it counts as a miss for accuracy. "
                f"Reproduce with `bachgen evaluate` (`--json` for these numbers).",
        "rows": rows,
        "note": baseline_note}


def _study_sections(studies_dir: Path) -> list[dict[str, Any]]:
    """One section per study whose table is in ``studies_dir`` (studies not run are left out)."""
    sections = []
    for name in STUDIES:
        path = studies_dir / f"{name}.json"
        if not path.is_file():
            continue
        study = json.loads(path.read_text())
        ref = study["reference"]
        best = min(study["rows"], key=lambda r: r["held-out bits/note"])
        sections.append({
            "title": f"Study: {name}",
            "body": f"{study['note']} Reference setting: words {ref['tokens']['transpose']}"
                    f"/holds={ref['tokens']['holds']}, embedding {ref['model']['embed_dim']}, "
                    f"{ref['model']['layers']} x LSTM {ref['model']['units']}, seq_len "
                    f"{ref['model']['seq_len']}, batch {ref['training']['batch_size']}, lr "
                    f"{ref['training']['learning_rate']}; budget for every variant: at most "
                    f"{ref['training']['epochs']} epochs of {ref['training']['epoch_windows']} "
                    f"windows, early stopping patience {ref['training']['patience']}, seed "
                    f"{ref['training']['seed']}. Reproduce: `{study['command']}`.\n\n"
                    f"Fewest held-out bits per note: **{best['variant']}**.",
            "rows": study["rows"], "columns": STUDY_COLUMNS})
    return sections


def write_card(folder: str | Path, pieces: Sequence[Piece], studies_dir: Path | None,
               note: str | None = None) -> dict:
    """Score the saved bundle in ``folder`` on the held-out fugues and (re)write its card.

    The shipped network is compared with the n-gram and the baseline in
    ``assets/baseline``; a baseline bundle gets a card with its own figures only.
    ``note`` (markdown) says how the settings were chosen. Returns the evaluation.
    """
    from .bundle import load_bundle, save_bundle
    from .dataset import split_pieces
    from .evaluate import default_baseline_dir, evaluate_all, evaluate_bundle

    bundle = load_bundle(folder)
    if note:
        bundle.training["note"] = note
    if bundle.architecture == "scalar-lstm":
        scores = evaluate_bundle(bundle, split_pieces(pieces).test, "original-architecture baseline")
        evaluation = {"held_out": bundle.training["split"]["test"],
                      "escape_probability": 0.0, "models": [scores.to_dict()]}
        card = build_card(bundle, None, evaluation)
        card["title"] = "bachgen baseline: the original project's LSTM architecture"
        card["summary"] = (f"The original architecture, kept to measure the bachgen network "
                           f"against: the word index divided by the vocabulary size as one "
                           f"scalar input, one LSTM({bundle.model_config.units}), softmax "
                           f"over the same words as the shipped model. Not for generation.")
    else:
        evaluation = evaluate_all(pieces, Path(folder), default_baseline_dir())
        card = build_card(bundle, studies_dir, evaluation)
    bundle.card = card
    save_bundle(bundle, folder)
    return evaluation

