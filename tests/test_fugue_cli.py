"""``bachgen fugue`` end to end: a fugue on a typed subject, a subject file, a fugue's own
subject; its plan printed and as JSON; bad subjects refused in one line before the model loads."""

from __future__ import annotations

import json

import mido
import pytest

from bachgen import cli
from bachgen.fugue import EXAMPLE_SUBJECT


def run(capsys, *argv):
    code = cli.main([str(a) for a in argv])
    out, err = capsys.readouterr()
    return code, out, err


def voice_tracks(path) -> int:
    """Tracks of a MIDI file that hold notes."""
    return sum(1 for track in mido.MidiFile(str(path)).tracks if any(m.type == "note_on" for m in track))


def test_a_fugue_on_a_typed_subject_writes_its_files_and_its_plan(tmp_path, capsys):
    midi, roll = tmp_path / "fugue.mid", tmp_path / "fugue.png"
    code, out, err = run(capsys, "fugue", "--subject", EXAMPLE_SUBJECT, "--voices", 3, "--bars", 24,
                         "--seed", 7, "--midi", midi, "--pianoroll", roll, "--json")
    assert code == 0, err
    made = json.loads(out)
    kinds = [s["kind"] for s in made["sections"]]
    assert kinds[0] == "exposition" and kinds[-1] == "close" and "final entry" in kinds
    assert len({e["voice"] for e in made["planned_entries"][:3]}) == 3  # each voice enters in turn
    assert made["ending"]["closes"] and made["key"] == "C"
    assert voice_tracks(midi) == 3 and roll.read_bytes().startswith(b"\x89PNG")


def test_the_plan_is_printed_for_people_and_the_same_seed_gives_the_same_fugue(tmp_path, capsys):
    first, again = tmp_path / "a.mid", tmp_path / "b.mid"
    code, out, _ = run(capsys, "fugue", "--subject", EXAMPLE_SUBJECT, "--bars", 20, "--seed", 3, "--midi", first)
    assert code == 0
    assert "exposition" in out and "close" in out and out.splitlines()[0].endswith("3 voices, 20 bars")
    assert out.splitlines()[1] == "subject: 4/4 c4 g a8 g f e | d e f d c4"  # as typed, with its bar line
    run(capsys, "fugue", "--subject", EXAMPLE_SUBJECT, "--bars", 20, "--seed", 3, "--midi", again)
    assert first.read_bytes() == again.read_bytes()


def test_a_subject_file_and_a_fugue_s_own_subject(tmp_path, capsys):
    track = mido.MidiTrack()
    for pitch in (62, 69, 65, 64, 62, 61, 62, 64):   # our own subject in d minor
        track += [mido.Message("note_on", note=pitch, velocity=80, time=0),
                  mido.Message("note_off", note=pitch, velocity=0, time=480)]
    subject = tmp_path / "subject.mid"
    mido.MidiFile(tracks=[track], ticks_per_beat=480).save(str(subject))
    code, out, err = run(capsys, "fugue", "--subject-file", subject, "--key", "d", "--voices", 2,
                         "--bars", 16, "--seed", 1, "--json")
    assert code == 0, err
    assert json.loads(out)["key"] == "d"
    code, out, err = run(capsys, "fugue", "--subject-of", "wtc1f02", "--bars", 24, "--seed", 1)
    assert code == 0, err
    assert out.startswith("bachgen fugue on wtc1f02: c, 3 voices")


@pytest.mark.parametrize("argv, says", [
    (["--subject", "4/4 c4 d e x"], "Cannot read 'x' (token 5)"),
    (["--subject", "c4 d e"], "needs at least 4"),
    (["--subject", "c4 <d e> f g"], "Cannot read"),
    (["--subject", EXAMPLE_SUBJECT, "--voices", 6], "2 to 5 voices"),
    (["--subject", EXAMPLE_SUBJECT, "--bars", 8], "--bars must be between 16 and 96"),
    (["--subject", "4/4 c2 g a g f e d e f d c1", "--voices", 5, "--bars", 16], "too few for a fugue in 5 voices"),
    (["--subject", EXAMPLE_SUBJECT, "--key", "H"], "H"),
    (["--subject-file", "/no/such/subject.mid"], "Cannot read the subject file"),
    (["--subject-of", "wtc9f99"], "wtc9f99"),
])
def test_a_subject_that_cannot_be_used_is_refused_in_one_line(capsys, argv, says):
    code, out, err = run(capsys, "fugue", *argv)
    assert code == 2 and not out
    assert err.startswith("bachgen: error:") and says in err


def test_a_fugue_is_continued_and_written_again_from_a_bar_like_a_take(tmp_path, capsys):
    fugue = tmp_path / "fugue.mid"
    assert run(capsys, "fugue", "--subject", EXAMPLE_SUBJECT, "--bars", 20, "--seed", 4, "--midi", fugue)[0] == 0
    code, out, err = run(capsys, "generate", "--continue", fugue, "--bars", 8, "--seed", 2)
    assert code == 0, err
    longer = json.loads(out)
    assert longer["subject"].endswith("from your subject") and "written anew" in longer["notices"][0]
    code, out, err = run(capsys, "generate", "--continue", fugue, "--keep-bars", 12, "--seed", 2)
    assert code == 0, err
    again = json.loads(out)
    assert again["entries"] and again["ending"]["closes"]
