"""Drawing new events from the network, one step at a time, with the LSTM state carried.

The seed is read once (*priming*, see :mod:`bachgen.step`) and each new event costs one
recurrent step. Several candidates are drawn at once (a batch of rows). Each row has its
own :class:`numpy.random.Generator`-driven draw, temperature, top-k and top-p, so one
seed and one set of settings always give the same events.

At each step the logits are shaped before the draw: the **key guide** lowers words with
notes outside the seed's key, the **copy guard** (:class:`~bachgen.guards.CopyIndex`)
masks the words that would lengthen a run copied from the corpus, then temperature,
top-k and top-p (:func:`filter_logits`) and an inverse-CDF draw (:func:`draw`).
After the step, **loops** (:func:`~bachgen.guards.loop_at_end`) are taken back: the
state is restored from a snapshot, the row is sampled hotter for a while, and a row
that keeps looping is re-primed from another place in the corpus (or, with no corpus,
its state is perturbed). Every recovery is counted.

The guides ask the codec (:class:`~bachgen.codecs.WordCodec`) what each id writes: its
pitch classes and length for the key guide, its event for the copy guard.
"""

from __future__ import annotations

import math
import time
from collections import deque
from dataclasses import dataclass, field
from typing import Callable, Sequence

import numpy as np

from .codecs import WordCodec
from .config import SamplingConfig
from .guards import CopyIndex, VocabForms, find_loops, loop_at_end
from .step import NumpyStep, blas_single_thread


# --------------------------------------------------------------------------- key guide

_MINOR_SCALE = (0, 2, 3, 5, 7, 8, 11)  # harmonic minor
_MAJOR_SCALE = (0, 2, 4, 5, 7, 9, 11)


def _key_profiles() -> tuple[np.ndarray, np.ndarray]:
    """The 24 rotated key profiles, standardised, and each key's out-of-scale mask."""
    from .harmony import MAJOR_PROFILE, MINOR_PROFILE

    profiles, masks = [], []
    for minor, profile, scale in ((False, MAJOR_PROFILE, _MAJOR_SCALE), (True, MINOR_PROFILE, _MINOR_SCALE)):
        for tonic in range(12):
            rolled = np.roll(np.asarray(profile, np.float64), tonic)
            profiles.append((rolled - rolled.mean()) / rolled.std())
            mask = np.ones(12, np.float32)
            mask[[(tonic + step) % 12 for step in scale]] = 0.0
            if minor:  # harmonic minor; the raised 6th and the natural 7th count half
                mask[[(tonic + 9) % 12, (tonic + 10) % 12]] = 0.5
            masks.append(mask)
    return np.array(profiles), np.array(masks)


def key_outside(histograms: np.ndarray) -> np.ndarray:
    """For pitch-class histograms ``(rows, 12)``, 1 for the pitch classes outside the scale
    of each row's most likely key (Krumhansl–Kessler profiles, the correlation of the
    Krumhansl–Schmuckler method; harmonic minor, where the raised 6th and the natural
    7th count 0.5), else 0. A flat histogram
    counts as C major."""
    profiles, masks = _key_profiles()
    h = np.atleast_2d(np.asarray(histograms, np.float64))
    spread = h.std(axis=1, keepdims=True)
    z = np.where(spread > 0, (h - h.mean(axis=1, keepdims=True)) / np.where(spread > 0, spread, 1), 0)
    return masks[np.argmax(z @ profiles.T, axis=1)]


# --------------------------------------------------------------------------- drawing


