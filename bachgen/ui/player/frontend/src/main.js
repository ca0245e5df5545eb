// The bachgen player: a take's MIDI file synthesized in the browser, and a piano roll with a
// playhead that follows it. Voices can be soloed and muted, the tempo changed while it plays,
// and it plays from any bar (or from where the roll is clicked).
//
// window.bachgenPlayer tells how it goes, for the page's tests: its state, the take loaded,
// when a take arrived and when its sound was first seen at the output (with the player's
// clock then and the music expected there), the clock and the playhead now, each voice's level.
import { MusicClock } from "./clock.js";
import { Engine, webAudioProblem } from "./engine.js";
import { componentReady, listen, setComponentValue, setFrameHeight } from "./protocol.js";
import { Roll } from "./roll.js";

const $ = (id) => document.getElementById(id);
const engine = new Engine();
const roll = new Roll($("roll"), $("playhead"));
let clock = null;
let take = null;
let midi = null;
let started = null;
let muted = [];
let soloed = [];
let watching = null;
let drawing = false;

const api = {
    state: "loading", error: null, take: null, arrivedAt: null, sounds: {}, playhead: null,
    extended: null, starved: false, starvedAt: null, gapMs: 0,
};
window.bachgenPlayer = api;
const ready = () => api.state === "ready";
/** The player's clock: the second of the music being rendered now. */
api.clock = () => (ready() ? clock.now() : null);
/** The playhead: the second of the music being heard now. */
api.playheadNow = () => (ready() ? clock.heard() : null);
api.rate = () => (ready() ? clock.rate : null);
api.voices = () => (take ? take.voices.map((v) => v.name) : []);
/** A whole fugue's plan as the roll labels it (empty for a take). */
api.sections = () => (take ? (take.sections || []).map((s) => s.label) : []);
/** The take's length in seconds (at its own tempo). */
api.duration = () => (take ? duration() : null);
/** The MIDI file the player plays (bytes). */
api.midi = () => midi;
/** Whether the player has only the take's opening so far (the rest is being drawn). */
api.partial = () => !!(take && take.partial);
api.playing = () => ready() && clock.running;
/** The peak level of everything and of each voice just now (0 when silent). */
api.levels = () => {
    const { all, channels } = engine.levels();
    const voices = take ? take.voices.map((v) => channels[v.channel] ?? 0) : [];
    return { all, notes: Math.max(0, ...voices), voices };
};

function secondsPerTick() { return 60 / (take.tempo * take.resolution); }

function duration() { return take.total_ticks * secondsPerTick(); }

function audible() {
    const anySolo = soloed.some(Boolean);
    return take.voices.map((_, v) => (anySolo ? soloed[v] : !muted[v]));
}

function applyVoices() {
    const on = audible();
    take.voices.forEach((voice, v) => {
        if (ready()) engine.mute(voice.channel, !on[v]);
        const chip = document.querySelector(`.voice[data-voice="${v}"]`);
        chip.classList.toggle("silent", !on[v]);
        chip.querySelector(".solo").setAttribute("aria-pressed", String(!!soloed[v]));
        chip.querySelector(".mute").setAttribute("aria-pressed", String(!!muted[v]));
    });
    roll.draw(take, on);
}

function voiceChips() {
    const box = $("voices");
    box.replaceChildren();
    take.voices.forEach((voice, v) => {
        const chip = document.createElement("span");
        chip.className = "voice";
        chip.dataset.voice = String(v);
        chip.innerHTML = `<span class="swatch"></span><span class="name"></span>
            <button type="button" class="solo" title="Solo: hear this voice alone">S</button>
            <button type="button" class="mute" title="Mute this voice">M</button>`;
        chip.querySelector(".swatch").style.background = voice.colour;
        chip.querySelector(".name").textContent = voice.name;
        chip.querySelector(".solo").setAttribute("aria-label", `Solo ${voice.name}`);
        chip.querySelector(".mute").setAttribute("aria-label", `Mute ${voice.name}`);
        chip.querySelector(".solo").onclick = () => { soloed[v] = !soloed[v]; applyVoices(); };
        chip.querySelector(".mute").onclick = () => { muted[v] = !muted[v]; applyVoices(); };
        box.appendChild(chip);
    });
    box.hidden = take.voices.length < 2;
}

/** The first note's second at or after ``seconds`` (where the sound starts again). */
function nextNote(seconds) {
    const tick = seconds / secondsPerTick() - 1e-6;
    const note = take.notes.find((n) => n[0] >= tick);
    return note ? note[0] * secondsPerTick() : duration();
}

