"""The worked example of docs/method.md: the Grounded-Theory criteria graph, then the reflection loop, over HTTP.

Every model call goes to the loopback OpenAI-compatible server (`writer_r1.testing.OpenAICompatServer`), answered
by `ToyModel`: a small rule-based stand-in for an LLM that reads each role's prompt and answers in that role's
JSON contract (the `response_format` schema tells it which). It "understands" writing through a handful of rules
(does a sentence say where the button is? is it effusive?), so the run is deterministic and offline, and still
exercises every step of the method on real prompts: open coding with verbatim quotes and a human comment, axial
and selective coding, anchors grounded in codes, theoretical sampling, saturation, the discrimination check that
sends a criterion back, and a reflection loop that revises a draft against the criteria.

Run it:  python docs/method_example.py   (prints the trace pasted in docs/method.md)
"""

from __future__ import annotations

import asyncio
import json
import re
import sys
from typing import Any

TASK = (
    "Write a short email telling our customers that the export button moved to the Settings page, in at most 120 words."
)

SAMPLES = [
    {
        "text": "Hi there,\nWe moved the Export button. You will now find it under Settings > Data. Click Export there "
        "to download your files as before.\nNothing else about your data has changed.\nThanks,\nThe Team",
    },
    {
        "text": "Dear valued customer,\nWe are thrilled beyond words to share an exciting new chapter in our journey! "
        "Our beloved export feature has found a beautiful new home somewhere in the app.\nWith love,\nThe Team",
        "comment": "Too gushing, and I still don't know where the button went.",
    },
]

# What the toy model's writer drafts, by approach (the graph cycles through six approaches), and for probes.
DRAFTS = [
    "Looking for Export? It has a new home under Settings > Data. Open Settings, choose Data, then click Export. "
    "Everything else stays where it was.",
    "Export moved. Settings > Data > Export. Nothing else changed.",
    "Hello, we made some changes to the app. The export thing is somewhere else now, probably in settings. "
    "Let us know if you have problems.",
    "Folks, quick heads-up: the Export button moved to Settings > Data. Same button, same files, new address.",
]
PROBE_DRAFTS = {  # a probe names a gap; the toy writer drafts texts that show it, well and badly
    "scope": ["Hello, we made some changes to the app. Export is now under Settings > Data.",
              "Hi all,\nExport is now under Settings > Data. Nothing else changed."],
    "location": ["Hi all,\nExport is somewhere in Settings now. Nothing else changed."],
    "tone": ["We are so excited about this amazing journey! Export now lives under Settings > Data."],
}  # fmt: skip

# The toy model's reading of a sentence: (pattern, concept, polarity, observation, category).
RULES = [
    (r"Settings\s*>\s*Data", "location stated", "strength", "Names the exact place the button moved to.", "Findability"),
    (r"somewhere|probably", "vague location", "weakness", "Does not say where the button is now.", "Findability"),
    (r"\b(?:Click|Open|click)\b", "next step given", "strength", "Tells the reader what to do now.", "Findability"),
    (r"thrilled|exciting|excited|journey|beloved|beautiful|amazing|gushing|valued customer|With love", "gushing tone", "weakness",
     "Effusive wording delays the news.", "Register"),
    (r"^(?:Hi|Hello|Folks|Looking)\b", "plain opening", "strength", "Opens plainly and gets to the point.", "Register"),
    (r"Nothing else|Everything else|Same button", "scope reassurance", "strength",
     "Says that nothing else changed.", "Scope"),
    (r"some changes|have problems", "vague news", "weakness", "Leaves the news itself unclear.", "Scope"),
]  # fmt: skip
SENTENCE = re.compile(r"[^.!?\n]+[.!?]?")
FENCE = re.compile(r"^(<<<[^>\n]+>>>)\n(.*?)\n\1$", re.MULTILINE | re.DOTALL)


def sentences(text: str) -> list[str]:
    return [s.strip() for s in SENTENCE.findall(text) if s.strip()]


def read(text: str) -> list[tuple[str, str, str, str, str]]:
    """(quote, concept, polarity, observation, category) for every rule a sentence of `text` matches."""
    found = []
    for sentence in sentences(text):
        for pattern, concept, polarity, observation, category in RULES:
            if re.search(pattern, sentence):
                found.append((sentence, concept, polarity, observation, category))
    return found


