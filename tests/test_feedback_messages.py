"""Every refusal of the feedback app reaches the user through gettext, like every other message."""

import ast
import inspect

import pytest

from feedback import services
from feedback.models import Survey


def is_gettext_call(node: ast.expr) -> bool:
    return isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id == "_"


def translated(node: ast.expr) -> bool:
    """`_("…")`, or `_("… %(x)s …") % {...}`: the text is looked up in the catalogue before filling in."""
    if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Mod):
        return is_gettext_call(node.left)
    return is_gettext_call(node)


RAISES = [
    node.exc
    for node in ast.walk(ast.parse(inspect.getsource(services)))
    if isinstance(node, ast.Raise)
    and isinstance(node.exc, ast.Call)
    and isinstance(node.exc.func, ast.Name)
    and node.exc.func.id == "FeedbackError"
]


def test_the_feedback_services_refuse_with_messages():
    assert len(RAISES) >= 10


@pytest.mark.parametrize("call", RAISES, ids=[f"line {c.lineno}" for c in RAISES])
def test_each_message_goes_through_gettext(call):
    assert call.args and translated(call.args[0]), ast.unparse(call)


def test_a_refusal_reads_as_a_sentence(db, touchpoint):
    survey = Survey.objects.create(
        slug="delivery-nps", name="Delivery", kind="nps", touchpoint=touchpoint, active=False
    )
    with pytest.raises(services.FeedbackError, match="survey 'delivery-nps' is not active; activate it"):
        services.create_invitations(survey=survey, customers=[])
