"""The model card: what the shipped network was trained on, how, and how well it does.

:func:`build_card` gathers the facts (data and split, training, held-out figures, the
studies of :mod:`bachgen.studies`) as sections of rows; :func:`write_card` scores a
saved bundle on the held-out fugues and saves the card into it (the bundle renders it
as ``README.md``).

The spelled model (the default) has its own card: :func:`render_spelled_card` renders it
from the bundle's ``config.json`` and ``history.json``, the held-out and generated-music
figures when given, the files' checksums, the command that reproduces it, and the
previous word model's figures; :func:`write_spelled_card` saves it as ``README.md``.
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
    command = word_command(training)
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


def word_command(training: dict[str, Any]) -> str:
    """The command that repeats a word training; one recorded before the spelled model
    became the default gets ``--codec words``, which it now needs."""
    command = str(training.get("command", "bachgen train --codec words"))
    prefix = "bachgen train"
    if command.startswith(prefix) and "--codec" not in command:
        command = f"{prefix} --codec words{command[len(prefix):]}"
    return command


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

    The network is compared with the n-gram (a baseline bundle no longer ships for the
    words); a baseline bundle gets a card with its own figures only.
    ``note`` (markdown) says how the settings were chosen. Returns the evaluation.
    """
    from .bundle import load_bundle, save_bundle
    from .dataset import split_pieces
    from .evaluate import evaluate_all, evaluate_bundle

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
        evaluation = evaluate_all(pieces, Path(folder), None)
        card = build_card(bundle, studies_dir, evaluation)
    bundle.card = card
    save_bundle(bundle, folder)
    return evaluation



# --------------------------------------------------------------------------- spelled model card

#: The word model's held-out figures (bits per note over its words, the 6 held-out fugues),
#: as its own card recorded them; used when that bundle is no longer in ``assets/words``.
WORD_MODEL_FIGURES: list[dict[str, Any]] = [
    {"model": "lstm (shipped)", "bits/note": 5.617, "bits/event": 10.046, "top-1": 0.036,
     "top-5": 0.174, "unknown words": 197, "events": 3393, "notes": 6069},
    {"model": "kneser-ney-trigram", "bits/note": 5.816, "bits/event": 10.402, "top-1": 0.099,
     "top-5": 0.259, "unknown words": 197, "events": 3393, "notes": 6069},
    {"model": "original-architecture baseline", "bits/note": 6.498, "bits/event": 11.622,
     "top-1": 0.014, "top-5": 0.060, "unknown words": 197, "events": 3393, "notes": 6069},
]
#: How the word card named its rows, and how this card names them (it is no longer shipped).
WORD_MODEL_NAMES = {"lstm (shipped)": "word LSTM (shipped before this model)"}
WORD_FIGURE_COLUMNS = ["model", "bits/note", "bits/event", "top-1", "top-5", "unknown words",
                       "events", "notes"]
NOT_MEASURED = "_Not measured._"
EVALUATION_FILE = "evaluation.json"
ADD_FIGURES = " (`bachgen card FOLDER --evaluation FILE` adds them.)"
CHECKSUM_FILES = ("model.keras", "codec.json")


def sha256_of(path: Path) -> str:
    """The SHA-256 of a file, read in blocks (a model file need not fit in memory twice)."""
    import hashlib

    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def file_checksums(folder: str | Path, names: Sequence[str] = CHECKSUM_FILES) -> dict[str, str]:
    """SHA-256 of each of ``names`` present in ``folder``: what a user checks a download by."""
    folder = Path(folder)
    return {name: sha256_of(folder / name) for name in names if (folder / name).is_file()}


def word_model_figures(words_dir: Path | None = None) -> list[dict[str, Any]]:
    """The word model's held-out rows: from its bundle's card data when the bundle is there,
    else the figures recorded in :data:`WORD_MODEL_FIGURES` (so they outlive the bundle)."""
    from .bundle import words_bundle_dir

    path = (words_dir or words_bundle_dir()) / "config.json"
    try:
        sections = json.loads(path.read_text())["card"]["sections"]
        rows = next(s["rows"] for s in sections if s.get("title") == "Held-out figures")
        rows = [{c: row[c] for c in WORD_FIGURE_COLUMNS if c in row} for row in rows]
    except (OSError, ValueError, KeyError, TypeError, StopIteration):
        rows = WORD_MODEL_FIGURES
    return [{**row, "model": WORD_MODEL_NAMES.get(row.get("model"), row.get("model"))} for row in rows]