/**
 * Watch the output until sound comes, then note it as ``api.sounds[label]``: when, the
 * clock then and the music's second expected there. With ``anchor``, the clock starts
 * from the sound (a take just loaded: the worklet begins when it has read the file).
 */
function expectSound(label, expected, anchor) {
    clearInterval(watching);
    const id = take.id;
    const since = performance.now();
    watching = setInterval(() => {
        if (api.take !== id || performance.now() - since > 30000) {
            clearInterval(watching);
        } else if (engine.ctx.state === "running" && engine.notesLevel() > 1e-4) {
            clearInterval(watching);
            if (anchor) {
                clock.start(expected);
                wake();
            }
            api.sounds[label] = {
                take: id, at: Date.now(), clock: clock.now(), expected, partial: !!take.partial,
                playhead: clock.heard(), afterMs: performance.now() - since,
                marks: { ...api.marks, sound: performance.now() },
            };
        }
    }, 2);
}

function setTempo(bpm) {
    $("tempo").value = String(Math.round(bpm));
    $("tempo-value").textContent = String(Math.round(bpm));
    if (ready()) {
        engine.rate = bpm / take.tempo;
        clock.setRate(engine.rate);
    }
}

function play() {
    let from = clock.now();
    if (from >= duration() - 1e-3 || engine.seq.isFinished) from = 0;
    from = Math.max(from, take.first_note_s);  // the sequencer skips the silence before it
    if (from === 0 || engine.seq.isFinished) engine.seek(from);
    engine.play();
    clock.start(from);
    wake();
}

function pause() {
    engine.pause();
    clock.stop();
    wake();
}

function playFrom(seconds) {
    if (!ready() || !take) return;
    const from = Math.max(seconds, take.first_note_s);
    api.seekTarget = from;
    engine.seek(from);
    clock.seek(from);
    if (!clock.running) {
        engine.play();
        clock.start(from);
    }
    expectSound("seek", nextNote(from), false);
    wake();
}

/**
 * Wake the audio context when the page's Generate button is pressed, so that it is running
 * when the take's opening arrives (waking it then costs a tenth of a second or more). The
 * player's frame is the page's own origin; where the page cannot be reached, nothing is done.
 */
function watchGenerate() {
    try {
        window.parent.document.addEventListener("pointerdown", (event) => {
            const target = event.target;
            if (ready() && target && target.closest && target.closest(".st-key-generate")) {
                api.pressedAt = Date.now();  // the press as the page saw it (for the tests)
                api.marks = { ...(api.marks || {}), warm: performance.now() };
                engine.warm();
            }
        }, true);
    } catch (error) {
        // another origin: the context wakes when the take comes
    }
}

function bindControls() {
    $("play").onclick = () => {
        if (!ready() || !take) return;
        if (clock.running) pause();
        else play();
    };
    $("play-from").onclick = () => {
        const bar = Math.max(1, parseInt($("from-bar").value, 10) || 1);
        playFrom((bar - 1) * take.bar_ticks * secondsPerTick());
    };
    $("tempo").oninput = () => setTempo(Number($("tempo").value));
    $("roll").onclick = (event) => {
        const rect = $("roll").getBoundingClientRect();
        playFrom(roll.tickAt(event.clientX - rect.left) * secondsPerTick());
    };
}

function loadTake() {
    engine.rate = Number($("tempo").value) / take.tempo;
    clock.setRate(engine.rate);
    clock.stop(take.first_note_s);
    take.voices.forEach((voice, v) => engine.mute(voice.channel, !audible()[v]));
    if (take.autoplay) expectSound("take", take.first_note_s, true);
    api.marks.load = performance.now();
    engine.load(midi, take.autoplay);
    api.marks.loaded = performance.now();
    if (!take.autoplay) engine.rest(0);
    wake();
}

/**
 * The whole take after its opening (the same take, ``partial`` no more): the roll and the
 * voices are drawn again and the sound goes on from where it is, with the whole take's
 * file. If the opening ran out before the rest came, it goes on from the opening's end.
 */
