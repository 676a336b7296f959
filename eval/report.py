"""`report.html`: one self-contained page per output folder, plots inline, every untrusted string escaped.

Plots are drawn with matplotlib (extra `[eval]`) and embedded as base64 SVG images (`<img src="data:...">`,
so nothing in a plot can run); without matplotlib the page still has its tables. Text that came from
prompts, responses, judges or file names goes through `html.escape`; the data embedded for reuse is JSON
with `<`, `>` and `&` written as `\\u003c` ..., so no string can close the `<script>` element that holds it.
The page loads nothing from the network.

Example:
    >>> page = render_page("demo", [section("Verdict", paragraph("<script>alert(1)</script>"))], {"x": "</script>"})
    >>> "<script>alert" in page, "&lt;script&gt;alert(1)" in page, "<\\/script>" in page or "\\\\u003c/script" in page
    (False, True, True)
"""

from __future__ import annotations

import base64
import html
import io
import json
import logging
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from writer_r1.eval.io import write_atomic

if TYPE_CHECKING:
    from writer_r1.constraints.ifeval.evaluation import IFEvalResult
    from writer_r1.eval.ifeval import IFEvalSummary

logger = logging.getLogger(__name__)

_STYLE = """
body{font-family:system-ui,-apple-system,Segoe UI,Roboto,sans-serif;margin:2rem auto;max-width:1100px;color:#222;
padding:0 1rem}
h1{font-size:1.6rem;margin-bottom:.2rem}h2{font-size:1.2rem;border-bottom:1px solid #ddd;padding-bottom:.2rem;
margin-top:2rem}
.cards{display:flex;gap:1rem;flex-wrap:wrap}.card{border:1px solid #ddd;border-radius:8px;padding:.7rem 1rem;
min-width:9rem}.card .v{font-size:1.5rem;font-weight:600}.card .k{color:#666;font-size:.85rem}
table{border-collapse:collapse;width:100%;font-size:.85rem}td,th{border-bottom:1px solid #eee;padding:.3rem .4rem;
text-align:left;vertical-align:top}th{background:#fafafa}
td.t{max-width:28rem;white-space:pre-wrap;word-break:break-word}
.plots{display:flex;flex-wrap:wrap;gap:1rem}.plots img{max-width:100%;border:1px solid #eee;border-radius:6px}
.muted{color:#777;font-size:.85rem}.bad{color:#b00}details summary{cursor:pointer}
"""


def esc(value: object) -> str:
    """HTML-escape any value shown on the page (quotes too, so it is safe in attributes)."""
    return html.escape(str(value), quote=True)


def safe_json(value: Any) -> str:
    """JSON for inside a `<script>` element: `<`, `>`, `&` and line separators escaped."""
    text = json.dumps(value, ensure_ascii=False, default=str)
    for raw, escaped in (
        ("<", "\\u003c"),
        (">", "\\u003e"),
        ("&", "\\u0026"),
        ("\u2028", "\\u2028"),
        ("\u2029", "\\u2029"),
    ):
        text = text.replace(raw, escaped)
    return text


def paragraph(text: str, css: str = "") -> str:
    return f'<p class="{esc(css)}">{esc(text)}</p>'


def section(title: str, *parts: str) -> str:
    return f"<h2>{esc(title)}</h2>\n" + "\n".join(parts)


def cards(items: Sequence[tuple[str, str]]) -> str:
    body = "".join(
        f'<div class="card"><div class="v">{esc(v)}</div><div class="k">{esc(k)}</div></div>' for k, v in items
    )
    return f'<div class="cards">{body}</div>'


def table(headers: Sequence[str], rows: Sequence[Sequence[object]], text_columns: Sequence[int] = ()) -> str:
    """An HTML table; every cell escaped; `text_columns` get the long-text style."""
    head = "".join(f"<th>{esc(h)}</th>" for h in headers)
    body = []
    for row in rows:
        cells = "".join(
            f'<td class="t">{esc(cell)}</td>' if index in text_columns else f"<td>{esc(cell)}</td>"
            for index, cell in enumerate(row)
        )
        body.append(f"<tr>{cells}</tr>")
    return f"<table><thead><tr>{head}</tr></thead><tbody>{''.join(body)}</tbody></table>"