def load_evaluation(folder: str | Path, evaluation: dict | None = None) -> dict[str, Any]:
    """The figures to render: ``evaluation`` when given, else the bundle's ``evaluation.json``
    (kept beside the model so a re-rendered card keeps them), else nothing."""
    if evaluation is not None:
        return dict(evaluation)
    path = Path(folder) / EVALUATION_FILE
    if path.is_file():
        try:
            data = json.loads(path.read_text())
            return data if isinstance(data, dict) else {}
        except ValueError:
            return {}
    return {}


def _fmt(value: Any) -> str:
    """A table cell: floats to 3 decimals, lists joined, pipes escaped."""
    if isinstance(value, bool) or value is None:
        return "—" if value is None else str(value)
    if isinstance(value, float):
        return f"{value:.3f}"
    if isinstance(value, (list, tuple)):
        return ", ".join(_fmt(v) for v in value)
    return str(value).replace("|", "\\|")


def _md_table(rows: Sequence[dict[str, Any]], columns: Sequence[str] | None = None) -> str:
    """A markdown table of ``rows`` (columns: those given, else every key in order of first use)."""
    if not rows:
        return NOT_MEASURED
    if columns is None:
        columns = list(dict.fromkeys(k for row in rows for k in row))
    lines = ["| " + " | ".join(columns) + " |", "|" + "---|" * len(columns)]
    lines += ["| " + " | ".join(_fmt(row.get(c, "")) for c in columns) + " |" for row in rows]
    return "\n".join(lines)


def _scalars(data: dict[str, Any], prefix: str = "", depth: int = 1) -> dict[str, Any]:
    """The plain values of ``data``, nested dicts flattened to ``outer.inner`` down to ``depth``
    levels (what is deeper, or a list of dicts, is left for its own table)."""
    out: dict[str, Any] = {}
    for key, value in data.items():
        name = f"{prefix}{key}"
        if isinstance(value, dict):
            if depth > 0:
                out.update(_scalars(value, f"{name}.", depth - 1))
        elif isinstance(value, list) and any(isinstance(v, (dict, list)) for v in value):
            continue
        else:
            out[name] = value
    return out


def held_out_rows(held_out: Any) -> list[dict[str, Any]]:
    """One row per model of the held-out figures, whatever form they come in.

    Understood: ``{model: {piece: {...}, "pooled": {...}}}`` (per piece and pooled),
    ``{model: {"bits_per_note": ...}}``, ``{"models": [{"model": ...}, ...]}`` and a
    list of rows; anything else gives its plain values as one row.
    """
    if isinstance(held_out, list):
        return [_scalars(r) for r in held_out if isinstance(r, dict)]
    if not isinstance(held_out, dict) or not held_out:
        return []
    if isinstance(held_out.get("models"), list):
        return held_out_rows(held_out["models"])
    rows = []
    for name, value in held_out.items():
        if not isinstance(value, dict):
            continue
        pooled = value.get("pooled") if isinstance(value.get("pooled"), dict) else value
        row = {"model": name, **_scalars(pooled, depth=0)}
        pieces = [v for k, v in value.items() if k != "pooled" and isinstance(v, dict)]
        if pieces and "pooled" in value:
            row["pieces"] = len(pieces)
            notes = [p.get("notes") for p in pieces if isinstance(p.get("notes"), (int, float))]
            if notes:
                row["notes"] = int(sum(notes))
        rows.append(row)
    return rows or [_scalars(held_out)]


def held_out_piece_rows(held_out: Any) -> list[dict[str, Any]]:
    """Bits per note of each model on each held-out fugue (when the figures give pieces)."""
    if not isinstance(held_out, dict):
        return []
    rows: dict[str, dict[str, Any]] = {}
    for name, value in held_out.items():
        if not isinstance(value, dict) or "pooled" not in value:
            continue
        for piece, figures in value.items():
            if piece != "pooled" and isinstance(figures, dict) and "bits_per_note" in figures:
                rows.setdefault(piece, {"fugue": piece})[name] = figures["bits_per_note"]
    return list(rows.values())


