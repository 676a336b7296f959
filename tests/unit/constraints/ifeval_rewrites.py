"""Rewritten IFEval responses: texts no test has seen, made to sit near each checker's edge.

Each rewrite applies one to three edits drawn from `EDITS` with a seeded generator, so a run is
repeatable and a failure names the seed that made it.
"""

from __future__ import annotations

import json
import random
import re
from collections.abc import Callable, Sequence
from typing import Any

Edit = Callable[[random.Random, str, Any, Sequence[str]], str]

_OTHER_LANGUAGES = [
    "Das ist ein kurzer deutscher Absatz über das Wetter und die Berge im Sommer.",
    "Bonjour à tous, voici un petit texte en français pour vérifier la langue.",
    "Este es un párrafo en español que habla de la comida y de la música.",
    "这是一个简短的中文段落，用来检查语言识别是否正确。",
    "Это короткий абзац на русском языке о погоде и городе.",
    "यह हिंदी में एक छोटा अनुच्छेद है जो भाषा की पहचान के लिए है।",
    "Questo è un breve paragrafo in italiano sulla cucina e sul mare.",
    "これは言語の判定を確かめるための短い日本語の段落です。",
]
_TRICKY_SENTENCES = [
    "Dr. Smith met Mr. Jones at 5 p.m. in the U.S. capital.",
    "It costs $3.50, i.e. less than before... Really?! Yes.",
    "See e.g. Fig. 2 and No. 7; they differ.",
    'He said "Stop." Then he left.',
    "The end (finally).",
    "Wait - what? OK!!",
]


def _words(text: str) -> list[str]:
    return text.split()


def _cross(rng: random.Random, response: str, row: Any, pool: Sequence[str]) -> str:
    return rng.choice(pool)


def _upper(rng: random.Random, response: str, row: Any, pool: Sequence[str]) -> str:
    return response.upper()


def _lower(rng: random.Random, response: str, row: Any, pool: Sequence[str]) -> str:
    return response.lower()


def _no_commas(rng: random.Random, response: str, row: Any, pool: Sequence[str]) -> str:
    return response.replace(",", rng.choice(["", " ", ";"]))


def _drop_stars(rng: random.Random, response: str, row: Any, pool: Sequence[str]) -> str:
    return response.replace("*", "")


def _paragraph_surgery(rng: random.Random, response: str, row: Any, pool: Sequence[str]) -> str:
    paragraphs = [p for p in re.split(r"\n\s*\n", response) if p.strip()] or [response]
    choice = rng.randrange(5)
    if choice == 0 and len(paragraphs) > 1:
        paragraphs.pop(rng.randrange(len(paragraphs)))
    elif choice == 1:
        paragraphs.insert(rng.randrange(len(paragraphs) + 1), paragraphs[rng.randrange(len(paragraphs))])
    if choice == 2:
        return rng.choice(["\n***\n", "\n\n***\n\n", " *** ", "\n* * *\n"]).join(paragraphs)
    if choice == 3:
        return "\n".join(paragraphs)
    return rng.choice(["\n\n", "\n\n\n", "\n \n"]).join(paragraphs)


def _truncate(rng: random.Random, response: str, row: Any, pool: Sequence[str]) -> str:
    words = _words(response)
    if len(words) < 2:
        return response
    return " ".join(words[: rng.randrange(1, len(words))])


def _wrap(rng: random.Random, response: str, row: Any, pool: Sequence[str]) -> str:
    choice = rng.randrange(4)
    if choice == 0:
        return f'"{response}"'
    if choice == 1:
        return "```json\n" + json.dumps({"answer": response}) + "\n```"
    if choice == 2:
        return "```\n" + json.dumps({"answer": response[:80]}) + "\n```"
    return json.dumps({"text": response[:200], "n": rng.randrange(10)})


def _title(rng: random.Random, response: str, row: Any, pool: Sequence[str]) -> str:
    title = rng.choice(["<<A Title>>", "<<>>", "<< spaced title >>", "<<Title\nbroken>>", "<<x>> and <<y>>"])
    return f"{title}\n{response}" if rng.random() < 0.7 else f"{response}\n{title}"


def _postscript(rng: random.Random, response: str, row: Any, pool: Sequence[str]) -> str:
    marker = rng.choice(["P.S.", "P.P.S", "p.s.", "PS:", "P. S.", "P.S"])
    return f"{response}\n\n{marker} thanks for reading."


def _bullets(rng: random.Random, response: str, row: Any, pool: Sequence[str]) -> str:
    lines = [line for line in response.split("\n") if line.strip()] or [response]
    bullet = rng.choice(["* ", "- ", "*", "  * ", "** "])
    count = rng.randrange(1, min(len(lines), 6) + 1)
    picked = set(rng.sample(range(len(lines)), count))
    return "\n".join(bullet + line if i in picked else line for i, line in enumerate(lines))


def _highlight(rng: random.Random, response: str, row: Any, pool: Sequence[str]) -> str:
    words = _words(response)
    if not words:
        return response
    for _ in range(rng.randrange(1, 5)):
        i = rng.randrange(len(words))
        words[i] = rng.choice(["*{}*", "**{}**", "* {} *", "*{}", "***{}***"]).format(words[i])
    return " ".join(words)


def _sections(rng: random.Random, response: str, row: Any, pool: Sequence[str]) -> str:
    paragraphs = [p for p in response.split("\n\n") if p.strip()] or [response]
    splitter = rng.choice(["SECTION", "Section", "PARAGRAPH", "Day", "Part", "SECTION:"])
    return "\n\n".join(f"{splitter} {i + 1}\n{p}" for i, p in enumerate(paragraphs))


