"""bachgen's Streamlit page, the only part of the package that imports streamlit.

A thin layer over the package: widgets become a :class:`~bachgen.pipeline.ComposeSettings`,
:func:`~bachgen.pipeline.compose` writes the music, and the page shows what came back.
The model, the player's audio workers and the score's engraver are started once per server
(``st.cache_resource``) and shared by every session; takes asking at once are drawn together
(:class:`bachgen.serving.DrawQueue`). A take's audio comes first: the player gets compressed
audio (FLAC at 22.05 kHz, made in worker processes, see
:class:`bachgen.render.audio.SynthesizerProcesses`), and what the page draws after it waits while
other sessions' takes still wait for theirs (:class:`bachgen.serving.AudioFirst`). The WAV
download is rendered only when it is asked for. Every take of a session is kept
(bytes in ``st.session_state``) so earlier ones stay playable and downloadable. Errors are
shown as messages on the page, never as tracebacks. Each take's seconds per stage are
logged as one ``bachgen take {...}`` line (JSON) on the server's standard error.

The modules, each importing only those below it:

- :mod:`~bachgen.ui.page` — the page from top to bottom (:func:`~bachgen.ui.page.main`);
- :mod:`~bachgen.ui.takes` — composing a take, engraving its score, showing every take;
- :mod:`~bachgen.ui.quality_panel` — a take's statistics beside the real fugues';
- :mod:`~bachgen.ui.form_panel` — a take's subject, its entries and its ending;
- :mod:`~bachgen.ui.controls` — the sidebar, its settings, the shaping buttons of a take;
- :mod:`~bachgen.ui.corpus_panel` — fetching the 48 fugues, and which are usable;
- :mod:`~bachgen.ui.resources` — what the server starts once and every session shares.

``app.py`` (``streamlit run app.py``) sets the page up and calls :func:`~bachgen.ui.page.main`.
Importing :mod:`bachgen` or any module outside this one does not import streamlit.
"""