def generated_rows(generated: Any) -> list[dict[str, Any]]:
    """One row per measured setting of the generated music (a row, a list, or named rows)."""
    if isinstance(generated, list):
        items = [("", g) for g in generated if isinstance(g, dict)]
    elif isinstance(generated, dict) and generated:
        nested = all(isinstance(v, dict) for v in generated.values())
        items = list(generated.items()) if nested and "settings" not in generated else [("", generated)]
    else:
        return []
    rows = []
    for name, item in items:
        row = {"run": name} if name else {}
        settings = item.get("settings")
        if isinstance(settings, dict):
            row["settings"] = ", ".join(f"{k} {_fmt(v)}" for k, v in settings.items())
        classifier = item.get("classifier")
        if isinstance(classifier, dict) and "accuracy" in classifier:
            row["classifier accuracy"] = classifier["accuracy"]
        row.update({k: v for k, v in _scalars(item, depth=0).items() if k not in row})
        rows.append(row)
    return rows


def generated_statistic_rows(generated: Any) -> list[dict[str, Any]]:
    """Per statistic, the generated median against the real one (first measured setting)."""
    first = generated[0] if isinstance(generated, list) and generated else generated
    stats = first.get("statistics") if isinstance(first, dict) else None
    if not isinstance(stats, dict):
        return []
    return [{"statistic": name, **_scalars(value, depth=0)} for name, value in stats.items()
            if isinstance(value, dict)]


def _spelled_summary(config: dict[str, Any]) -> str:
    """What the network is and what it is for, in a paragraph."""
    net = config.get("net", {})
    return (f"A {net.get('layers', '?')}-layer LSTM ({net.get('units', '?')} units, token "
            f"embedding {net.get('embed', '?')}) that reads the events of a fugue spelled as "
            f"short runs of sub-tokens — each sounding pitch marked struck or held, then a "
            f"duration that ends the event — and predicts the next sub-token. Beside every "
            f"token it is told where the event starts in the bar, the time signature, and the "
            f"key (mode and shift from C major / A minor), so the music keeps its seed's key "
            f"and pulse without a pull from the sampler. Vocabulary: "
            f"{config.get('vocab_size', '?')} ids (padding included). Intended use: generating "
            f"new music for listening and study in the bachgen app; it knows only the 48 fugues "
            f"of the Well-Tempered Clavier and nothing of other music.")


def _files_section(folder: Path) -> list[str]:
    """The bundle's files, with the SHA-256 of the model and the codec."""
    sums = file_checksums(folder)
    lines = ["## Files", ""]
    described = {"model.keras": "the network (weights and architecture, no optimizer state)",
                 "codec.json": "the codec: how music becomes the network's ids",
                 "config.json": "network and training settings, split and training figures",
                 "history.json": "loss and validation loss of every epoch (nats per token)",
                 EVALUATION_FILE: "the held-out and generated-music figures of this card"}
    for name, text in described.items():
        path = folder / name
        if path.is_file():
            size = path.stat().st_size
            lines.append(f"- `{name}` ({size / 1e6:.1f} MB): {text}" if size > 1e5
                         else f"- `{name}`: {text}")
    lines += ["", "SHA-256:", "", "```"]
    lines += [f"{digest}  {name}" for name, digest in sums.items()] or ["(files missing)"]
    return lines + ["```", ""]


def _settings_section(config: dict[str, Any]) -> list[str]:
    """The network's and the training's settings as one table."""
    rows = [{"group": "net", "setting": k, "value": v} for k, v in config.get("net", {}).items()]
    rows += [{"group": "fit", "setting": k, "value": v} for k, v in config.get("fit", {}).items()]
    return ["## Settings", "", _md_table(rows, ["group", "setting", "value"]) if rows
            else NOT_MEASURED, ""]


