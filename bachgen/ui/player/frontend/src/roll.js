// The piano roll, drawn from the take's notes: time across in bars, pitch up, one colour per
// voice, the seed lighter, the subject's entries outlined and labelled; a whole fugue's plan
// (exposition, episodes, entries, close) as a band of sections above the notes. The notes are drawn
// once per take (and per width or change of voices); the playhead is a thin element moved
// over them (a transform, no repaint of the roll).

const LEFT = 34;
const RIGHT = 8;
const TOP = 18;
const BOTTOM = 6;
const ENTRY_SHADE = "rgba(251, 231, 161, 0.75)";
const ENTRY_EDGE = "#111111";
const PLAN = 18;  // the height of a whole fugue's plan above the notes

export class Roll {
    constructor(canvas, playhead) {
        this.canvas = canvas;
        this.head = playhead;
        this.take = null;
        this.headX = null;
    }

    /** Draw ``take`` (see bachgen.render.player_data); ``audible[v]`` says which voices sound. */
    draw(take, audible) {
        this.take = take;
        const pitches = take.notes.map((n) => n[2]);
        this.low = Math.min(...pitches, 60) - 1;
        this.high = Math.max(...pitches, 60) + 1;
        const rows = this.high - this.low + 1;
        this.rowHeight = Math.max(3, Math.min(7, Math.floor(300 / rows)));
        this.top = TOP + ((take.sections || []).length ? PLAN : 0);
        this.height = this.top + rows * this.rowHeight + BOTTOM;
        this.width = Math.max(200, this.canvas.parentElement.clientWidth);
        const ratio = window.devicePixelRatio || 1;
        this.canvas.width = Math.round(this.width * ratio);
        this.canvas.height = Math.round(this.height * ratio);
        this.canvas.style.height = `${this.height}px`;
        this.canvas.getContext("2d").setTransform(ratio, 0, 0, ratio, 0, 0);
        this.headX = null;
        const g = this.canvas.getContext("2d");
        g.clearRect(0, 0, this.width, this.height);
        this.grid(g);
        this.plan(g);
        this.entries(g, true);
        this.notes(g, audible);
        this.entries(g, false);
    }

    x(tick) {
        return LEFT + (tick / this.take.total_ticks) * (this.width - LEFT - RIGHT);
    }

    y(pitch) { return this.top + (this.high - pitch) * this.rowHeight; }

    /** The tick under a point ``px`` pixels from the canvas's left edge. */
    tickAt(px) {
        const t = ((px - LEFT) / (this.width - LEFT - RIGHT)) * this.take.total_ticks;
        return Math.min(Math.max(0, t), this.take.total_ticks);
    }

    grid(g) {
        const take = this.take;
        const bars = Math.ceil(take.total_ticks / take.bar_ticks);
        const barWidth = this.x(take.bar_ticks) - this.x(0);
        const every = Math.max(1, Math.ceil(36 / Math.max(barWidth, 1)));
        g.font = "11px system-ui, sans-serif";
        g.textBaseline = "top";
        if (take.seed_end_tick) {
            g.fillStyle = "rgba(127, 140, 153, 0.12)";
            g.fillRect(this.x(0), this.top, this.x(take.seed_end_tick) - this.x(0), this.height - this.top);
        }
        for (let bar = 0; bar <= bars; bar++) {
            const x = Math.round(this.x(bar * take.bar_ticks)) + 0.5;
            g.strokeStyle = "rgba(128, 128, 128, 0.35)";
            g.beginPath();
            g.moveTo(x, this.top);
            g.lineTo(x, this.height - BOTTOM);
            g.stroke();
            if (bar < bars && bar % every === 0) {
                g.fillStyle = "rgba(128, 128, 128, 0.95)";
                g.fillText(String(bar + 1), x + 2, 2);
            }
        }
        g.fillStyle = "rgba(128, 128, 128, 0.95)";
        for (let p = Math.ceil(this.low / 12) * 12; p <= this.high; p += 12) {
            g.fillText(`C${p / 12 - 1}`, 2, this.y(p) - 4);
            g.fillStyle = "rgba(128, 128, 128, 0.12)";
            g.fillRect(LEFT, this.y(p), this.width - LEFT - RIGHT, this.rowHeight);
            g.fillStyle = "rgba(128, 128, 128, 0.95)";
        }
    }

    /** A whole fugue's plan: one band per section, its colour and, where it fits, its label. */
    plan(g) {
        g.font = "10px system-ui, sans-serif";
        g.textBaseline = "middle";
        for (const section of this.take.sections || []) {
            const x0 = this.x(section.start);
            const x1 = Math.min(this.x(section.end), this.width - RIGHT);
            g.fillStyle = section.colour;
            g.fillRect(x0, TOP, Math.max(1, x1 - x0 - 1), PLAN - 4);
            if (g.measureText(section.label).width + 4 < x1 - x0) {
                g.fillStyle = "#222222";
                g.fillText(section.label, x0 + 2, TOP + (PLAN - 4) / 2);
            }
        }
        g.textBaseline = "top";
    }

    notes(g, audible) {
        const take = this.take;
        for (const [start, end, pitch, voice] of take.notes) {
            const seed = take.seed_end_tick && start < take.seed_end_tick;
            g.globalAlpha = (audible[voice] ? 1 : 0.18) * (seed ? 0.45 : 1);
            g.fillStyle = take.voices[voice]?.colour || "#c0392b";
            const x = this.x(start);
            g.fillRect(x, this.y(pitch) + 0.5, Math.max(1.5, this.x(end) - x - 0.5),
                       this.rowHeight - 1);
        }
        g.globalAlpha = 1;
    }

    /** The entries of the subject: a light band behind (``shade``), or outlines and labels. */
    entries(g, shade) {
        for (const entry of this.take.entries) {
            for (const [start, end, pitch] of entry.notes) {
                const x = this.x(start);
                const w = Math.max(2, this.x(end) - x);
                if (shade) {
                    g.fillStyle = ENTRY_SHADE;
                    g.fillRect(x - 1, this.y(pitch) - 2, w + 2, this.rowHeight + 4);
                } else {
                    g.strokeStyle = ENTRY_EDGE;
                    g.lineWidth = 1.2;
                    g.strokeRect(x, this.y(pitch) + 0.5, w, this.rowHeight - 1);
                }
            }
            if (!shade && entry.label && entry.notes.length) {
                const [start, , pitch] = entry.notes[0];
                g.fillStyle = ENTRY_EDGE;
                g.font = "10px system-ui, sans-serif";
                g.textBaseline = "bottom";
                g.fillText(entry.label, this.x(start), this.y(pitch) - 2);
                g.textBaseline = "top";
            }
        }
        g.lineWidth = 1;
    }

    /** Put the playhead at ``tick`` (moved only when it moves by a pixel). */
    playhead(tick) {
        const x = Math.round(this.x(tick));
        if (x === this.headX) return;
        this.headX = x;
        this.head.style.display = "block";
        this.head.style.transform = `translateX(${x - 1}px)`;
    }
}