def render_page(title: str, sections: Sequence[str], data: Any = None) -> str:
    """The whole page: a title, the sections (already escaped HTML), and `data` as embedded JSON."""
    embedded = (
        f'<script type="application/json" id="report-data">{safe_json(data)}</script>' if data is not None else ""
    )
    return (
        '<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
        '<meta http-equiv="Content-Security-Policy" content="default-src \'none\'; img-src data:; '
        "style-src 'unsafe-inline'\">"
        f"<title>{esc(title)}</title><style>{_STYLE}</style></head><body>"
        f"<h1>{esc(title)}</h1>" + "\n".join(sections) + embedded + "</body></html>\n"
    )


def write_report(directory: Path, title: str, sections: Sequence[str], data: Any = None) -> Path:
    path = Path(directory) / "report.html"
    write_atomic(path, render_page(title, sections, data))
    return path


# --- plots ---------------------------------------------------------------------------------------


def _pyplot() -> Any:
    try:
        import matplotlib

        matplotlib.use("Agg", force=True)
        import matplotlib.pyplot as plt
    except ImportError:
        return None
    return plt


def figure_html(fig: Any, alt: str) -> str:
    """A matplotlib figure as an inline base64 SVG image (closed afterwards)."""
    plt = _pyplot()
    buffer = io.BytesIO()
    fig.savefig(buffer, format="svg", bbox_inches="tight")
    plt.close(fig)
    encoded = base64.b64encode(buffer.getvalue()).decode("ascii")
    return f'<img alt="{esc(alt)}" src="data:image/svg+xml;base64,{encoded}">'


def plots(*images: str) -> str:
    shown = [image for image in images if image]
    return (
        f'<div class="plots">{"".join(shown)}</div>'
        if shown
        else paragraph("(plots need matplotlib: pip install 'writer-r1[eval]')", "muted")
    )


