"""Measuring the model: how well it predicts, what it generates, how fast, its card.

* :mod:`.heldout` — held-out bits per note beside an n-gram and the original architecture;
* :mod:`.statistics`, :mod:`.comparison`, :mod:`.yardstick`, :mod:`.report` — generated
  music against the real fugues (``bachgen evaluate --generated``), and :mod:`.critic`, the
  random forest on the lines' intervals and the harmony over the bass beside them;
* :mod:`.calibration` — the network's next bass and harmony teacher-forced on the fugues, and
  the leaning that corrects it (``bachgen evaluate --calibration [--fit]``);
* :mod:`.voices` — the voice splitting against the fugues' own voices;
* :mod:`.expositions`, :mod:`.exposition_report` — how the 48 fugues lay out exposition,
  middle entries and close (``docs/expositions.md``);
* :mod:`.bench` — generation speed (``bachgen bench``);
* :mod:`.card` — the bundle's model card (``bachgen card``);
* :mod:`.studies`, :mod:`.told` — the studies of the spelled recipe (``bachgen studies``).

The command lines live in :mod:`bachgen.cli.evaluate`; nothing here imports the command line.
"""
