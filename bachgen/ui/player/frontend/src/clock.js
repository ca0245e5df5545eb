// Where the music is, from the audio context's own clock: an anchor (the context's time and
// the music's second there) and the playback rate. The synthesizer's sequencer plays by the
// same clock (sample by sample in its AudioWorklet), so the anchor is all that has to be
// right: it is set when the sound of a take is first seen, and moved at each seek, pause,
// resume and change of tempo. The main thread's own estimate in spessasynth_lib is kept
// within 50 ms of the worklet only, and is 0 until the worklet has answered.

export class MusicClock {
    constructor(ctx) {
        this.ctx = ctx;
        this.music = 0;
        this.at = 0;
        this.rate = 1;
        this.running = false;
    }

    /** The context's time of the sound being heard now (the output's latency taken off). */
    heardTime() {
        const ctx = this.ctx;
        if (ctx.getOutputTimestamp) {
            const stamp = ctx.getOutputTimestamp();
            if (stamp.performanceTime > 0) {
                return stamp.contextTime + (performance.now() - stamp.performanceTime) / 1000;
            }
        }
        return ctx.currentTime - (ctx.outputLatency || 0) - (ctx.baseLatency || 0);
    }

    /** The music's second at the context's time ``t`` (now, being rendered, by default). */
    at_(t) {
        return this.running ? this.music + (t - this.at) * this.rate : this.music;
    }

    /** The second of the music being rendered now. */
    now() { return this.at_(this.ctx.currentTime); }

    /** The second of the music being heard now (for the playhead). */
    heard() { return Math.max(0, Math.min(this.at_(this.heardTime()), this.now())); }

    /** The music runs from ``music`` at the context's time ``at`` (now by default). */
    start(music, at = this.ctx.currentTime) {
        this.music = music;
        this.at = at;
        this.running = true;
    }

    /** The music stops where it is (or at ``music``). */
    stop(music = this.now()) {
        this.music = music;
        this.running = false;
    }

    seek(music) {
        this.music = music;
        this.at = this.ctx.currentTime;
    }

    setRate(rate) {
        this.music = this.now();
        this.at = this.ctx.currentTime;
        this.rate = rate;
    }
}
