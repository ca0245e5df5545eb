"""The command line starts light and speaks plainly.

Bad input is refused before the model is loaded or TensorFlow imported; a bundle is sampled from
weights read straight from its ``.keras`` archive (bit for bit those Keras loads), so
``bachgen generate`` on the default model never imports TensorFlow; and stderr holds
only bachgen's own lines: those starting ``bachgen:`` (errors, interruption). The
real command runs in a subprocess wherever a fresh process matters.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

REPO = Path(__file__).resolve().parent.parent
DEFAULT_MODEL = REPO / "assets" / "model"
FIELDS = ("tables", "recurrent", "kernels", "biases")


def bachgen(*args: str, timeout: float = 300) -> subprocess.CompletedProcess:
    """``python -m bachgen ARGS`` as a user runs it."""
    return subprocess.run([sys.executable, "-m", "bachgen", *args], capture_output=True,
                          text=True, timeout=timeout, cwd=REPO)


def python(code: str, timeout: float = 300) -> subprocess.CompletedProcess:
    """``python -c CODE`` in a fresh interpreter (nothing imported yet)."""
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          timeout=timeout, cwd=REPO)


def foreign_lines(stderr: str) -> list[str]:
    """The lines of ``stderr`` that bachgen did not write."""
    return [line for line in stderr.splitlines() if not line.startswith("bachgen:")]


# --------------------------------------------------------------------------- bad input


def generate_without_the_model(argv: list[str]) -> tuple[subprocess.CompletedProcess, list]:
    """``bachgen generate ARGV`` in a fresh interpreter whose model loader fails the run if it
    is called; the result and ``[exit code, model loaded, tensorflow imported, keras imported]``."""
    code = ("import json, sys\nimport bachgen.cli.generate as generate\nloaded = []\n"
            "generate.load_engine = lambda *a, **k: loaded.append(1) or sys.exit('the model was loaded')\n"
            "from bachgen.cli import main\n"
            f"code = main({['generate', *argv]!r})\n"
            "print(json.dumps([code, bool(loaded), 'tensorflow' in sys.modules, 'keras' in sys.modules]))")
    result = python(code)
    return result, json.loads(result.stdout.splitlines()[-1]) if result.stdout.strip() else None


@pytest.mark.parametrize("content", [b"", b"this is no music at all\n"])
def test_a_seed_file_that_is_no_music_is_refused_before_the_model_loads_in_one_line(tmp_path, content):
    seed = tmp_path / "empty.mid"
    seed.write_bytes(content)
    result, seen = generate_without_the_model(["--seed-file", str(seed), "--midi", str(tmp_path / "x.mid")])
    assert seen == [2, False, False, False], result.stderr
    lines = result.stderr.splitlines()
    assert len(lines) == 1 and lines[0].startswith("bachgen: error:") and "empty.mid" in lines[0]
    command = bachgen("generate", "--seed-file", str(seed), "--midi", str(tmp_path / "x.mid"))
    assert command.returncode == 2 and command.stdout == "" and command.stderr == result.stderr


@pytest.mark.parametrize("argv", [
    ["--seed-file", "/nowhere/seed.mid"],
    ["--fugue", "wtc9f99"],
    ["--events", "0"],
    ["--temperature", "0"],
    ["--fugue", "wtc1f02", "--start-bar", "9999"],
])
def test_bad_input_is_refused_before_the_model_loads(tmp_path, argv):
    result, seen = generate_without_the_model(["--model", str(DEFAULT_MODEL), *argv])
    assert seen == [2, False, False, False], result.stderr
    assert len(result.stderr.splitlines()) == 1


def test_importing_the_cli_and_building_its_parser_imports_no_tensorflow():
    result = python("import sys, bachgen.cli\nbachgen.cli.build_parser()\n"
                    "print(sorted(m for m in ('tensorflow', 'keras', 'h5py') if m in sys.modules))")
    assert result.stdout.strip() == "[]", result.stderr


# --------------------------------------------------------------------------- no TensorFlow


def test_a_spelled_generate_never_imports_tensorflow(tmp_path):
    out = tmp_path / "take.mid"
    code = ("import json, sys\nfrom bachgen.cli import main\n"
            f"code = main(['generate', '--fugue', 'wtc1f02', '--events', '40', '--seed', '3', "
            f"'--midi', {str(out)!r}])\n"
            "print(json.dumps([code, 'tensorflow' in sys.modules, 'keras' in sys.modules]))")
    result = python(code)
    assert json.loads(result.stdout.splitlines()[-1]) == [0, False, False], result.stderr
    assert out.read_bytes().startswith(b"MThd")


def keras_layers(folder: Path) -> dict[str, list[np.ndarray]]:
    import keras

    model = keras.models.load_model(folder / "model.keras", compile=False)
    return {layer.name: layer.get_weights() for layer in model.layers}


def assert_bit_identical(a: list[np.ndarray], b: list[np.ndarray]) -> None:
    assert len(a) == len(b)
    for x, y in zip(a, b):
        assert x.dtype == y.dtype and x.shape == y.shape
        assert x.tobytes() == y.tobytes()


@pytest.mark.parametrize("which", ["tiny", "default"])
def test_weights_read_without_keras_are_those_keras_loads(which, tiny_spelled_dir):
    from bachgen.step import step_weights
    from bachgen.weights import read_layer_weights

    folder = Path(tiny_spelled_dir) if which == "tiny" else DEFAULT_MODEL
    ours, theirs = read_layer_weights(folder / "model.keras"), keras_layers(folder)
    for name, arrays in theirs.items():
        assert_bit_identical(ours.get(name, []), arrays)
    a, b = step_weights(ours), step_weights(theirs)
    for field in FIELDS:
        assert_bit_identical(getattr(a, field), getattr(b, field))
    assert_bit_identical([a.bias0, a.out, a.out_bias], [b.bias0, b.out, b.out_bias])


def test_the_music_is_the_same_from_either_weights(tiny_spelled_dir, corpus_pieces):
    import keras

    from bachgen.bundle import Bundle, load_bundle
    from bachgen.rows import SampleSettings, seed_row
    from bachgen.sampling import sample_ids
    from bachgen.step import load_step

    saved = load_bundle(tiny_spelled_dir)
    assert "model" not in vars(saved) and saved._model is None  # no Keras network yet
    network = keras.models.load_model(Path(tiny_spelled_dir) / "model.keras", compile=False)
    loaded = Bundle(network, saved.codec, saved.net, saved.config)  # weights from Keras only

    def draw(bundle):
        made = [seed_row(bundle.codec, piece) for piece in (corpus_pieces[1], corpus_pieces[7])]
        return sample_ids(load_step(bundle), bundle.codec, [r for r, _ in made], 60, SampleSettings(),
                          np.random.default_rng(5), [m for _, m in made])

    assert draw(saved) == draw(loaded)
    assert saved._model is None  # sampling never loaded the Keras network
    assert saved.model.get_layer("logits") is not None  # Keras still loads on demand


def fake_keras_file(path: Path, stored_name: str | None) -> Path:
    """A ``.keras`` archive of one Dense layer named ``logits``; ``stored_name`` is the layer
    name written beside its variables (``None``: none written, as older Keras files)."""
    import io
    import zipfile

    import h5py

    config = {"class_name": "Functional", "config": {"layers": [
        {"class_name": "InputLayer", "config": {"name": "tokens"}},
        {"class_name": "Dense", "config": {"name": "logits"}}]}}
    buffer = io.BytesIO()
    with h5py.File(buffer, "w") as store:
        group = store.create_group("layers/dense/vars")
        group["0"], group["1"] = np.ones((2, 3), np.float32), np.zeros(3, np.float32)
        if stored_name is not None:
            group.attrs["name"] = stored_name
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("config.json", json.dumps(config))
        archive.writestr("model.weights.h5", buffer.getvalue())
    return path


def test_the_reader_follows_keras_naming_and_checks_the_stored_names(tmp_path):
    from bachgen.errors import BundleError
    from bachgen.weights import read_layer_weights, snake_case

    assert [snake_case(c) for c in ("InputLayer", "LSTM", "Dense", "Embedding")] == \
        ["input_layer", "lstm", "dense", "embedding"]
    for stored in (None, "logits"):
        layers = read_layer_weights(fake_keras_file(tmp_path / f"{stored}.keras", stored))
        assert [a.shape for a in layers["logits"]] == [(2, 3), (3,)] and "tokens" not in layers
    with pytest.raises(BundleError, match="stores layer 'logits' as 'other'"):
        read_layer_weights(fake_keras_file(tmp_path / "other.keras", "other"))


def test_a_network_sized_for_another_codec_is_refused(tiny_spelled_dir, tmp_path):
    import shutil

    from bachgen.bundle import load_bundle
    from bachgen.errors import BundleError

    folder = Path(shutil.copytree(tiny_spelled_dir, tmp_path / "b"))
    codec = json.loads((folder / "codec.json").read_text())
    codec["durations"] = codec["durations"][:-1]  # one token fewer than the network writes
    (folder / "codec.json").write_text(json.dumps(codec))
    with pytest.raises(BundleError, match="does not fit together"):
        load_bundle(folder)


# --------------------------------------------------------------------------- stderr


def test_a_normal_generate_writes_nothing_but_bachgen_lines_on_stderr(tmp_path):
    result = bachgen("generate", "--fugue", "wtc1f02", "--seed", "7", "--events", "100",
                     "--midi", str(tmp_path / "x.mid"))
    assert result.returncode == 0, result.stderr
    assert foreign_lines(result.stderr) == []
    assert json.loads(result.stdout)["events"] == 100


QUIET_PROBE = """
import os, sys, warnings
from bachgen.cli import quiet_libraries
with quiet_libraries(verbose={verbose}):
    os.write(2, b"native line\\n")
    warnings.warn("a library warning")
    print("bachgen: own line", file=sys.stderr)
print("bachgen: after", file=sys.stderr, flush=True)
os.write(2, b"native after\\n")
"""


def test_quiet_libraries_keeps_only_python_level_stderr_unless_verbose():
    quiet = python(QUIET_PROBE.format(verbose=False)).stderr.splitlines()
    assert quiet == ["bachgen: own line", "bachgen: after", "native after"]
    loud = python(QUIET_PROBE.format(verbose=True)).stderr
    assert "native line" in loud and "a library warning" in loud and "bachgen: own line" in loud


def test_verbose_is_taken_before_or_after_the_command():
    from bachgen.cli import build_parser

    parser = build_parser()
    assert parser.parse_args(["--verbose", "generate"]).verbose
    assert parser.parse_args(["generate", "--verbose"]).verbose
    assert parser.parse_args(["corpus", "list", "--verbose"]).verbose
    assert not parser.parse_args(["generate"]).verbose
