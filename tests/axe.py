"""axe-core (npm, node_modules/axe-core) run inside a test's browser page: only tests load it, never the app.

The script is evaluated through the browser's debugging protocol, so the page's Content-Security-Policy
(no inline script) stays as strict as in production.
"""

from __future__ import annotations

from functools import cache
from pathlib import Path

AXE = Path(__file__).resolve().parent.parent / "node_modules" / "axe-core" / "axe.min.js"
BLOCKING = ("serious", "critical")

RUN = """async () => {
  const result = await axe.run(document, {resultTypes: ["violations"]});
  return result.violations.map(v => ({
    id: v.id, impact: v.impact,
    nodes: v.nodes.slice(0, 3).map(
      n => n.target.join(" ") + ": " + (n.failureSummary || "").split("\\n").slice(1, 2).join("")
    )
  }));
}"""


@cache
def axe_source() -> str:
    if not AXE.exists():
        raise AssertionError("axe-core is missing: run `make assets` (npm ci)")
    return AXE.read_text()


def serious_violations(page) -> list[str]:
    """The serious and critical findings of axe-core on the page as it is now, one line each."""
    if not page.evaluate("typeof window.axe !== 'undefined'"):
        page.evaluate(axe_source())
    return [
        f"{page.url} [{v['impact']}] {v['id']}: {'; '.join(v['nodes'])}"
        for v in page.evaluate(RUN)
        if v["impact"] in BLOCKING
    ]
