"""report.html: self-contained, untrusted text escaped (in HTML and in the embedded JSON), checked in chromium."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import tempfile
from pathlib import Path

import pytest
from writer_r1.eval.pairwise import run_pairwise
from writer_r1.eval.report import render_page, safe_json, section, table
from writer_r1.testing import OpenAICompatServer

HOSTILE_RESPONSE = '<script>document.title="pwned-script"</script><img src=x onerror="document.title=\'pwned-img\'">'
HOSTILE_PROMPT = 'Write a poem </script><script>document.title="pwned-prompt"</script> & <!-- end'
HOSTILE_REASON = '</textarea><svg onload="document.title=\'pwned-reason\'"> A is better & "quoted"'
CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")


def test_safe_json_cannot_close_its_script_element():
    text = safe_json({"x": "</script><script>alert(1)</script>", "y": "a & b", "z": "\u2028"})
    assert "<" not in text and ">" not in text and "&" not in text
    assert json.loads(text)["x"] == "</script><script>alert(1)</script>"


def test_table_cells_and_titles_are_escaped():
    page = render_page("<b>title</b>", [section("<i>s</i>", table(["<h>"], [["<script>x</script>"]]))])
    assert "<b>title" not in page and "&lt;b&gt;title&lt;/b&gt;" in page
    assert "<script>x" not in page and "&lt;script&gt;x&lt;/script&gt;" in page and "<i>s" not in page


@pytest.fixture(scope="module")
def hostile_report() -> Path:
    folder = Path(tempfile.mkdtemp())
    prompts = [f"{HOSTILE_PROMPT} {i}" for i in range(4)]
    (folder / "p.jsonl").write_text(
        "".join(json.dumps({"id": f"<b>{i}</b>", "prompt": p}) + "\n" for i, p in enumerate(prompts))
    )
    for name in ("a", "b"):
        (folder / f"{name}.jsonl").write_text(
            "".join(json.dumps({"prompt": p, "response": f"{HOSTILE_RESPONSE} ({name})"}) + "\n" for p in prompts)
        )
    responder = lambda request: json.dumps({"reason": HOSTILE_REASON, "winner": "A"})  # noqa: E731
    with OpenAICompatServer(responder=responder) as judge:
        run_pairwise(
            folder / "p.jsonl",
            str(folder / "a.jsonl"),
            str(folder / "b.jsonl"),
            judge="openai:j",
            judge_base_url=judge.base_url,
            output_dir=folder / "out",
            progress=False,
        )
    return folder / "out" / "report.html"


def test_a_hostile_report_holds_only_escaped_text(hostile_report: Path):
    page = hostile_report.read_text(encoding="utf-8")
    # The only script element is the embedded data, which is JSON (not executed) with < > & escaped.
    assert len(re.findall(r"<script", page)) == 1 and '<script type="application/json" id="report-data">' in page
    data = page.split('id="report-data">', 1)[1].split("</script>", 1)[0]
    assert "<" not in data and ">" not in data
    assert json.loads(data)["judgements"][0]["verdicts"][0]["reason"] == HOSTILE_REASON
    for raw in ("<img src=x", "<svg onload", "</textarea>", "<!-- end"):
        assert raw not in page
    assert "&lt;script&gt;document.title=&quot;pwned-script&quot;&lt;/script&gt;" in page
    assert "&lt;img src=x onerror=" in page
    # No network at view time: nothing is loaded from anywhere; images are inline data.
    assert not re.search(r"""(src|href)=["']?(https?:)?//""", page)
    assert "img-src data:" in page  # and a CSP that would block anything else


@pytest.mark.skipif(CHROMIUM is None, reason="chromium is not installed (apt-get install chromium)")
def test_chromium_renders_the_report_and_runs_nothing(hostile_report: Path, tmp_path: Path):
    flags = [
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        f"--user-data-dir={tmp_path / 'profile'}",
    ]
    url = hostile_report.as_uri()
    dom = subprocess.run([CHROMIUM, *flags, "--dump-dom", url], capture_output=True, text=True, timeout=120)
    assert dom.returncode == 0, dom.stderr[-2000:]
    assert "<title>Pairwise evaluation</title>" in dom.stdout and "pwned" not in dom.stdout.split("<body>")[0]
    assert '<img src="x"' not in dom.stdout and "<svg onload" not in dom.stdout
    shot = tmp_path / "report.png"
    result = subprocess.run(
        [CHROMIUM, *flags, f"--screenshot={shot}", "--window-size=1200,2000", url],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0 and shot.is_file(), result.stderr[-2000:]
    from PIL import Image

    with Image.open(shot) as image:
        assert image.size == (1200, 2000)
        colours = image.convert("RGB").resize((120, 200)).getcolors(maxcolors=1 << 16) or []
    assert len(colours) > 20  # plots and text drew something, not a blank page
