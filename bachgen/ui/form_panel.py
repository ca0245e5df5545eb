"""A take's form on the page: the subject its entries bring back (or why it has none), each
entry found in the new music (its bar, voice and key), and whether the take ends with a close.

Read from the take's record (:func:`bachgen.ui.take_record.take_form`), so an earlier take
shows its form as the newest does; the piano roll outlines the same entries.
"""

from __future__ import annotations

from typing import Any

from bachgen.render.pianoroll import key_text


def form_lines(form: dict[str, Any] | None) -> tuple[str, str]:
    """The subject line and the ending line of a take's form, as Markdown."""
    form = form or {}
    if form.get("subject"):
        subject = f"**Subject:** {form['subject']}"
    else:
        subject = f"**Subject:** no subject — {form.get('no_subject') or 'none was found'}"
    closes = form.get("closes")
    if closes is None:
        ending = "**Ending:** it could not be checked (no notes or no key)."
    elif closes:
        ending = "**Ending:** it ends with a close (a tonic chord over the tonic, held)."
    elif (form.get("asked") or {}).get("close"):
        ending = "**Ending:** it does not end with a close, though one was planned."
    else:
        ending = "**Ending:** it does not end with a close."
    return subject, ending


def entries_table(form: dict[str, Any] | None) -> dict[str, list[str]]:
    """The entries found after the seed, one row each: bar, voice and key."""
    entries = (form or {}).get("entries") or []
    return {"bar": [str(e.get("bar", "")) for e in entries],
            "voice": [str(e.get("voice") or "—") for e in entries],
            "key": [key_text(e.get("key")) or "—" for e in entries]}


def plan_table(form: dict[str, Any] | None) -> dict[str, list[str]]:
    """A whole fugue's plan, one row a section: its bars, what it is, its key and voice."""
    sections = (form or {}).get("sections") or []
    bar = (form or {}).get("bar_ticks") or 1
    return {"bars": [f"{s['start'] / bar + 1:g}–{s['end'] / bar + 1:g}" for s in sections],
            "section": [s["kind"] for s in sections],
            "key": [key_text(s.get("key")) or "" for s in sections],
            "voice": [s.get("voice_name") or "" for s in sections]}


def form_panel(take: dict[str, Any], where: Any) -> None:
    """The take's subject, its entries and its ending, under a small heading (a whole fugue's
    plan first: the timeline above its piano roll, as a table)."""
    form = take.get("form")
    if form is None:
        return
    subject, ending = form_lines(form)
    where.markdown("**Form**")
    where.markdown(subject)
    if form.get("sections"):
        where.markdown("**Plan** (the timeline above the piano roll)")
        where.table(plan_table(form), hide_index=True)
    table = entries_table(form)
    count = len(table["bar"])
    if count:
        where.markdown(f"**Entries of the subject:** {count} in the new music "
                       "(outlined on the piano roll)")
        where.table(table, hide_index=True)
    elif form.get("subject"):
        where.markdown("**Entries of the subject:** none in the new music.")
    where.markdown(ending)
