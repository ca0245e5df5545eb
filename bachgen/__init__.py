"""bachgen: new music in the style of J.S. Bach, learnt from the Well-Tempered Clavier fugues.

The package is a pipeline of small stages, one module each:
``corpus`` (kern files -> Piece) -> ``tokens`` (Piece <-> event words) ->
``dataset`` / ``model`` / ``train`` -> ``bundle`` (assets/model) -> ``sampling`` ->
``midi`` / ``pianoroll`` / ``audio`` / ``score`` -> ``pipeline.compose``.
"""

__version__ = "0.1.0"
