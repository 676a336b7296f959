"""The output language of a prompt: every role answers in the task's language.

Templates receive `language`: None for English (nothing is said), else a label such as "Chinese (zh)",
and say it in one directive line (`language_directive`). Codes are ISO 639-1, optionally with a region
("zh-cn"); the label names the primary subtag.

Example:
    >>> language_label("zh-cn")
    'Chinese (zh)'
    >>> language_label("en") is None
    True
    >>> language_directive("ja")
    'Write everything you write in Japanese (ja), the language of the task: labels, reasons and text alike.'
"""

from __future__ import annotations

LANGUAGE_NAMES: dict[str, str] = {
    "ar": "Arabic", "bg": "Bulgarian", "bn": "Bengali", "ca": "Catalan", "cs": "Czech", "da": "Danish",
    "de": "German", "el": "Greek", "en": "English", "es": "Spanish", "et": "Estonian", "fa": "Persian",
    "fi": "Finnish", "fr": "French", "gu": "Gujarati", "he": "Hebrew", "hi": "Hindi", "hr": "Croatian",
    "hu": "Hungarian", "id": "Indonesian", "it": "Italian", "ja": "Japanese", "kn": "Kannada", "ko": "Korean",
    "lt": "Lithuanian", "lv": "Latvian", "mk": "Macedonian", "ml": "Malayalam", "mr": "Marathi", "ne": "Nepali",
    "nl": "Dutch", "no": "Norwegian", "pa": "Punjabi", "pl": "Polish", "pt": "Portuguese", "ro": "Romanian",
    "ru": "Russian", "sk": "Slovak", "sl": "Slovenian", "so": "Somali", "sq": "Albanian", "sv": "Swedish",
    "sw": "Swahili", "ta": "Tamil", "te": "Telugu", "th": "Thai", "tl": "Tagalog", "tr": "Turkish",
    "uk": "Ukrainian", "ur": "Urdu", "vi": "Vietnamese", "zh": "Chinese",
}  # fmt: skip


def primary_code(code: str | None) -> str:
    """The primary subtag of a language code, lower case ("zh-CN" → "zh"); "" for none."""
    return (code or "").strip().replace("_", "-").split("-")[0].lower()


def language_label(code: str | None) -> str | None:
    """ "Chinese (zh)" for a non-English code, None for English, an empty or an unknown-to-detection code."""
    primary = primary_code(code)
    if not primary or primary in {"en", "unknown", "und"}:
        return None
    name = LANGUAGE_NAMES.get(primary)
    return f"{name} ({primary})" if name else primary


def language_directive(code: str | None) -> str:
    """The one line a template says about the output language ("" for English)."""
    label = language_label(code)
    if label is None:
        return ""
    return f"Write everything you write in {label}, the language of the task: labels, reasons and text alike."