def concepts_in(text: str) -> set[str]:
    return {concept for _, concept, *_ in read(text)}


class ToyModel:
    """Answers each role's prompt in its JSON contract (see the module docstring)."""

    def __init__(self) -> None:
        self.probes = 0

    def __call__(self, request: dict[str, Any]) -> str:
        prompt = str(request["messages"][0]["content"])
        schema = (request.get("response_format") or {}).get("json_schema", {}).get("schema", {})
        keys = set(schema.get("properties", {}))
        if prompt.startswith("You are a skilled writer revising"):
            return self.revise(prompt)
        if prompt.startswith("You are a skilled writer."):
            return self.draft(prompt)
        if "winner" in keys:
            return self.pairwise(prompt)
        if prompt.startswith("You are a careful writing judge"):
            return self.judge(prompt)
        handlers = {"codes": self.code, "requirements": self.requirements, "unverifiable": self.extract,
                    "dimensions": self.induce, "approved": self.critique, "diagnosis": self.reflect}  # fmt: skip
        for key, handler in handlers.items():
            if key in keys:
                return handler(prompt)
        raise ValueError(f"the toy model does not know this prompt: {prompt[:80]!r}")

    # --- the criteria graph's roles ---------------------------------------------------------------

    def draft(self, prompt: str) -> str:
        from writer_r1.graphs.criteria import SAMPLE_APPROACHES

        if "Make it show clearly:" in prompt:
            probe = prompt.split("Make it show clearly:")[1].casefold()
            texts = next((texts for gap, texts in PROBE_DRAFTS.items() if gap in probe), DRAFTS)
            self.probes += 1
            return texts[self.probes % len(texts)]
        approach = prompt.split("Approach: ")[1].splitlines()[0]
        return DRAFTS[SAMPLE_APPROACHES.index(approach) % len(DRAFTS)]

    def code(self, prompt: str) -> str:
        blocks = FENCE.findall(prompt)
        text = blocks[0][1]
        comment = next((body for marker, body in blocks if "COMMENT" in marker), "")
        found = read(text) + read(comment)
        codes = [{"concept": c, "observation": o, "quote": q, "polarity": p} for q, c, p, o, _ in found]
        return json.dumps({"codes": codes})

    def requirements(self, prompt: str) -> str:
        return json.dumps({"requirements": [
            {"requirement": "an email to customers", "quote": "email telling our customers"},
            {"requirement": "say that the export button moved to the Settings page",
             "quote": "the export button moved to the Settings page"},
        ]})  # fmt: skip

    def extract(self, prompt: str) -> str:
        words = re.search(r"at most (\d+) words", prompt)
        constraints = [{"id": "writing:word_count_range", "kwargs": {"max": int(words.group(1))}}] if words else []
        return json.dumps({"constraints": constraints, "unverifiable": []})

    def induce(self, prompt: str) -> str:
        codes = re.findall(r"^(C\d+)\. \[(strength|weakness), (\d+)\] ([^:]+):", prompt, re.MULTILINE)
        category_of = {rule[1]: rule[4] for rule in RULES}
        ids: dict[str, list[str]] = {}
        texts: dict[str, int] = {}
        for code_id, _, count, concept in codes:
            category = category_of.get(concept, "Findability")
            ids.setdefault(category, []).append(code_id)
            texts[category] = max(texts.get(category, 0), int(count))
        sharpened = "discrimination [plain-tone]" in prompt  # the critique of the previous round
        tone_levels = (
            ["effusive wording before the news", "mostly effusive", "some effusive phrases", "plain, one warm phrase",
             "plain from the first line"]
            if sharpened
            else ['stiff, as in "To whom it may concern"', "formal", "neutral", "friendly", 'warm, as in "Best regards"']
        )  # fmt: skip
        criteria = {
            "Findability": {"id": "findability", "name": "Findability",
                            "description": "Says where the button is now and how to reach it",
                            "levels": ["does not say where the button is", "hints at the place", "names the place",
                                       "names the place and the path", "gives the path and the next click"],
                            "weight": 9},
            "Register": {"id": "plain-tone", "name": "Plain tone",
                         "description": "Gets to the news without effusive wording", "levels": tone_levels,
                         "weight": 6},
            "Scope": {"id": "scope", "name": "Scope", "description": "Says clearly what changed and what did not",
                      "levels": ["the news itself is unclear", "unclear what changed", "says what changed",
                                 "says what changed and hints at the rest", "says what changed and that nothing else did"],
                      "weight": 5},
        }  # fmt: skip
        for name, criterion in criteria.items():
            criterion["codes"] = ids.get(name, [])
        # The toy's notion of importance: a category none of whose concepts shows in two texts is left out.
        kept = {name for name in criteria if texts.get(name, 0) >= 2}
        usefulness = [criteria[name] for name in ("Findability", "Scope") if name in kept]
        return json.dumps({
            "categories": [{"name": name, "description": criteria[name]["description"], "codes": ids.get(name, [])}
                           for name in criteria if name in kept],
            "core_category": "a busy customer learns at once what moved and where to find it",
            "dimensions": [
                {"name": "Usefulness", "description": "Can the reader act on the news", "weight": 8,
                 "criteria": usefulness},
                {"name": "Register", "description": "How the news sounds", "weight": 4,
                 "criteria": [criteria["Register"]]},
            ],
            "language": "en",
        })  # fmt: skip

    def critique(self, prompt: str) -> str:
        flagged = re.findall(r"^- \[([^\]]+)\] strong .* does not discriminate$", prompt, re.MULTILINE)
        issues = [{"kind": "discrimination", "criterion_ids": [cid],
                   "detail": "its anchors quote phrases no sample uses, so strong and weak texts score alike"}
                  for cid in flagged]  # fmt: skip
        summary = "sharpen the anchors of " + ", ".join(flagged) if flagged else "the criteria are observable"
        return json.dumps({"approved": not flagged, "issues": issues, "summary": summary})

    # --- the reflection loop's roles --------------------------------------------------------------

    def judge(self, prompt: str) -> str:
        text = prompt.split("The text to judge is between the two")[1]
        text = FENCE.search(text).group(2)  # type: ignore[union-attr]
        shown = concepts_in(text)
        verdicts = {}
        for cid, body in re.findall(r"^\[([^\]]+)\] [^\n]*\n((?:  \d+[^\n]*\n?)+)", prompt, re.MULTILINE):
            anchors = re.findall(r"^  \d+(?: \([^)]*\))?: (.*)$", body, re.MULTILINE)
            worst = concepts_in(" ".join(re.findall(r'"([^"]+)"', anchors[0])))
            best = concepts_in(" ".join(re.findall(r'"([^"]+)"', anchors[-1])))
            if best & shown and not worst & shown:
                level, why = len(anchors), "shows what the best anchor quotes"
            elif worst & shown and not best & shown:
                level, why = 1, "shows what the worst anchor quotes"
            else:
                level, why = (len(anchors) + 1) // 2, "neither anchor's example is recognisable in the text"
            verdicts[cid] = {"reason": why, "level": level}
        return json.dumps(verdicts)

    def pairwise(self, prompt: str) -> str:
        first, second = [body for _, body in FENCE.findall(prompt)[:2]]

        def value(text: str) -> int:
            return sum(1 if polarity == "strength" else -1 for _, _, polarity, *_ in read(text))

        winner = "A" if value(first) > value(second) else "B" if value(second) > value(first) else "tie"
        return json.dumps({"reason": "more of what the criteria reward", "winner": winner})

    def reflect(self, prompt: str) -> str:
        ranked = re.findall(r"^\d+\. \[([^\]]+)\] ([^:]+):", prompt, re.MULTILINE)
        target, name = ranked[0]
        keep = re.findall(r"^- \[[^\]]+\] (.+)$", prompt.split("Already at the best level")[-1], re.MULTILINE)
        return json.dumps({"diagnosis": f"{name} is the weakest criterion that matters most.", "targets": [target],
                           "plan": [f"Rewrite only the sentences that hold {name} back."], "keep": keep})  # fmt: skip

    def revise(self, prompt: str) -> str:
        draft = FENCE.search(prompt).group(2)  # type: ignore[union-attr]
        aims = re.findall(r'^- [^:]+: level \d+: .*?"([^"]+)"', prompt, re.MULTILINE)
        kept = draft
        for quote in aims:
            for _, concept, polarity, _, category in read(quote):
                if polarity != "strength":
                    continue
                # Drop this category's weak sentences, add the aimed-for one: the rest stays word for word.
                for sentence, _, weak_polarity, _, weak_category in read(kept):
                    if weak_polarity == "weakness" and weak_category == category:
                        kept = kept.replace(sentence, "").strip()
                if concept not in concepts_in(kept):
                    kept = f"{quote}\n{kept}" if concept == "plain opening" else f"{kept}\n{quote}"
        return "\n".join(line.strip() for line in kept.splitlines() if line.strip())


