"""Writing checkers (English and Chinese), table-driven."""

from __future__ import annotations

import pytest
from writer_r1.constraints import ConstraintArgumentError, get_checker

STORY_ZH = "第一章 归途\n\n我回到了胡同。“你回来了？”她问。我点点头。\n\n第二章 旧梦\n\n清晨的叫卖声依旧。"
STORY_EN = '# The Harbour\n\n## Morning\n\nI walked to the pier. "Late again," he said.\n\n## Night\n\nWe sailed home.'

CASES = [
    ("writing:word_count_range", {"target": 10}, "一二三四五六七八九十", True),
    ("writing:word_count_range", {"target": 10}, "一二三四五六七八", False),  # 8 < 9 (10 % tolerance)
    ("writing:word_count_range", {"target": 10, "tolerance": 0.2}, "一二三四五六七八", True),
    ("writing:word_count_range", {"min": 3}, "我爱 Paris", True),
    ("writing:word_count_range", {"max": 2}, "one two three", False),
    ("writing:word_count_range", {"min": 2, "max": 3}, "It's well-known.", True),
    ("writing:character_count_range", {"max": 5}, "你 好 世 界", True),
    ("writing:character_count_range", {"max": 5, "include_whitespace": True}, "你 好 世 界", False),
    ("writing:sentence_count_range", {"min": 3}, "他来了。她笑了！真的吗？", True),
    ("writing:sentence_count_range", {"max": 1}, "Dr. Smith left. He came back.", False),
    ("writing:paragraph_count_range", {"min": 2, "max": 2}, "One.\n\nTwo.", True),
    ("writing:paragraph_count_range", {"min": 3, "max": 3}, "一段。\n二段。\n三段。", True),  # single-line paragraphs
    ("writing:paragraph_count_range", {"max": 2}, "# Title\n\nOne.\n\n---\n\nTwo.", True),
    ("writing:must_include", {"terms": ["harbour", "胡同"]}, "The Harbour by the 胡同.", True),
    ("writing:must_include", {"terms": ["art"]}, "Start here.", False),
    ("writing:must_include", {"terms": ["art", "sea"], "mode": "any"}, "The sea.", True),
    ("writing:must_include", {"terms": ["sea"], "min_count": 2}, "The sea.", False),
    ("writing:must_avoid", {"terms": ["very"]}, "Every day.", True),
    ("writing:must_avoid", {"terms": ["非常"]}, "他非常高兴。", False),
    ("writing:starts_with", {"phrase": "Once upon a time"}, "**Once upon a time**, there was", True),
    ("writing:starts_with", {"phrase": "从前"}, "很久以前", False),
    ("writing:ends_with", {"phrase": "The End"}, "...and so it was.\n\n*The end.*", True),
    ("writing:ends_with", {"phrase": "明天见"}, "我们说：“明天见。”", True),
    ("writing:ends_with", {"phrase": "See you"}, "See you tomorrow.", False),
    ("writing:title", {}, STORY_EN, True),
    ("writing:title", {}, "《归途》\n正文。", True),
    ("writing:title", {}, "It was a dark night. Rain fell.", False),
    ("writing:title", {"contains": "harbour"}, STORY_EN, True),
    ("writing:sections", {"min": 2, "max": 2}, STORY_EN, True),
    ("writing:sections", {"min": 2, "max": 2}, STORY_ZH, True),
    ("writing:sections", {"min": 3}, STORY_EN, False),
    ("writing:section_names", {"names": ["Morning", "Night"], "ordered": True}, STORY_EN, True),
    ("writing:section_names", {"names": ["Night", "Morning"], "ordered": True}, STORY_EN, False),
    ("writing:no_bullet_lists", {}, "1. first\n2. second", True),
    ("writing:no_bullet_lists", {"allow_numbered": False}, "1. first\n2. second", False),
    ("writing:no_bullet_lists", {}, "• one\n• two", False),
    ("writing:no_bullet_lists", {}, "**Bold** start and a - dash.", True),
    ("writing:point_of_view", {"person": "first"}, STORY_ZH, True),
    ("writing:point_of_view", {"person": "first"}, STORY_EN, True),
    ("writing:point_of_view", {"person": "third"}, STORY_EN, False),
    ("writing:point_of_view", {"person": "third"}, "他走进房间，说：“我累了。”她笑了。", True),
    ("writing:point_of_view", {"person": "third"}, "其他人都走了，她留了下来。", True),
    ("writing:point_of_view", {"person": "second"}, "You open the door. Your hands shake.", True),
    ("writing:dialogue", {}, STORY_EN, True),
    ("writing:dialogue", {"min_lines": 2}, "ALICE: Hello.\nBOB: Hi there.", True),
    ("writing:dialogue", {}, "No one spoke that night.", False),
]  # fmt: skip


@pytest.mark.parametrize(("constraint_id", "kwargs", "text", "expected"), CASES)
def test_writing_checkers(constraint_id, kwargs, text, expected):
    checker = get_checker(constraint_id, **kwargs)
    verdict = checker.verdict(text)
    assert verdict.passed is expected, verdict.detail
    assert checker.describe()


def test_about_n_words_describes_its_range():
    assert get_checker("writing:word_count_range", target=2000).describe() == (
        "Write about 2,000 words (between 1,800 and 2,200)."
    )


@pytest.mark.parametrize(
    ("constraint_id", "kwargs"),
    [
        ("writing:word_count_range", {}),
        ("writing:word_count_range", {"target": 100, "min": 90}),
        ("writing:word_count_range", {"min": 10, "max": 5}),
        ("writing:word_count_range", {"target": 100, "tolerance": 2}),
        ("writing:must_include", {"terms": []}),
        ("writing:must_include", {"terms": ["  "]}),
        ("writing:point_of_view", {"person": "fourth"}),
        ("writing:ends_with", {}),
    ],
)
def test_writing_bad_kwargs(constraint_id, kwargs):
    with pytest.raises(ConstraintArgumentError):
        get_checker(constraint_id, **kwargs)