def _weights_inplace(scaled: np.ndarray, top_k: int | None, top_p: float | None) -> np.ndarray:
    """Turn scaled logits (``-inf`` = masked) into unnormalised weights, in place."""
    vocab = scaled.shape[1]
    if top_k is not None and top_k < vocab:
        kth = np.partition(scaled, vocab - top_k, axis=1)[:, vocab - top_k][:, None]
        scaled[scaled < kth] = -np.inf
    scaled -= scaled.max(axis=1, keepdims=True)
    weights = np.exp(scaled, out=scaled)
    if top_p is not None and top_p < 1.0:
        total = weights.sum(axis=1, keepdims=True, dtype=np.float64)
        # the likeliest SHORTLIST words usually hold mass p: sort only those
        if vocab > 2 * SHORTLIST:
            part = np.argpartition(-weights, SHORTLIST - 1, axis=1)[:, :SHORTLIST]
            short = np.take_along_axis(weights, part, axis=1)
            order = np.argsort(-short, axis=1, kind="stable")
            index = np.take_along_axis(part, order, axis=1)
            ranked = np.take_along_axis(short, order, axis=1)
            running = np.cumsum(ranked, axis=1, dtype=np.float64)
            fits = running[:, -1] / total[:, 0] >= top_p
            if fits.all():
                before = (running - ranked) / total
                ranked[before >= top_p] = 0.0
                weights[:] = 0.0
                np.put_along_axis(weights, index, ranked, axis=1)
                return weights
        order = np.argsort(-weights, axis=1, kind="stable")
        ranked = np.take_along_axis(weights, order, axis=1)
        before = (np.cumsum(ranked, axis=1, dtype=np.float64) - ranked) / total  # likelier mass
        drop = before >= top_p
        drop[:, 0] = False
        ranked[drop] = 0.0
        np.put_along_axis(weights, order, ranked, axis=1)
    return weights


SHORTLIST = 512


def filter_logits(logits: np.ndarray, temperature: np.ndarray | float, top_k: int | None,
                  top_p: float | None) -> np.ndarray:
    """Probabilities ``(batch, vocab)`` after temperature, top-k and top-p.

    Entries that are ``-inf`` in ``logits`` (masked words) get probability 0.
    """
    inverse = (1.0 / np.reshape(np.asarray(temperature, dtype=np.float64), (-1, 1))).astype(np.float32)
    weights = _weights_inplace(np.asarray(logits, dtype=np.float32) * inverse, top_k, top_p)
    return weights / weights.sum(axis=1, keepdims=True, dtype=np.float64).astype(np.float32)


BLOCK = 256  # words per block when drawing