async def run_example() -> list[str]:
    """Build criteria for TASK from SAMPLES, then revise the weak sample against them; the trace, line by line."""
    from writer_r1.graphs.criteria import astream_criteria
    from writer_r1.graphs.reflection import areflect
    from writer_r1.graphs.state import Sample
    from writer_r1.testing import OpenAICompatServer

    lines: list[str] = []
    emit = lines.append
    with OpenAICompatServer(responder=ToyModel()) as server:
        model, base_url = "openai:toy", server.base_url
        emit(f"task: {TASK}\n")
        criteria = None
        async for node, update in astream_criteria(
            TASK,
            samples=[Sample(**sample) for sample in SAMPLES],
            min_samples=3,
            coverage_threshold=0.3,
            samples_per_round=2,
            max_rounds=1,
            max_critique_rounds=2,
            model=model,
            base_url=base_url,
        ):
            if node == "sample":
                start = update["batch_start"]
                for index, text in enumerate(update["texts"][start:], start=start):
                    emit(f"sample    text {index}: {text!r}")
                for probe in update.get("probes", []):
                    emit(f"          probe: {probe}")
            elif node == "code":
                for code in update.get("codes", []):
                    emit(f'code      text {code.source}: [{code.polarity}] {code.concept}: "{code.quote}"')
                if update.get("extracted"):
                    emit(f"code      task statement: constraints {[(s.id, s.kwargs) for s in update['extracted']]}")
            elif node == "induce":
                draft = update["draft"]
                emit(f"induce    core category: {draft.provenance.core_category}")
                for category in update["categories"]:
                    emit(f"          category {category.name}: {', '.join(category.concepts)}")
                for criterion in draft.criteria:
                    emit(f"          [{criterion.id}] weight {criterion.weight:g}; worst: {criterion.levels[0].anchor}")
                    emit(f"          {' ' * len(criterion.id)}   best:  {criterion.levels[-1].anchor}")
            elif node == "saturate":
                emit(f"saturate  round {update['rounds']}: gap {update['saturation_gap']:.2f} (new-in-content codes)")
            elif node == "critique":
                verdict = update["critique"]
                emit(f"critique  approved={verdict.approved}: {verdict.summary}")
                for issue in verdict.issues:
                    emit(f"          {issue.kind} {issue.criterion_ids}: {issue.detail}")
            elif node == "finalize":
                criteria = update["criteria"]
                emit(f"finalize  {len(criteria.criteria)} criteria, version {criteria.version}")
        assert criteria is not None

        emit("\nreflection on a weak draft:")
        result = await areflect(
            TASK,
            draft=SAMPLES[1]["text"],
            criteria=criteria,
            max_iterations=3,
            target_score=0.95,
            model=model,
            base_url=base_url,
        )
        for entry in result.history:
            targets = entry.reflection.targets if entry.reflection else []
            emit(f"draft {entry.index} (from {entry.base_index}, targets {targets}): overall "
                  f"{entry.scorecard.overall:.3f}, {'accepted' if entry.accepted else 'rejected'} ({entry.verdict})")  # fmt: skip
            emit("    " + entry.text.replace("\n", "\n    "))
        emit(f"stop: {result.stop_reason}; best overall {result.best_scorecard.overall:.3f}")
        emit(f"{len(server.requests)} requests served")
    return lines


if __name__ == "__main__":
    sys.stdout.write("\n".join(asyncio.run(run_example())) + "\n")
