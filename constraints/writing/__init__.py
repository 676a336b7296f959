"""Writing constraints (`writing:` family) for English and Chinese tasks.

Modules: `length` (word / character / sentence / paragraph ranges, CJK-aware), `content`
(must include / avoid, start and end phrases), `structure` (title, sections, named sections,
bullet lists), `voice` (point of view, dialogue). Checkers register on import; use them through
`writer_r1.constraints.get_checker`.
"""