def _chatty_lines(rng: random.Random, response: str, row: Any, pool: Sequence[str]) -> str:
    opener = rng.choice(["Sure! Here it is:", "**Answer**", "Here you go.", ""])
    closer = rng.choice(["Hope this helps!", "*Let me know.*", "", "P.S. bye"])
    return f"{opener}\n{response}\n{closer}"


def _keywords(rng: random.Random, response: str, row: Any, pool: Sequence[str]) -> str:
    terms: list[str] = []
    for kwargs in row.kwargs:
        for key in ("keywords", "forbidden_words"):
            terms += list(kwargs.get(key) or [])
        if kwargs.get("keyword"):
            terms += [kwargs["keyword"]] * rng.randrange(1, 4)
    if not terms:
        terms = ["the", "and"]
    words = _words(response) or [""]
    for term in rng.sample(terms, min(len(terms), 3)):
        shaped = rng.choice([term, term.upper(), term.capitalize(), term + "s", term + ",", f"({term})"])
        words.insert(rng.randrange(len(words) + 1), shaped)
    return " ".join(words)


def _letters(rng: random.Random, response: str, row: Any, pool: Sequence[str]) -> str:
    letter = next((k["letter"] for k in row.kwargs if k.get("letter")), rng.choice("aeioust"))
    if rng.random() < 0.5:
        return response.replace(letter, "")
    return response + " " + (letter.upper() + letter) * rng.randrange(1, 8)


def _capitals(rng: random.Random, response: str, row: Any, pool: Sequence[str]) -> str:
    words = _words(response)
    for _ in range(rng.randrange(1, 25)):
        if words:
            i = rng.randrange(len(words))
            words[i] = words[i].upper()
    return " ".join(words)


def _other_language(rng: random.Random, response: str, row: Any, pool: Sequence[str]) -> str:
    chunk = rng.choice(_OTHER_LANGUAGES)
    choice = rng.randrange(3)
    if choice == 0:
        return chunk
    if choice == 1:
        return f"{response}\n\n{chunk}"
    return " ".join([chunk] * rng.randrange(1, 6))


def _end_phrase(rng: random.Random, response: str, row: Any, pool: Sequence[str]) -> str:
    phrase = next(
        (k["end_phrase"] for k in row.kwargs if k.get("end_phrase")), "Is there anything else I can help with?"
    )
    return (
        response.rstrip()
        + rng.choice([" ", "\n", "\n\n", ""])
        + rng.choice([phrase, phrase.lower(), phrase + " ", phrase + ".", f'"{phrase}"', phrase.rstrip("?.!")])
    )


def _repeat_prompt(rng: random.Random, response: str, row: Any, pool: Sequence[str]) -> str:
    prompt = next((k["prompt_to_repeat"] for k in row.kwargs if k.get("prompt_to_repeat")), row.prompt)
    shaped = rng.choice([prompt, prompt.upper(), " " + prompt, prompt[:-1]])
    return f"{shaped}\n{response}"


def _two_responses(rng: random.Random, response: str, row: Any, pool: Sequence[str]) -> str:
    other = rng.choice([response, rng.choice(pool), response.upper()])
    return rng.choice(["******", "\n******\n", "*******", " ****** "]).join([response, other][: rng.randrange(1, 3)])


def _noise(rng: random.Random, response: str, row: Any, pool: Sequence[str]) -> str:
    noise = rng.choice(["\u00a0", "\t", "\r\n", "😀", "—", "\u200b", "  ", "…", "²", "e\u0301", "\x1c", "‿"])
    words = response.split(" ")
    for _ in range(rng.randrange(1, 6)):
        words.insert(rng.randrange(len(words) + 1), noise)
    return " ".join(words)


def _tricky_sentences(rng: random.Random, response: str, row: Any, pool: Sequence[str]) -> str:
    picked = " ".join(rng.sample(_TRICKY_SENTENCES, rng.randrange(1, 4)))
    return f"{picked} {response}" if rng.random() < 0.5 else f"{response} {picked}"


def _placeholders(rng: random.Random, response: str, row: Any, pool: Sequence[str]) -> str:
    marks = [rng.choice(["[name]", "[ address ]", "[]", "[a][b]", "[[x]]", "[x"]) for _ in range(rng.randrange(1, 5))]
    return response + " " + " ".join(marks)


def _empty_like(rng: random.Random, response: str, row: Any, pool: Sequence[str]) -> str:
    return rng.choice(["", " ", "\n\n", "*", "***", "A", "yes", "My answer is yes."])


EDITS: list[Edit] = [
    _cross, _upper, _lower, _no_commas, _drop_stars, _paragraph_surgery, _truncate, _wrap, _title,
    _postscript, _bullets, _highlight, _sections, _chatty_lines, _keywords, _letters, _capitals,
    _other_language, _end_phrase, _repeat_prompt, _two_responses, _noise, _tricky_sentences,
    _placeholders, _empty_like,
]  # fmt: skip


def rewrite(seed: int, response: str, row: Any, pool: Sequence[str]) -> str:
    """One to three edits of `response`, chosen and applied by a generator seeded with `seed`."""
    rng = random.Random(seed)
    for edit in rng.sample(EDITS, rng.randrange(1, 4)):
        response = edit(rng, response, row, pool)
    return response