def draw(probs: np.ndarray, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """One id per row from (unnormalised) ``probs`` by inverse CDF, one uniform number per
    row; also each drawn id's probability.

    Two levels, so no running sum over the whole vocabulary is needed: the sums of blocks
    of :data:`BLOCK` words pick a block, a running sum inside it picks the word. A width
    that is a multiple of :data:`BLOCK` is used as it is (pad with zeros).
    """
    rows, width = probs.shape
    if width % BLOCK:
        padded = np.zeros((rows, width + BLOCK - width % BLOCK), probs.dtype)
        padded[:, :width] = probs
        probs = padded
    blocks = probs.reshape(rows, -1, BLOCK)
    block_sums = np.cumsum(blocks.sum(axis=2, dtype=np.float64), axis=1)
    totals = block_sums[:, -1]
    u = rng.random(rows) * totals
    which = np.minimum((block_sums <= u[:, None]).sum(axis=1), block_sums.shape[1] - 1)
    before = np.where(which > 0, block_sums[np.arange(rows), np.maximum(which - 1, 0)], 0.0)
    inside = blocks[np.arange(rows), which]  # (rows, BLOCK)
    running = np.cumsum(inside, axis=1, dtype=np.float64)
    offset = np.minimum((running <= (u - before)[:, None]).sum(axis=1), BLOCK - 1)
    for b in np.flatnonzero(inside[np.arange(rows), offset] <= 0):  # rounding at a block's end
        offset[b] = np.flatnonzero(inside[b] > 0)[-1]
    ids = which * BLOCK + offset
    return ids, probs[np.arange(rows), ids] / totals


@dataclass
class SampleResult:
    """What :func:`sample` drew: ``ids[b]`` the new events of row ``b`` and what happened."""

    ids: list[list[int]]
    loop_recoveries: list[int]
    reseeds: list[int]
    copy_masks: list[int]
    stuck: list[bool]
    mean_log_prob: list[float]
    steps: int
    seconds: float = 0.0
    extra: dict = field(default_factory=dict)


#: Re-seeding: a function ``(rng, length) -> ids`` giving another place of the corpus.
Reseeder = Callable[[np.random.Generator, int], list[int]]

_SNAPSHOTS = 96  # steps of state kept for taking loops back


def sample(step: NumpyStep, seeds: Sequence[Sequence[int]], config: SamplingConfig,
           rng: np.random.Generator, codec: WordCodec | None = None,
           copy_index: CopyIndex | None = None, forms: VocabForms | None = None,
           reseed: Reseeder | None = None, context_len: int = 50,
           progress: Callable[[float], None] | None = None) -> SampleResult:
    """Draw ``config.events`` new events for each seed (one row per seed), all rows at once.

    ``seeds`` are lists of ids (at least one each). ``codec`` says what each id writes:
    without it, the key and copy guards are off. ``copy_index`` (with ``forms`` or the
    codec) turns on the copy guard; ``reseed`` gives another corpus excerpt when a row
    keeps looping. ``progress`` gets the fraction done. ``mean_log_prob`` in the result is the mean log-probability of the drawn
    words under the distribution they were drawn from.
    """
    with blas_single_thread():
        started = time.perf_counter()
        if len(seeds) == 0 or any(len(s) == 0 for s in seeds):
            raise ValueError("every row needs a seed of at least one id")
        guard = _copy_guard(config, copy_index, forms, codec, seeds)
        rows = _Rows.prime(step, seeds, config)
        key = _key_guide(config, codec, rows.history, rows.logits.shape)
        max_steps = config.events + (config.max_recoveries + 1) * rows.window + 8
        while not rows.done.all() and rows.step_no < max_steps:
            rows.step_no += 1
            chosen, chosen_prob = _draw_step(rows, config, rng, key, guard)
            _take(rows, chosen, chosen_prob, guard)
            new_logits, rows.state = step.step(chosen, rows.state, out=rows.logits)
            if new_logits is not rows.logits:
                rows.logits[:] = new_logits
            for b, found in enumerate(_loops_found(rows, config)):
                if found is not None and rows.recoveries[b] < config.max_recoveries:
                    _recover(step, rows, b, found, config, rng, reseed, context_len, guard)
            _remember(rows, config.events)
            if progress is not None and rows.step_no % 25 == 0:
                progress(rows.fraction_done(config.events))
        return _result(rows, config, started)


# --------------------------------------------------------------------------- the rows


@dataclass
class _Rows:
    """The rows being drawn and everything :func:`sample` carries from step to step."""

    history: list[list[int]]              # seed + new ids of each row
    seed_len: list[int]
    state: list[np.ndarray]               # the recurrent state, (rows, units) per array
    logits: np.ndarray                    # (rows, vocab): what the next draw reads; reused
    padded: np.ndarray                    # (rows, vocab rounded up to BLOCK): weights, 0 padding
    weights: np.ndarray                   # the view of ``padded`` over the vocabulary
    window: int                           # new ids watched for loops
    snapshots: list[list[np.ndarray] | None]  # ring of states, by step number
    at_step: list[dict[int, int]]         # per row: new-event count -> step of its snapshot
    recent: list[deque[int]]              # per row: steps of its recent recoveries
    boost: np.ndarray                     # extra temperature after a recovery ...
    boost_left: np.ndarray                # ... fading out over these many steps
    log_prob_sum: np.ndarray
    done: np.ndarray
    recoveries: list[int]
    reseeds: list[int]
    copy_masks: list[int]
    step_no: int = 0

    @classmethod
    def prime(cls, step: NumpyStep, seeds: Sequence[Sequence[int]], config: SamplingConfig) -> "_Rows":
        """Read the seeds and set up the buffers reused at every step."""
        primed, state = _prime_rows(step, [list(s) for s in seeds])
        rows = len(seeds)
        logits = np.empty(primed.shape, np.float32)
        logits[:] = primed
        padded = np.zeros((rows, -(-logits.shape[1] // BLOCK) * BLOCK), np.float32)
        snapshots: list[list[np.ndarray] | None] = [None] * _SNAPSHOTS
        snapshots[0] = [s.copy() for s in state]
        return cls(
            history=[list(s) for s in seeds], seed_len=[len(s) for s in seeds], state=state,
            logits=logits, padded=padded, weights=padded[:, :logits.shape[1]],
            window=max(config.loop_min_events, config.loop_min_repeats * config.loop_max_period),
            snapshots=snapshots, at_step=[{0: 0} for _ in range(rows)],
            recent=[deque() for _ in range(rows)], boost=np.zeros(rows),
            boost_left=np.zeros(rows, dtype=np.int64), log_prob_sum=np.zeros(rows),
            done=np.zeros(rows, dtype=bool), recoveries=[0] * rows, reseeds=[0] * rows,
            copy_masks=[0] * rows)

    def new_count(self, b: int) -> int:
        """How many new events row ``b`` holds now."""
        return len(self.history[b]) - self.seed_len[b]

    def fraction_done(self, target: int) -> float:
        """The share of the wanted events drawn so far, over all rows."""
        return float(np.mean([min(1.0, (len(h) - s) / target)
                              for h, s in zip(self.history, self.seed_len)]))


def _prime_rows(step: NumpyStep, seeds: list[list[int]]) -> tuple[np.ndarray, list[np.ndarray]]:
    """Logits and state after the seeds: identical seeds read once, otherwise rows of equal
    length together."""
    rows = len(seeds)
    if all(s == seeds[0] for s in seeds):
        logits, state = step.prime(np.array([seeds[0]]))
        return np.repeat(logits, rows, axis=0), [np.repeat(s, rows, axis=0) for s in state]
    groups: dict[int, list[int]] = {}
    for b, s in enumerate(seeds):
        groups.setdefault(len(s), []).append(b)
    logits = np.zeros((rows, step.vocab_size), np.float32)
    state = step.zero_state(rows)
    for length, members in groups.items():
        g_logits, g_state = step.prime(np.array([seeds[b] for b in members]))
        logits[members] = g_logits
        for layer, fresh in zip(state, g_state):
            layer[members] = fresh
    return logits, state


# --------------------------------------------------------------------------- one draw


@dataclass
class _KeyGuide:
    """How much each word is lowered: ``strength`` times its share of notes outside the key."""

    strength: float
    penalty: np.ndarray  # (rows, vocab)


def _key_guide(config: SamplingConfig, codec: WordCodec | None, seeds: list[list[int]],
               shape: tuple[int, int]) -> _KeyGuide | None:
    """The key guide for the key of each row's seed (``None``: off, or no codec)."""
    if codec is None or not config.key_guide:
        return None
    word_pcs, word_ticks = codec.pitch_classes()
    word_voices = np.maximum(word_pcs.sum(axis=1), 1.0)
    penalty = np.zeros(shape, np.float32)
    outside = key_outside(np.stack([(word_pcs[h] * word_ticks[h, None]).sum(axis=0) for h in seeds]))
    np.matmul(outside, word_pcs.T, out=penalty)
    penalty /= word_voices  # the share of a word's notes outside the key
    return _KeyGuide(config.key_guide, penalty)


@dataclass
class _CopyGuard:
    """The copy index, the codec's ids in its form, and each row in relative form."""

    index: CopyIndex
    forms: VocabForms
    rel: list[list[tuple[int, int]]]


def _copy_guard(config: SamplingConfig, index: CopyIndex | None, forms: VocabForms | None,
                codec: WordCodec | None, seeds: Sequence[Sequence[int]]) -> _CopyGuard | None:
    """The copy guard when ``config`` asks for one and ``index`` was built for its limit."""
    if index is None or not config.copy_limit or index.limit != config.copy_limit:
        return None
    if forms is None:
        if codec is None:
            raise ValueError("the copy guard needs the codec")
        forms = VocabForms(codec, index)
    return _CopyGuard(index, forms, [forms.relative(s) for s in seeds])


def _mask_copies(rows: _Rows, guard: _CopyGuard, work: np.ndarray) -> None:
    """Mask, in ``work``, the words that would make a row's copy of the corpus longer."""
    vocab_size = work.shape[1]
    for b in range(len(rows.history)):
        if rows.done[b]:
            continue
        cont = guard.index.continuations(guard.rel[b])
        if cont:
            banned = guard.forms.ids_for(cont, guard.rel[b][-1][1])
            if banned and len(banned) < vocab_size - 1:
                work[b, banned] = -np.inf
                rows.copy_masks[b] += 1


def _draw_step(rows: _Rows, config: SamplingConfig, rng: np.random.Generator,
               key: _KeyGuide | None, guard: _CopyGuard | None) -> tuple[np.ndarray, np.ndarray]:
    """One id per row from the current logits (guided, masked, filtered) and its probability.

    The logits are changed in place; the next step overwrites them.
    """
    work = rows.logits
    if key is not None:
        work -= key.strength * key.penalty
    work[:, 0] = -np.inf  # padding is never a word
    if guard is not None:
        _mask_copies(rows, guard, work)
    temperature = config.temperature + rows.boost * np.maximum(rows.boost_left, 0) / (2 * rows.window)
    np.multiply(work, (1.0 / temperature).astype(np.float32)[:, None], out=rows.weights)
    _weights_inplace(rows.weights, config.top_k, config.top_p)
    chosen, chosen_prob = draw(rows.padded, rng)
    rows.boost_left -= 1
    return chosen, chosen_prob


def _take(rows: _Rows, chosen: np.ndarray, chosen_prob: np.ndarray, guard: _CopyGuard | None) -> None:
    """Append the drawn ids to the rows that are not done yet."""
    for b in range(len(rows.history)):
        if not rows.done[b]:
            rows.history[b].append(int(chosen[b]))
            rows.log_prob_sum[b] += math.log(max(float(chosen_prob[b]), 1e-30))
            if guard is not None:
                rel = guard.rel[b]
                rel.append(guard.forms.relative([int(chosen[b])], rel[-1][1])[0])


# --------------------------------------------------------------------------- loop recovery


def _loops_found(rows: _Rows, config: SamplingConfig) -> list[tuple[int, int] | None]:
    """``(period, span)`` of the loop each unfinished row's new part ends with, else None."""
    found: list[tuple[int, int] | None] = [None] * len(rows.history)
    for b, history in enumerate(rows.history):
        if rows.done[b] or rows.new_count(b) < config.loop_min_events:
            continue
        # a loop can only end here if the last event came up within the last periods
        last = history[-config.loop_max_period - 1:]
        if last[-1] in last[:-1]:
            found[b] = loop_at_end(history[rows.seed_len[b]:][-rows.window:], config.loop_max_period,
                                   config.loop_min_repeats, config.loop_min_events)
    return found


def _recover(step: NumpyStep, rows: _Rows, b: int, loop: tuple[int, int], config: SamplingConfig,
             rng: np.random.Generator, reseed: Reseeder | None, context_len: int,
             guard: _CopyGuard | None) -> None:
    """Take row ``b``'s repeats back and sample it hotter for a while: from the saved state
    when there is one, else (or when it keeps looping) from a fresh context."""
    period, span = loop
    rows.recoveries[b] += 1
    keep = rows.new_count(b) - (span - period)
    recent = rows.recent[b]
    while recent and recent[0] < rows.step_no - 3 * rows.window:
        recent.popleft()
    recent.append(rows.step_no)
    del rows.history[b][rows.seed_len[b] + keep:]
    if guard is not None:
        del guard.rel[b][rows.seed_len[b] + keep:]
    rows.boost[b] = config.recovery_boost * min(len(recent), 3)
    rows.boost_left[b] = 2 * rows.window
    restored = _restore(rows.snapshots, rows.at_step[b], keep, rows.step_no)
    if restored is not None and len(recent) < 3:
        for layer, saved in zip(rows.state, restored):
            layer[b] = saved[b]
    else:
        _reprime(step, rows, b, rng, reseed, context_len)
    rows.logits[b] = step.logits([s[b:b + 1] for s in rows.state])[0]
    rows.at_step[b] = {n: g for n, g in rows.at_step[b].items() if n <= keep}


def _reprime(step: NumpyStep, rows: _Rows, b: int, rng: np.random.Generator,
             reseed: Reseeder | None, context_len: int) -> None:
    """Give row ``b`` the state of a fresh context: another place of the corpus before its
    last events, or (with no corpus) its own last events with the state perturbed."""
    rows.reseeds[b] += 1
    history = rows.history[b]
    context = history[-min(8, len(history)):]
    if reseed is not None:
        context = reseed(rng, max(1, context_len - len(context))) + context
    _, row_state = step.prime(np.array([context]))
    for layer, fresh in zip(rows.state, row_state):
        layer[b] = fresh[0]
        if reseed is None:
            layer[b] += rng.normal(0.0, 0.5, size=layer[b].shape).astype(np.float32)


def _restore(snapshots: list, at_step: dict[int, int], keep: int, now: int) -> list[np.ndarray] | None:
    """The saved state of a row after its ``keep``-th new event, if still in the ring."""
    g = at_step.get(keep)
    if g is None or now - g >= _SNAPSHOTS or snapshots[g % _SNAPSHOTS] is None:
        return None
    return snapshots[g % _SNAPSHOTS]


def _remember(rows: _Rows, target: int) -> None:
    """Snapshot the state of this step, note which step each row's length was reached at,
    and mark the rows that have ``target`` new events."""
    rows.snapshots[rows.step_no % _SNAPSHOTS] = [s.copy() for s in rows.state]
    for b in range(len(rows.history)):
        n = rows.new_count(b)
        rows.at_step[b][n] = rows.step_no
        if n > rows.window + 2:
            rows.at_step[b].pop(n - _SNAPSHOTS, None)
        if n >= target:
            rows.done[b] = True


def _result(rows: _Rows, config: SamplingConfig, started: float) -> SampleResult:
    """The first ``config.events`` new ids of each row and what happened on the way."""
    new = [h[s:s + config.events] for h, s in zip(rows.history, rows.seed_len)]
    stuck = [find_loops(ids, config.loop_max_period, config.loop_min_repeats, config.loop_min_events) > 0
             for ids in new]
    return SampleResult(
        ids=new, loop_recoveries=rows.recoveries, reseeds=rows.reseeds, copy_masks=rows.copy_masks,
        stuck=stuck, mean_log_prob=[float(rows.log_prob_sum[b] / max(1, len(new[b])))
                                    for b in range(len(new))],
        steps=rows.step_no, seconds=time.perf_counter() - started)


# --------------------------------------------------------------------------- choosing


def new_rng(seed: int | None) -> tuple[np.random.Generator, int]:
    """A generator and the seed it was made from (a fresh one when ``seed`` is None)."""
    if seed is None:
        seed = int(np.random.SeedSequence().entropy % (2**63))
    return np.random.default_rng(seed), seed


def best_row(result: SampleResult) -> int:
    """The candidate to keep: not stuck, fewest recoveries, then likeliest."""
    def score(b: int) -> tuple:
        return (result.stuck[b], result.loop_recoveries[b], -result.mean_log_prob[b], b)
    return min(range(len(result.ids)), key=score)


__all__ = [
    "filter_logits", "draw", "sample", "SampleResult", "Reseeder", "key_outside", "new_rng",
    "best_row",
]
