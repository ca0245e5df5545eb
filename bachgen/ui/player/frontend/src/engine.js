// The sound: spessasynth_lib's synthesizer (an AudioWorklet) loaded with the page's
// SoundFont, its sequencer playing a take's MIDI file, and analysers that say when sound
// comes out (all of it and each MIDI channel's dry signal), for the page's own measurements
// and tests. The audio context is suspended while nothing sounds: an idle synthesizer would
// still render silence (and its reverb) on the audio thread, a share of a core per page.
import { Sequencer, WorkletSynthesizer } from "spessasynth_lib";

/** Why this browser cannot play here, or null when it can. */
export function webAudioProblem() {
    if (typeof window.AudioContext === "undefined") return "this browser has no Web Audio";
    if (typeof window.AudioWorkletNode === "undefined") return "this browser has no AudioWorklet";
    return null;
}

/** The largest absolute sample an analyser sees in its window. */
function level(analyser, buffer) {
    analyser.getFloatTimeDomainData(buffer);
    let peak = 0;
    for (let i = 0; i < buffer.length; i++) peak = Math.max(peak, Math.abs(buffer[i]));
    return peak;
}

export class Engine {
    /** Start the audio context, the worklet and the synthesizer, load the SoundFont. */
    async start(fontUrl, channels = 8) {
        const ctx = new AudioContext({ latencyHint: "interactive" });
        this.ctx = ctx;
        const font = fetch(fontUrl).then((r) => {
            if (!r.ok) throw new Error(`the SoundFont could not be loaded (${r.status})`);
            return r.arrayBuffer();
        });
        await ctx.audioWorklet.addModule("spessasynth_processor.min.js");
        const synth = new WorkletSynthesizer(ctx);
        synth.connect(ctx.destination);
        this.analyser = ctx.createAnalyser();
        this.analyser.fftSize = 256;
        synth.connect(this.analyser);
        this.channelAnalysers = [];
        for (let c = 0; c < channels; c++) {
            const a = ctx.createAnalyser();
            a.fftSize = 256;
            synth.connectChannel(a, c);
            this.channelAnalysers.push(a);
        }
        this.buffer = new Float32Array(256);
        await synth.soundBankManager.addSoundBank(await font, "main");
        await synth.isReady;
        this.synth = synth;
        this.idleTimer = null;
        await ctx.suspend();
        // A take starts where its bar does: the silence before its first note is skipped.
        this.seq = new Sequencer(synth, { skipToFirstNoteOn: true });
        this.seq.loopCount = 0;
    }

    /** Load a MIDI file (bytes) into the sequencer; it plays when ``play`` is true. */
    load(midi, play) {
        this.synth.stopAll(true);
        const binary = midi.slice().buffer;
        this.seq.loadNewSongList([{ binary, fileName: "take.mid" }]);
        if (play) this.play();
        else this.seq.pause();
    }

    /**
     * Go on with another MIDI file from ``seconds`` (a take's whole after its opening): the
     * notes sounding now are let go (not cut), the new file plays on from there when
     * ``play`` is true. Messages to the worklet keep their order, so the new file starts
     * at ``seconds`` and nothing of its beginning sounds.
     */
    swap(midi, seconds, play) {
        const binary = midi.slice().buffer;
        this.seq.loadNewSongList([{ binary, fileName: "take.mid" }]);
        this.seq.currentTime = Math.max(0, seconds);
        if (play) this.play();
        else this.seq.pause();
    }

    /** Start the audio context ahead of a take (it takes a moment to wake); it rests again
     * after ``ms`` if nothing plays by then. */
    warm(ms = 15000) {
        if (this.ctx.state !== "running") this.ctx.resume();
        this.rest(ms);
    }

    play() {
        clearTimeout(this.idleTimer);
        if (this.ctx.state !== "running") this.ctx.resume();
        this.seq.play();
    }

    pause() {
        this.seq.pause();
        this.synth.stopAll(true);
        this.rest();
    }

    /** Suspend the audio context once everything has died away (the reverb's tail too). */
    rest(after = 1500) {
        clearTimeout(this.idleTimer);
        this.idleTimer = setTimeout(() => {
            if (this.seq.paused && this.ctx.state === "running") this.ctx.suspend();
        }, after);
    }

    get paused() { return this.seq.paused; }

    /** Jump to ``seconds`` of the music (at the file's own tempo). */
    seek(seconds) { this.seq.currentTime = Math.max(0, seconds); }

    /** Playback speed against the file's tempo (1: as written). */
    set rate(value) { this.seq.playbackRate = value; }

    get rate() { return this.seq.playbackRate; }

    /** The sequencer's clock: seconds of the music being rendered now. */
    clock() { return this.seq.currentHighResolutionTime; }

    /** Seconds between rendering and hearing (the output's latency). */
    latency() { return (this.ctx.outputLatency || 0) + (this.ctx.baseLatency || 0); }

    /** Mute or unmute a MIDI channel (a muted one stops its notes at once). */
    mute(channel, muted) {
        const ch = this.synth.midiChannels[channel];
        if (ch) ch.setSystemParameter("isMuted", muted);
    }

    /** The peak level of everything, and of each channel, in the analysers' window. */
    levels() {
        return {
            all: level(this.analyser, this.buffer),
            channels: this.channelAnalysers.map((a) => level(a, this.buffer)),
        };
    }

    /** The peak level of the voices' dry signal (no reverb tail): whether notes sound. */
    notesLevel() {
        return Math.max(0, ...this.channelAnalysers.map((a) => level(a, this.buffer)));
    }
}
