"""The run's summary: printed, and written as e2e.md and e2e.json into the results folder."""

from __future__ import annotations

import json
from dataclasses import asdict

from e2e.context import Context
from e2e.plan import POD_SECURITY_LABELS


def summarise(ctx: Context, failure: str) -> None:
    """e2e.json and e2e.md in the results folder; the summary on stdout."""
    outcome, plan = ctx.outcome, ctx.plan
    lines = [
        "## make e2e",
        "",
        f"Context `{ctx.context}`, namespace `{plan.namespace}`, "
        f"shape {ctx.options.shape}, {plan.workers} Locust worker(s).",
        *(
            f"**{t.name} ran a STAND-IN image, `{plan.images.ref(t)}`** "
            f"({t.standin.description}): its figures measure the stand-in."
            for t in plan.targets
            if t.runs_standin and t.standin
        ),
        "",
        "| step | status | seconds |",
        "|---|---|---|",
    ]
    lines += [f"| {s.number}. {s.title} | {s.status} | {s.seconds:.1f} |" for s in outcome.steps]
    verdict = "FAIL" if failure or outcome.problems else "PASS"
    if not ctx.shell.measures:
        verdict = "not evaluated (dry run)"
    lines += ["", f"**Gate: {verdict}**" + (f" ({failure})" if failure else "")]
    lines += [f"- {problem}" for problem in outcome.problems]
    if outcome.comparison is not None:
        lines += [f"- **Comparison: {outcome.comparison.verdict}**: {outcome.comparison.sentence}"]
    lines += [f"- {text}" for text in outcome.figures.values()]
    lines += [f"- HPA, {name}: {text}" for name, text in outcome.hpa.items()]
    lines += [f"- note: {note}" for note in outcome.notes]
    summary = ctx.out / "summary.md"
    if summary.exists():
        lines += ["", summary.read_text().rstrip()]
    text = "\n".join(lines) + "\n"
    print("\n" + text)
    if not ctx.shell.measures or not ctx.out.exists():
        return
    (ctx.out / "e2e.md").write_text(text)
    document = {
        "context": ctx.context,
        "namespace": plan.namespace,
        "images": {t.name: plan.images.ref(t) for t in plan.targets},
        "loader": plan.loader.name,
        "shape": ctx.options.shape,
        "workers": plan.workers,
        "verdict": verdict,
        "failure": failure,
        "problems": outcome.problems,
        "notes": outcome.notes,
        "server_dry_run": outcome.server_dry_run,
        "standin": [t.name for t in plan.targets if t.runs_standin],
        "max_replicas": dict(plan.max_replicas),
        "pod_security": list(POD_SECURITY_LABELS),
        "comparison": asdict(outcome.comparison) if outcome.comparison else None,
        "figures": outcome.figures,
        "hpa": outcome.hpa,
        "steps": [vars(s) for s in outcome.steps],
    }
    (ctx.out / "e2e.json").write_text(json.dumps(document, indent=2) + "\n")
    print(f"e2e: wrote {ctx.out}")
