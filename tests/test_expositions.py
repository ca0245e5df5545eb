"""How Bach lays out a fugue: the exposition's order and answers, the entries after it, the close."""

from __future__ import annotations

import pytest

from bachgen import catalog
from bachgen.evaluation.exposition_report import to_markdown
from bachgen.evaluation.expositions import align_head, classify, measure, pedal, register_ranks
from bachgen.events import Note, Piece

Q = 48  # a quarter note
HEAD_LINE = (60, 62, 63, 65, 67, 65, 63)  # a made-up head in C minor, one note a quarter


def line(pitches, start=0, voice=0, length=Q) -> list[Note]:
    return [Note(start + i * length, length, p, voice) for i, p in enumerate(pitches)]


def test_an_answer_all_a_fifth_up_is_real_and_one_with_fourths_and_fifths_is_tonal():
    head = line(HEAD_LINE)
    assert classify(line([p + 7 for p in HEAD_LINE]), head) == (7, "real")
    assert classify(line([p + 5 if i == 4 else p + 7 for i, p in enumerate(HEAD_LINE)]), head) == (7, "tonal")
    assert classify(line(HEAD_LINE), head) == (0, "subject")
    assert classify(line([p + (1 if i == 2 else 0) for i, p in enumerate(HEAD_LINE)]), head) == (0, "altered")


def test_a_head_is_lined_up_with_a_voice_by_its_rhythm_and_a_whole_tone_at_most():
    head = line(HEAD_LINE)
    bent = [p + 5 if i == 4 else p + 7 for i, p in enumerate(HEAD_LINE)]
    voice = line([55], 0, 1) + line(bent, Q, 1)  # a note before the entry
    found = align_head(voice, head, 4 * Q)
    assert found is not None and found[0].start == Q and [n.pitch for n in found] == bent
    assert align_head(line(bent, 0, 1, Q // 2), head, 4 * Q) is None  # twice as fast: no
    assert align_head(line([p + 7 if i != 3 else p + 10 for i, p in enumerate(HEAD_LINE)]), head, Q) is None


def test_the_lowest_voice_holding_the_tonic_a_bar_before_the_last_chord_is_a_tonic_pedal():
    bar = 4 * Q
    upper = line([67, 65, 63, 62, 63, 62, 60, 59], 0, 0) + [Note(2 * bar, bar, 67, 0)]
    held = Piece(tuple(upper + [Note(0, 3 * bar, 36, 1)]), key="c")
    moving = Piece(tuple(upper + line([36, 43, 41, 43, 36, 38, 43, 43], 0, 1) + [Note(2 * bar, bar, 36, 1)]), key="c")
    assert pedal(held, 1) == "tonic"
    assert pedal(moving, 1) == "none"
    assert register_ranks(held) == {0: 1, 1: 0}


@pytest.mark.slow
def test_the_layout_of_the_48_fugues(corpus_pieces):
    """Headline figures of docs/expositions.md, measured again from the corpus."""
    fig = measure(corpus_pieces)
    assert fig.fugues == 48
    assert fig.orders[3] == {(2, 1, 0): 12, (1, 2, 0): 10, (0, 2, 1): 2, (0, 1, 2): 2}
    assert fig.first_rank[4] == {2: 8, 1: 7, 0: 4}
    assert fig.level_orders[4][(0, 7, 0, 7)] == 15 and fig.level_orders[3][(0, 7, 0)] == 25
    assert fig.kinds[1] == {"tonal": 28, "real": 20}
    assert fig.matcher["tonal"] == {"missed": 36, "unmatchable": 2}  # find_entries misses tonal answers
    assert fig.matcher["real"]["voice"] == 26 and fig.matcher["subject"]["voice"] == 47
    assert fig.answer_rule == (37, 48)
    assert fig.late_voices == 1 and fig.solo_is_subject == 48
    assert fig.codetta_none == {2: (14, 47), 3: (15, 22)}
    assert fig.codettas[2][4] == 1.0  # the median codetta after the answer: a bar
    assert fig.exposition_share == (0.14, 0.18, 0.21)
    assert fig.rate == (1.04, 1.83, 2.7)
    assert list(fig.levels["major"])[:3] == [0, 7, 9] and list(fig.levels["minor"])[:3] == [0, 7, 5]
    assert fig.first_middle["minor"][3] == 8
    assert fig.no_episode == (145, 43, 432) and fig.stretto_fugues == 29
    assert fig.final_tonic == (3.34, 5.88, 11.25)
    assert fig.last_is_tonic == (31, 46)
    assert fig.pedals == {"none": 33, "dominant": 8, "tonic": 7}
    assert fig.bar_places["exposition"] == {"same": 101, "half bar": 16}
    page = to_markdown(fig)
    assert "| order of first entries, 3 voices (ranks, 0 = lowest: fugues) | 2-1-0: 12," in page


@pytest.mark.slow
def test_the_kern_voices_are_numbered_from_the_top(corpus_pieces):
    """Voice 0 is the highest spine's voice; a split spine stays in its voice."""
    for piece in corpus_pieces:
        ranks = register_ranks(piece)
        assert len(ranks) == catalog.fugue(piece.name).voices, piece.name
        assert all(rank == len(ranks) - 1 - voice for voice, rank in ranks.items()), piece.name