function extendTake(whole, bytes) {
    const keepVoices = whole.voices.length === take.voices.length;
    const starved = api.starved;
    take = whole;
    midi = bytes;
    api.extendedAt = Date.now();
    api.starved = false;
    if (!keepVoices) {
        muted = take.voices.map(() => false);
        soloed = take.voices.map(() => false);
    }
    $("from-bar").max = String(Math.ceil(take.total_ticks / take.bar_ticks));
    voiceChips();
    api.extended = { take: take.id, at: Date.now(), clock: null, playing: false, starved };
    if (starved) api.gapMs = Date.now() - api.starvedAt;  // silence between the opening and the rest
    if (ready()) {
        const at = clock.now();
        Object.assign(api.extended, { clock: at, playing: clock.running });
        const on = audible();
        take.voices.forEach((voice, v) => engine.mute(voice.channel, !on[v]));
        engine.swap(midi, at, clock.running || starved);
        if (starved) {
            clock.start(at);
            expectSound("rest", nextNote(at), false);
        }
    }
    applyVoices();
    setFrameHeight(document.body.scrollHeight);
    wake();
}

function showTake(newTake, bytes) {
    take = newTake;
    midi = bytes;
    api.take = take.id;
    api.arrivedAt = Date.now();
    api.sounds = {};
    api.marks = { warm: api.marks && api.marks.warm, render: performance.now() };
    muted = take.voices.map(() => false);
    soloed = take.voices.map(() => false);
    $("player").hidden = false;
    $("from-bar").max = String(Math.ceil(take.total_ticks / take.bar_ticks));
    voiceChips();
    setTempo(take.tempo);
    if (ready()) loadTake();
    applyVoices();
    setFrameHeight(document.body.scrollHeight);
    api.marks.drawn = performance.now();
}

/** Change an element's text only when it changes (each change is a layout). */
function setText(element, text) {
    if (element.textContent !== text) element.textContent = text;
}

/** How often the playhead moves (ms): 25 times a second, and only by whole pixels; a
 * frame requested 60 times a second cost a headless page as much as its synthesizer. */
const FRAME_MS = 40;

/** Move the playhead from now on, for as long as the music runs (and once more). */
function wake() {
    if (!drawing) {
        drawing = true;
        setTimeout(frame, 0);
    }
}

function frame() {
    if (take && ready()) {
        if (clock.running && engine.seq.isFinished && engine.paused) {
            clock.stop(duration());
            if (take.partial) {  // the rest of the take goes on when it comes
                api.starved = true;
                api.starvedAt = Date.now();
                setText($("where"), "writing the rest…");
            }
            else engine.rest();
        }
        const seconds = clock.heard();
        const ticks = Math.min(seconds / secondsPerTick(), take.total_ticks);
        roll.playhead(ticks);
        api.playhead = seconds;
        const bars = Math.ceil(take.total_ticks / take.bar_ticks);
        const bar = Math.min(Math.floor(ticks / take.bar_ticks) + 1, bars);
        setText($("where"), `bar ${bar} of ${bars}`);
        setText($("play"), clock.running ? "❚❚ Pause" : "▶ Play");
    }
    drawing = take && ready() && clock.running;
    if (drawing) setTimeout(frame, FRAME_MS);
}

async function start(fontUrl) {
    const problem = webAudioProblem();
    if (problem) {
        api.state = "no-webaudio";
        api.error = problem;
        setComponentValue({ webaudio: false, reason: problem });
        return;
    }
    try {
        await engine.start(fontUrl);
        clock = new MusicClock(engine.ctx);
        api.state = "ready";
        $("loading").hidden = true;
        if (take) loadTake();
    } catch (error) {
        api.state = "error";
        api.error = String(error);
        $("loading").textContent = `The piano could not be loaded: ${error}`;
        setComponentValue({ webaudio: false, reason: String(error.message || error) });
    }
}

/** The page's theme: its text colour and font. */
function applyTheme(theme) {
    if (!theme) return;
    const root = document.documentElement.style;
    if (theme.textColor) root.setProperty("--text", theme.textColor);
    if (theme.font) document.body.style.fontFamily = theme.font;
}

listen((args, theme) => {
    applyTheme(theme);
    if (!started) {
        started = start(args.soundfont || "piano.sf2");
        bindControls();
        watchGenerate();
    }
    if (!args.take) {
        $("player").hidden = true;
        setFrameHeight(0);
    } else if (!take || take.id !== args.take.id) {
        showTake(args.take, args.midi);
    } else if (take.partial && !args.take.partial) {
        extendTake(args.take, args.midi);
    }
});
window.addEventListener("resize", () => {
    if (take) {
        applyVoices();
        wake();
    }
});
componentReady();
