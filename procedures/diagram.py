"""The dossier state machine as a Mermaid diagram, generated from the model's django-fsm transitions."""

from __future__ import annotations

from django.utils import translation
from django_fsm import RETURN_VALUE

from procedures.models import Dossier


def _targets(transition) -> list[str]:
    target = transition.target
    if isinstance(target, RETURN_VALUE):
        return [str(s) for s in target.allowed_states]
    return [str(target)]


def lifecycle_mermaid() -> str:
    """Return docs/lifecycle.md: the states with their national status and every transition."""
    from procedures.lifecycle import ACTIONS

    by_method: dict[str, list] = {}
    for action in ACTIONS.values():
        if action.method:
            by_method.setdefault(action.method, []).append(action)
    edges: dict[tuple[str, str], set[str]] = {}
    for transition in Dossier._meta.get_field("state").get_all_transitions(Dossier):
        actions = by_method.get(transition.name, [])
        sources = [transition.source] if transition.source != "*" else [s.value for s in Dossier.State]
        for source in sources:
            names = {a.name for a in actions if not a.only_from or source in a.only_from} or {transition.name}
            for target in _targets(transition):
                edges.setdefault((str(source), target), set()).update(names)
    with translation.override("en"):
        lines = [
            "# Dossier lifecycle",
            "",
            "Generated from `procedures/models.py` (django-fsm transitions) and `procedures/lifecycle.py`",
            "(action names) by `python manage.py lifecycle_diagram`; a test fails when this file is stale.",
            "The apology and new appointment (`extend`) changes the due date, not the state.",
            "",
            "| State | Label | National status |",
            "|---|---|---|",
        ]
        for state in Dossier.State:
            national = Dossier.NATIONAL_STATUS.get(state, "1, 2 or 4 (where the supplement was asked)")
            lines.append(f"| `{state.value}` | {state.label} | {national} |")
        lines += ["", "```mermaid", "stateDiagram-v2", "    [*] --> submitted", "    [*] --> fee_due"]
        for (source, target), names in sorted(edges.items()):
            lines.append(f"    {source} --> {target}: {', '.join(sorted(names))}")
        for state in sorted(Dossier.FINAL_STATES):
            lines.append(f"    {state} --> [*]")
        lines += ["```", ""]
    return "\n".join(lines)