def _data_lines(config: dict[str, Any]) -> list[str]:
    """The corpus, the fixed split by piece, and how the training data is augmented."""
    split = config.get("split") or {}
    fit = config.get("fit") or {}
    lines = ["## Data", "",
             f"The 48 fugues of the Well-Tempered Clavier (Books I and II) in Humdrum kern, from "
             f"`{catalog.SOURCE_REPOSITORY}` at commit `{catalog.SOURCE_COMMIT}`; each file is "
             f"verified against its SHA-256 before use. The split is by whole piece and fixed "
             f"(`bachgen.dataset.HELD_OUT`, `VALIDATION`). Training fugues are moved to C major / "
             f"A minor and shifted by −{fit.get('shifts', '?')}..+{fit.get('shifts', '?')} "
             f"semitones, each with its key condition; validation fugues are used in the common "
             f"key only. The codec's vocabulary (event lengths, widest chord, time signatures) "
             f"holds no note data.", ""]
    if split:
        rows = [{"set": name, "fugues": len(ids), "ids": ", ".join(ids)} for name, ids in split.items()]
        lines += [_md_table(rows, ["set", "fugues", "ids"]), ""]
    if fit.get("limit_pieces"):
        lines += [f"**Trained on the first {fit['limit_pieces']} training fugues only** "
                  f"(`limit_pieces`): a trial run, not a model to use.", ""]
    return lines


def _history_rows(folder: Path) -> list[dict[str, Any]]:
    """Loss and validation loss of every epoch, in bits per token (from ``history.json``)."""
    import math

    try:
        history = json.loads((folder / "history.json").read_text())
    except (OSError, ValueError):
        return []
    loss, val = history.get("loss") or [], history.get("val_loss") or []
    return [{"epoch": i + 1, "train bits/token": loss[i] / math.log(2) if i < len(loss) else None,
             "validation bits/token": val[i] / math.log(2) if i < len(val) else None}
            for i in range(max(len(loss), len(val)))]


def _training_lines(folder: Path, config: dict[str, Any], command: str) -> list[str]:
    """Size, epochs, the best validation figure, time and machine load, and the command."""
    def fig(key: str, form: str = "{}") -> str:
        value = config.get(key)
        return form.format(value) if value is not None else "not measured"

    seconds = config.get("train_seconds")
    before, after = config.get("load_average_before"), config.get("load_average_after")
    rows = [{"figure": "parameters", "value": fig("parameters", "{:,}")},
            {"figure": "vocabulary (ids, padding included)", "value": fig("vocab_size")},
            {"figure": "training tokens (augmented)", "value": fig("train_tokens", "{:,}")},
            {"figure": "training / validation windows",
             "value": f"{fig('train_windows')} / {fig('validation_windows')}"},
            {"figure": "epochs run", "value": fig("epochs_run")},
            {"figure": "best epoch (weights kept)", "value": fig("best_epoch")},
            {"figure": "validation bits/token at the best epoch",
             "value": fig("best_val_bits_per_token", "{:.4f}")},
            {"figure": "training time",
             "value": f"{seconds:.0f} s ({seconds / 60:.1f} min)" if seconds is not None
             else "not measured"},
            {"figure": "load average (1, 5, 15 min) before / after",
             "value": f"{_fmt(before)} / {_fmt(after)}" if before and after else "not measured"}]
    lines = ["## Training", "", _md_table(rows, ["figure", "value"]), ""]
    history = _history_rows(folder)
    if history:
        lines += ["Every epoch:", "", _md_table(history), ""]
    lines += ["Reproduce (from the repository root, corpus in `$BACHGEN_CORPUS_DIR`; training "
              "stops at the best validation loss or the time budget, so a busier machine may "
              "run fewer epochs):", "", "```", command, "```", ""]
    return lines


