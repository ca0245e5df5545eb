"""The model card of a bundle: what the network was trained on, how, and how well it does.

:func:`render_card` renders it from the bundle's ``config.json`` and ``history.json``, the
held-out and generated-music figures when given (``bachgen card FOLDER --evaluation FILE``,
kept beside the model as ``evaluation.json``), the files' checksums and the ``bachgen train``
command that reproduces it (:func:`bachgen.train.train_command`); :func:`write_card` saves
it as the bundle's ``README.md``. The previous word model's held-out figures are kept as
history (:data:`WORD_MODEL_FIGURES`): that model is retired and no longer ships.
"""

from __future__ import annotations

import hashlib
import json
import math
from pathlib import Path
from typing import Any, Sequence

from .. import catalog
from ..bundle import CARD_FILE, CODEC_FILE, CONFIG_FILE, HISTORY_FILE, MODEL_FILE
from ..leaning import LEANING_FILE
from ..train import train_command

#: The retired word model's held-out figures (bits per note over its words, the 6 held-out
#: fugues), as its own card recorded them.
WORD_MODEL_FIGURES: list[dict[str, Any]] = [
    {"model": "word LSTM (shipped before this model)", "bits/note": 5.617, "bits/event": 10.046,
     "top-1": 0.036, "top-5": 0.174, "unknown words": 197, "events": 3393, "notes": 6069},
    {"model": "kneser-ney-trigram", "bits/note": 5.816, "bits/event": 10.402, "top-1": 0.099,
     "top-5": 0.259, "unknown words": 197, "events": 3393, "notes": 6069},
    {"model": "original-architecture baseline", "bits/note": 6.498, "bits/event": 11.622,
     "top-1": 0.014, "top-5": 0.060, "unknown words": 197, "events": 3393, "notes": 6069},
]
WORD_FIGURE_COLUMNS = ["model", "bits/note", "bits/event", "top-1", "top-5", "unknown words",
                       "events", "notes"]
NOT_MEASURED = "_Not measured._"
EVALUATION_FILE = "evaluation.json"
ADD_FIGURES = " (`bachgen card FOLDER --evaluation FILE` adds them.)"
CHECKSUM_FILES = (MODEL_FILE, CODEC_FILE)


def sha256_of(path: Path) -> str:
    """The SHA-256 of a file, read in blocks (a model file need not fit in memory twice)."""
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def file_checksums(folder: str | Path, names: Sequence[str] = CHECKSUM_FILES) -> dict[str, str]:
    """SHA-256 of each of ``names`` present in ``folder``: what a user checks a download by."""
    folder = Path(folder)
    return {name: sha256_of(folder / name) for name in names if (folder / name).is_file()}


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


def _summary(config: dict[str, Any]) -> str:
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
    described = {MODEL_FILE: "the network (weights and architecture, no optimizer state)",
                 CODEC_FILE: "the codec: how music becomes the network's ids",
                 CONFIG_FILE: "network and training settings, split and training figures",
                 HISTORY_FILE: "loss and validation loss of every epoch (nats per token)",
                 EVALUATION_FILE: "the held-out and generated-music figures of this card",
                 LEANING_FILE: "the network's leaning by interval, added to its logits before each draw "
                               "(`bachgen.leaning`; fitted by `bachgen evaluate --calibration --fit`, then "
                               "`--free-rounds`)"}
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
             f"(`bachgen.splits.HELD_OUT`, `VALIDATION`). Training fugues are moved to C major / "
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
    try:
        history = json.loads((folder / HISTORY_FILE).read_text())
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
    held_out, generated = evaluation.get("held_out"), evaluation.get("generated")
    lines = _figure_lines(
        "## Held-out figures",
        "Bits per note over the full piano reduction (onsets, pitches and durations) of "
        "the 6 held-out fugues, in the common key: the sum of −log2 p over every token of "
        "a piece divided by its notes.",
        held_out_rows(held_out), "Per fugue (bits/note):", held_out_piece_rows(held_out))
    lines += _figure_lines(
        "## Generated music",
        "One generation per fugue after a seed from its opening, measured against the "
        "real fugues' stretches (`bachgen evaluate --generated`): pieces inside every band of the real "
        "ones, stuck in a loop, longest run copied from the corpus (events).",
        generated_rows(generated), "Statistics of the first setting against the real fugues:",
        generated_statistic_rows(generated))
    other = {k: v for k, v in evaluation.items() if k not in ("held_out", "generated")}
    if other:
        lines += ["Further figures:", "", "```", json.dumps(other, indent=1, default=str)[:4000],
                  "```", ""]
    return lines


