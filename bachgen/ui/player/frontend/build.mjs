// Builds the player into build/: one ES module bundle (the page's code with spessasynth_lib),
// the AudioWorklet processor from spessasynth_lib, the page and its style. The SoundFont is
// put beside them by the Python side (bachgen.ui.player.ensure_soundfont), so that the
// browser plays the same piano as the server's WAV download.
import { build } from "esbuild";
import { copyFileSync, mkdirSync } from "node:fs";

const out = "build";
mkdirSync(out, { recursive: true });
await build({
    entryPoints: ["src/main.js"],
    bundle: true,
    format: "esm",
    minify: true,
    target: "es2022",
    outfile: `${out}/player.js`,
    legalComments: "linked",
    logLevel: "warning",
});
copyFileSync("node_modules/spessasynth_lib/dist/spessasynth_processor.min.js",
             `${out}/spessasynth_processor.min.js`);
copyFileSync("src/index.html", `${out}/index.html`);
copyFileSync("src/player.css", `${out}/player.css`);
console.log("bachgen player built in", out);