def _evaluation_lines(evaluation: dict[str, Any]) -> list[str]:
    """Held-out bits per note and the generated-music figures; "not measured" when absent."""
    lines = ["## Held-out figures", "",
             "Bits per note over the full piano reduction (onsets, pitches and durations) of "
             "the 6 held-out fugues, in the common key: the sum of −log2 p over every token of "
             "a piece divided by its notes.", ""]
    rows = held_out_rows(evaluation.get("held_out"))
    lines += [_md_table(rows) if rows else NOT_MEASURED + ADD_FIGURES, ""]
    pieces = held_out_piece_rows(evaluation.get("held_out"))
    if pieces:
        lines += ["Per fugue (bits/note):", "", _md_table(pieces), ""]
    lines += ["## Generated music", "",
              "One generation per fugue after a seed from its opening, measured against the "
              "real fugues' stretches (`bachgen.quality`): pieces inside every band of the real "
              "ones, stuck in a loop, longest run copied from the corpus (events).", ""]
    rows = generated_rows(evaluation.get("generated"))
    lines += [_md_table(rows) if rows else NOT_MEASURED + ADD_FIGURES, ""]
    stats = generated_statistic_rows(evaluation.get("generated"))
    if stats:
        lines += ["Statistics of the first setting against the real fugues:", "",
                  _md_table(stats), ""]
    other = {k: v for k, v in evaluation.items() if k not in ("held_out", "generated")}
    if other:
        lines += ["Further figures:", "", "```", json.dumps(other, indent=1, default=str)[:4000],
                  "```", ""]
    return lines


def _previous_model_lines(words_dir: Path | None = None) -> list[str]:
    """The word model's figures, said plainly not to compare with the spelled model's bits."""
    return ["## The previous model (one word per event)", "",
            "Before this model, bachgen shipped a 2-layer LSTM (embedding 64, 128 units, "
            "dropout 0.3, windows of 25 events) over one *word* per event — the pitches struck "
            "together and for how long — with the training fugues in all 12 keys "
            "(about 21,000 words, a 17 MB bundle, about 12 minutes of training on 2 CPU cores). "
            "Its held-out figures, on the same 6 fugues:", "",
            _md_table(word_model_figures(words_dir), WORD_FIGURE_COLUMNS), "",
            "**These bits per note are NOT comparable with the spelled model's.** The words did "
            "not model durations: held notes were dropped and every note stopped at the next "
            "event, so those bits pay for less of the music than the spelled model's, which "
            "cover onsets, pitches *and* durations of the full piano reduction. The n-gram and "
            "the original architecture in that table were scored on the same words; the "
            "comparison inside each table holds, not across them.", ""]


def render_spelled_card(folder: str | Path, evaluation: dict | None = None,
                        command: str | None = None, words_dir: Path | None = None) -> str:
    """The model card (``README.md``) of the spelled bundle in ``folder``, from its
    ``config.json`` and ``history.json``, the figures in ``evaluation`` (or the bundle's
    ``evaluation.json``), the files' checksums and the command that reproduces it.

    Tolerant by design: whatever is missing is said to be "not measured".
    """
    from .bundle import CONFIG_FILE

    folder = Path(folder)
    try:
        config = json.loads((folder / CONFIG_FILE).read_text())
    except (OSError, ValueError):
        config = {}
    if command is None:
        from .cli import spelled_command

        command = spelled_command(config.get("net", {}), config.get("fit", {}), str(folder))
    lines = ["# bachgen spelled LSTM: the Well-Tempered Clavier fugues, event by event", "",
             _spelled_summary(config), ""]
    lines += _files_section(folder)
    lines += _settings_section(config)
    lines += _data_lines(config)
    lines += _training_lines(folder, config, command)
    lines += _evaluation_lines(load_evaluation(folder, evaluation))
    lines += _previous_model_lines(words_dir)
    return "\n".join(lines).rstrip() + "\n"


def write_spelled_card(folder: str | Path, evaluation: dict | None = None,
                       command: str | None = None, words_dir: Path | None = None) -> Path:
    """Render the card of the spelled bundle in ``folder`` into its ``README.md``; a given
    ``evaluation`` is also kept as ``evaluation.json`` so later renderings keep it."""
    from .bundle import CARD_FILE

    folder = Path(folder)
    if evaluation is not None:
        (folder / EVALUATION_FILE).write_text(json.dumps(evaluation, indent=1, default=float) + "\n")
    path = folder / CARD_FILE
    tmp = folder / f".{CARD_FILE}.tmp"
    tmp.write_text(render_spelled_card(folder, evaluation, command, words_dir))
    tmp.replace(path)
    return path