def _figure_lines(heading: str, intro: str, rows: list[dict[str, Any]], detail: str,
                  detail_rows: list[dict[str, Any]]) -> list[str]:
    """A section of the card: its table ("not measured" without one), then the detail table
    when there is one."""
    lines = [heading, "", intro, "", _md_table(rows) if rows else NOT_MEASURED + ADD_FIGURES, ""]
    if detail_rows:
        lines += [detail, "", _md_table(detail_rows), ""]
    return lines


def _previous_model_lines() -> list[str]:
    """The retired word model's figures, said plainly not to compare with the spelled model's bits."""
    return ["## The previous model (one word per event)", "",
            "Before this model, bachgen shipped a 2-layer LSTM (embedding 64, 128 units, "
            "dropout 0.3, windows of 25 events) over one *word* per event — the pitches struck "
            "together and for how long — with the training fugues in all 12 keys "
            "(about 21,000 words, a 17 MB bundle, about 12 minutes of training on 2 CPU cores). "
            "Its held-out figures, on the same 6 fugues:", "",
            _md_table(WORD_MODEL_FIGURES, WORD_FIGURE_COLUMNS), "",
            "**These bits per note are NOT comparable with the spelled model's.** The words did "
            "not model durations: held notes were dropped and every note stopped at the next "
            "event, so those bits pay for less of the music than the spelled model's, which "
            "cover onsets, pitches *and* durations of the full piano reduction. The n-gram and "
            "the original architecture in that table were scored on the same words; the "
            "comparison inside each table holds, not across them.", ""]


def read_config(folder: str | Path) -> dict[str, Any]:
    """The bundle's ``config.json`` (empty when missing or unreadable)."""
    try:
        config = json.loads((Path(folder) / CONFIG_FILE).read_text())
    except (OSError, ValueError):
        return {}
    return config if isinstance(config, dict) else {}


def bundle_command(folder: str | Path) -> str:
    """The ``bachgen train`` command that reproduces the bundle in ``folder`` (from its settings)."""
    config = read_config(folder)
    return train_command(config.get("net", {}), config.get("fit", {}), str(folder))


def render_card(folder: str | Path, evaluation: dict | None = None, command: str | None = None) -> str:
    """The model card (``README.md``) of the bundle in ``folder``, from its
    ``config.json`` and ``history.json``, the figures in ``evaluation`` (or the bundle's
    ``evaluation.json``), the files' checksums and the command that reproduces it
    (default :func:`bundle_command`).

    Tolerant by design: whatever is missing is said to be "not measured".
    """
    folder = Path(folder)
    config = read_config(folder)
    if command is None:
        command = bundle_command(folder)
    lines = ["# bachgen spelled LSTM: the Well-Tempered Clavier fugues, event by event", "",
             _summary(config), ""]
    lines += _files_section(folder)
    lines += _settings_section(config)
    lines += _data_lines(config)
    lines += _training_lines(folder, config, command)
    lines += _evaluation_lines(load_evaluation(folder, evaluation))
    lines += _previous_model_lines()
    return "\n".join(lines).rstrip() + "\n"


def write_card(folder: str | Path, evaluation: dict | None = None, command: str | None = None) -> Path:
    """Render the card of the bundle in ``folder`` into its ``README.md``; a given
    ``evaluation`` is also kept as ``evaluation.json`` so later renderings keep it."""
    folder = Path(folder)
    if evaluation is not None:
        (folder / EVALUATION_FILE).write_text(json.dumps(evaluation, indent=1, default=float) + "\n")
    path = folder / CARD_FILE
    tmp = folder / f".{CARD_FILE}.tmp"
    tmp.write_text(render_card(folder, evaluation, command))
    tmp.replace(path)
    return path