def _short(text: str, limit: int = 40) -> str:
    text = " ".join(str(text).split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


def hbar_plot(
    labels: Sequence[str],
    values: Sequence[float],
    *,
    title: str,
    xlabel: str,
    errors: Sequence[tuple[float, float]] | None = None,
    reference: float | None = None,
    xlim: tuple[float, float] | None = (0.0, 1.0),
    colors: Sequence[str] | None = None,
) -> str:
    """Horizontal bars (one per label), optional asymmetric error bars and a reference line."""
    plt = _pyplot()
    if plt is None or not labels:
        return ""
    height = max(2.0, 0.28 * len(labels) + 1.0)
    fig, ax = plt.subplots(figsize=(7.0, height))
    positions = list(range(len(labels)))[::-1]
    xerr = None
    if errors is not None:
        xerr = [
            [max(0.0, v - lo) for v, (lo, _) in zip(values, errors, strict=True)],
            [max(0.0, hi - v) for v, (_, hi) in zip(values, errors, strict=True)],
        ]
    ax.barh(positions, values, xerr=xerr, color=list(colors) if colors else "#4c72b0", capsize=3)
    ax.set_yticks(positions)
    ax.set_yticklabels([_short(label, 48) for label in labels], fontsize=8)
    if reference is not None:
        ax.axvline(reference, color="#999", linestyle="--", linewidth=1)
    if xlim is not None:
        ax.set_xlim(*xlim)
    ax.set_xlabel(xlabel)
    ax.set_title(title)
    return figure_html(fig, title)


def histogram_plot(series: dict[str, Sequence[float]], *, title: str, xlabel: str, bins: int = 20) -> str:
    plt = _pyplot()
    if plt is None or not any(series.values()):
        return ""
    fig, ax = plt.subplots(figsize=(5.5, 3.2))
    for name, values in series.items():
        if values:
            ax.hist(values, bins=bins, alpha=0.55, label=_short(name, 30))
    ax.set_xlabel(xlabel)
    ax.set_ylabel("count")
    ax.set_title(title)
    ax.legend(fontsize=8)
    return figure_html(fig, title)


def outcome_plot(
    wins: int,
    ties: int,
    losses: int,
    win_rate: float | None,
    ci: tuple[float | None, float | None],
    *,
    name_a: str,
    name_b: str,
) -> str:
    """Win rate with its interval, and the wins / ties / losses split, side by side."""
    plt = _pyplot()
    if plt is None:
        return ""
    fig, (left, right) = plt.subplots(1, 2, figsize=(9.0, 2.0), gridspec_kw={"width_ratios": [1, 1.4]})
    if win_rate is not None:
        low, high = ci
        err = [[win_rate - low], [high - win_rate]] if low is not None and high is not None else None
        left.errorbar([win_rate], [0], xerr=err, fmt="o", color="#c44e52", capsize=6, markersize=9)
    left.axvline(0.5, color="#999", linestyle="--", linewidth=1)
    left.set_xlim(0, 1)
    left.set_yticks([])
    left.set_title("win rate of A (95 % CI)")
    total = max(1, wins + ties + losses)
    start = 0.0
    for count, label, color in ((wins, "A wins", "#55a868"), (ties, "tie", "#bbbbbb"), (losses, "B wins", "#c44e52")):
        right.barh([0], [count / total], left=[start], color=color, label=f"{label} ({count})")
        start += count / total
    right.set_xlim(0, 1)
    right.set_yticks([])
    right.set_title(_short(f"{name_a} vs {name_b}", 60))
    right.legend(fontsize=8, loc="upper center", bbox_to_anchor=(0.5, -0.15), ncol=3)
    return figure_html(fig, "win rate and outcomes")


def scatter_plot(x: Sequence[float], y: Sequence[float], *, title: str, xlabel: str, ylabel: str) -> str:
    plt = _pyplot()
    if plt is None or not x:
        return ""
    fig, ax = plt.subplots(figsize=(4.5, 4.0))
    ax.scatter(x, y, alpha=0.35, s=18)
    ax.plot([0, 1], [0, 1], color="#999", linestyle="--", linewidth=1)
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    ax.set_title(title)
    return figure_html(fig, title)


# --- one report per command ------------------------------------------------------------------------


def ifeval_report(directory: Path, summary: IFEvalSummary, strict: Sequence[IFEvalResult]) -> Path:
    """report.html of `writer-r1 eval ifeval`: headline accuracies, per-instruction accuracy, failures."""
    keys = ("prompt_level_strict", "instruction_level_strict", "prompt_level_loose", "instruction_level_loose")
    headline = cards(
        [(key.replace("_", " "), f"{getattr(summary, key):.1%}") for key in keys]
        + [("prompts / failed", f"{summary.prompts} / {summary.failed}")]
    )
    per = summary.per_instruction
    labels = sorted(per, key=lambda k: per[k]["strict"])
    plot = hbar_plot(
        labels,
        [float(per[k]["strict"]) for k in labels],
        title="strict accuracy per instruction",
        xlabel="share followed",
    )
    rows = [(k, per[k]["n"], f"{per[k]['strict']:.2f}", f"{per[k]['loose']:.2f}") for k in sorted(per)]
    failing = [
        (
            r.prompt,
            ", ".join(i for i, ok in zip(r.instruction_id_list, r.follow_instruction_list, strict=True) if not ok),
            r.response,
        )
        for r in strict
        if not r.follow_all_instructions
    ][:200]
    sections = [
        paragraph(f"model: {summary.model}", "muted"),
        headline,
        section("Per instruction", plots(plot), table(["instruction", "n", "strict", "loose"], rows)),
        section(
            f"Prompts not followed (strict; first {len(failing)})",
            f"<details><summary>show</summary>{table(['prompt', 'failed', 'response'], failing, (0, 2))}</details>",
        ),
    ]
    if summary.failures:
        sections.append(
            section("Failed generations (not scored)", table(["key", "reason"], sorted(summary.failures.items()), (1,)))
        )
    return write_report(directory, "IFEval", sections, summary.model_dump(mode="json"))


def _side_colour(rate: float | None) -> str:
    if rate is None or rate == 0.5:
        return "#bbbbbb"
    return "#55a868" if rate > 0.5 else "#c44e52"


def _excerpt(text: str | None, limit: int = 600) -> str:
    if text is None:
        return "(none)"
    return text if len(text) <= limit else text[:limit] + f" … [{len(text) - limit} more characters]"


def pairwise_report(
    directory: Path,
    summary: Any,
    judgements: Sequence[Any],
    texts: dict[str, tuple[str | None, str | None]] | None = None,
) -> Path:
    """report.html of `writer-r1 eval pairwise`: win rate with its interval, outcomes, per-criterion wins,
    lengths and the win rate within length buckets, every verdict with its reasons."""

    def rate(value: float | None) -> str:
        return "–" if value is None else f"{value:.1%}"

    ci = f"{rate(summary.ci_low)} – {rate(summary.ci_high)}"
    head = cards(
        [
            ("win rate of A", rate(summary.win_rate)),
            ("95 % CI", ci),
            ("A wins / ties / B wins", f"{summary.wins} / {summary.ties} / {summary.losses}"),
            ("inconsistent (order flips)", str(summary.inconsistent)),
            ("unscored", str(summary.unscored)),
        ]
    )
    outcome = outcome_plot(
        summary.wins,
        summary.ties,
        summary.losses,
        summary.win_rate,
        (summary.ci_low, summary.ci_high),
        name_a=summary.a,
        name_b=summary.b,
    )
    sections = [paragraph(f"A: {summary.a}   B: {summary.b}   judge: {summary.judge}", "muted"), head, plots(outcome)]
    if summary.per_criterion:
        ids = sorted(summary.per_criterion, key=lambda c: summary.per_criterion[c]["win_rate"] or 0.0)
        entries = [summary.per_criterion[c] for c in ids]
        bars = hbar_plot(
            [e["name"] for e in entries],
            [e["win_rate"] or 0.0 for e in entries],
            errors=[(e["ci_low"] or 0.0, e["ci_high"] or 0.0) for e in entries],
            reference=0.5,
            title="win rate of A per criterion",
            xlabel="A's win rate (tie = half)",
            colors=[_side_colour(e["win_rate"]) for e in entries],
        )
        rows = [
            (
                e["name"],
                e["n"],
                e["wins"],
                e["ties"],
                e["losses"],
                e["inconsistent"],
                e["unscored"],
                rate(e["win_rate"]),
            )
            for e in entries
        ]
        sections.append(
            section(
                "Per criterion",
                plots(bars),
                table(["criterion", "n", "A wins", "ties", "B wins", "inconsistent", "unscored", "win rate"], rows),
            )
        )
    words_a = [j.words_a for j in judgements if j.words_a is not None]
    words_b = [j.words_b for j in judgements if j.words_b is not None]
    lengths = histogram_plot(
        {f"A: {summary.a}": words_a, f"B: {summary.b}": words_b}, title="response length", xlabel="words"
    )
    labels = [k for k, v in summary.length_buckets.items() if v["n"]]
    buckets = hbar_plot(
        labels,
        [summary.length_buckets[k]["win_rate"] or 0.0 for k in labels],
        reference=0.5,
        title="win rate of A by length ratio",
        xlabel="A's win rate",
    )
    bucket_rows = [(k, v["n"], rate(v["win_rate"])) for k, v in summary.length_buckets.items()]
    length_note = paragraph(
        f"mean words: A {summary.lengths['a']['mean_words'] or 0:.0f}, B {summary.lengths['b']['mean_words'] or 0:.0f}. "
        "Judges favour longer texts; a win that holds within each bucket is not a length effect.",
        "muted",
    )
    sections.append(
        section(
            "Length",
            length_note,
            plots(lengths, buckets),
            table(["A's length vs B's", "n", "win rate of A"], bucket_rows),
        )
    )
    verdict_rows = []
    for j in judgements:
        reasons = " | ".join(f"{v.get('order')}: {v.get('winner')} — {v.get('reason')}" for v in j.verdicts)
        for cid, outcome in (j.criteria or {}).items():
            reasons += f"\n{cid}: {outcome.outcome or 'unscored'} — {' / '.join(outcome.evidence)}"
        verdict = {"a": "A", "b": "B", "tie": "tie", None: "unscored"}[j.outcome]
        if j.inconsistent:
            verdict += " (flip)"
        text_a, text_b = (texts or {}).get(j.id, (None, None))
        verdict_rows.append(
            (j.id, j.prompt, verdict, reasons or (j.unscored_reason or ""), _excerpt(text_a), _excerpt(text_b))
        )
    headers = ["id", "prompt", "verdict", "reasons", "response A (excerpt)", "response B (excerpt)"]
    sections.append(
        section(
            "Verdicts",
            f"<details><summary>all {len(verdict_rows)} prompts</summary>"
            f"{table(headers, verdict_rows, (1, 3, 4, 5))}</details>",
        )
    )
    if summary.unscored_items:
        sections.append(
            section(
                "Unscored (excluded from the win rate)",
                table(["id", "reason"], [(u["id"], u["reason"]) for u in summary.unscored_items], (1,)),
            )
        )
    data = {"summary": summary.model_dump(mode="json"), "judgements": [j.model_dump(mode="json") for j in judgements]}
    return write_report(directory, "Pairwise evaluation", sections, data)


def scores_report(directory: Path, summary: Any, rows: Sequence[Any]) -> Path:
    """report.html of `writer-r1 eval scores`: overall, per-dimension and per-criterion means with intervals,
    the score distribution, unscored counts, every prompt's scores."""

    def num(value: float | None) -> str:
        return "–" if value is None else f"{value:.3f}"

    o = summary.overall
    head = cards(
        [
            ("overall mean", num(o["mean"])),
            ("95 % CI", f"{num(o['ci_low'])} – {num(o['ci_high'])}"),
            ("prompts scored", f"{summary.n} / {summary.prompts}"),
            ("unscored criteria", str(summary.unscored_criteria)),
            ("failed generations", str(summary.failed_generations)),
        ]
    )
    distribution = histogram_plot(
        {"overall": [r.overall for r in rows if r.overall is not None]},
        title="overall score per prompt",
        xlabel="score",
        bins=10,
    )
    dims = list(summary.per_dimension)
    dim_plot = hbar_plot(
        dims,
        [summary.per_dimension[d]["mean"] or 0.0 for d in dims],
        errors=[(summary.per_dimension[d]["ci_low"] or 0.0, summary.per_dimension[d]["ci_high"] or 0.0) for d in dims],
        title="mean per dimension",
        xlabel="score",
    )
    per = summary.per_criterion
    shown = sorted(per, key=lambda c: (-per[c]["n"], c))[:40]
    shown.sort(key=lambda c: per[c]["mean"] if per[c]["mean"] is not None else -1.0)
    crit_plot = hbar_plot(
        [per[c]["name"] for c in shown],
        [per[c]["mean"] or 0.0 for c in shown],
        errors=[(per[c]["ci_low"] or 0.0, per[c]["ci_high"] or 0.0) for c in shown],
        title="mean per criterion (up to 40, most judged first)",
        xlabel="score",
    )
    crit_rows = [
        (
            c,
            per[c]["name"],
            per[c]["dimension"],
            per[c]["n"],
            num(per[c]["mean"]),
            f"{num(per[c]['ci_low'])} – {num(per[c]['ci_high'])}",
            per[c]["unscored"],
        )
        for c in sorted(per)
    ]
    dim_rows = [
        (d, v["n"], num(v["mean"]), f"{num(v['ci_low'])} – {num(v['ci_high'])}")
        for d, v in summary.per_dimension.items()
    ]
    prompt_rows = [
        (
            r.id,
            r.prompt,
            num(r.overall),
            len(r.scores),
            len(r.unscored),
            r.failed or "; ".join(f"{k}: {v}" for k, v in r.unscored.items()),
        )
        for r in rows
    ]
    sections = [
        paragraph(f"system: {summary.system}   judge: {summary.judge}", "muted"),
        head,
        plots(distribution, dim_plot),
        section("Per dimension", table(["dimension", "n", "mean", "95 % CI"], dim_rows)),
        section(
            "Per criterion",
            plots(crit_plot),
            table(["id", "criterion", "dimension", "n", "mean", "95 % CI", "unscored"], crit_rows),
        ),
        section(
            "Prompts",
            "<details><summary>show</summary>"
            + table(["id", "prompt", "overall", "scored", "unscored", "problems"], prompt_rows, (1, 5))
            + "</details>",
        ),
    ]
    data = {"summary": summary.model_dump(mode="json"), "prompts": [r.model_dump(mode="json") for r in rows]}
    return write_report(directory, "Criteria scores", sections, data)


def agreement_report(directory: Path, summary: Any, pairs: Sequence[Any]) -> Path:
    """report.html of `writer-r1 eval agreement`: agreement and correlations per model, the two rankings."""

    def num(value: float | None, fmt: str = "{:.3f}") -> str:
        return "–" if value is None else fmt.format(value)

    o = summary.overall
    same = {True: "yes", False: "no", None: "–"}[summary.same_ranking]
    head = cards(
        [
            ("exact agreement", num(o["exact"], "{:.1%}")),
            ("within one step", num(o["within_one_step"], "{:.1%}")),
            ("Pearson", num(o["pearson"])),
            ("Spearman", num(o["spearman"])),
            ("same model ranking", same),
            ("unscored items", str(summary.unscored_items)),
        ]
    )
    scored = [p for p in pairs if p.ours is not None]
    scatter = scatter_plot(
        [p.theirs for p in scored],
        [p.ours for p in scored],
        title="item scores",
        xlabel="HelloBench GPT-4o",
        ylabel=f"our judge ({_short(summary.judge, 30)})",
    )
    models = list(summary.per_model)
    corr = hbar_plot(
        models,
        [summary.per_model[m]["pearson"] or 0.0 for m in models],
        xlim=(-1.0, 1.0),
        title="Pearson per model",
        xlabel="r",
        reference=0.0,
    )
    rows = [
        (
            m,
            v["items"],
            v["unscored"],
            num(v["exact"], "{:.1%}"),
            num(v["within_one_step"], "{:.1%}"),
            num(v["mean_abs_diff"]),
            num(v["pearson"]),
            num(v["spearman"]),
            num(v["mean_ours"]),
            num(v["mean_theirs"]),
        )
        for m, v in summary.per_model.items()
    ]
    sections = [
        paragraph(f"judge: {summary.judge}", "muted"),
        head,
        plots(scatter, corr),
        section(
            "Per model",
            table(
                [
                    "model",
                    "items",
                    "unscored",
                    "exact",
                    "within 0.25",
                    "mean |diff|",
                    "Pearson",
                    "Spearman",
                    "mean (ours)",
                    "mean (HelloBench)",
                ],
                rows,
            ),
        ),
        section(
            "Model ranking",
            table(
                ["rank", "our judge", "HelloBench GPT-4o"],
                [
                    (i + 1, a, b)
                    for i, (a, b) in enumerate(zip(summary.ranking_ours, summary.ranking_theirs, strict=True))
                ],
            ),
            paragraph(f"Spearman of the model means: {num(summary.system_spearman)}", "muted"),
        ),
    ]
    return write_report(directory, "Judge agreement with HelloBench", sections, summary.model_dump(mode="json"))
