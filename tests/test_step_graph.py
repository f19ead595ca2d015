"""Which people's steps come right before each step (the what-if preview sends a new step the
orders that reached them): through gateways and events, out of and into sub-processes, and from a
boundary event to the task it sits on."""
from __future__ import annotations

from orderflow.engine import START, steps_before
from orderflow.engine.specs import ProcessDef
from tests.support.bpmn_samples import process


def _flow(a: str, b: str) -> str:
    return f'<bpmn:sequenceFlow id="{a}_{b}" sourceRef="{a}" targetRef="{b}"/>'


DIAGRAM = process(
    '<bpmn:startEvent id="start"/><bpmn:userTask id="a"/><bpmn:exclusiveGateway id="split"/>'
    '<bpmn:userTask id="b"/><bpmn:scriptTask id="c"/><bpmn:exclusiveGateway id="join"/><bpmn:userTask id="d"/>'
    '<bpmn:boundaryEvent id="late" attachedToRef="a"><bpmn:timerEventDefinition/></bpmn:boundaryEvent>'
    '<bpmn:userTask id="e"/><bpmn:endEvent id="e_end"/>'
    '<bpmn:subProcess id="sub"><bpmn:startEvent id="sub_start"/><bpmn:userTask id="s1"/><bpmn:endEvent id="sub_end"/>'
    + _flow("sub_start", "s1") + _flow("s1", "sub_end") + '</bpmn:subProcess>'
    '<bpmn:userTask id="f"/><bpmn:endEvent id="end"/>'
    + "".join(_flow(x, y) for x, y in (("start", "a"), ("a", "split"), ("split", "b"), ("split", "c"), ("b", "join"),
                                      ("c", "join"), ("join", "d"), ("late", "e"), ("e", "e_end"), ("d", "sub"),
                                      ("sub", "f"), ("f", "end"), ("f", "a"))),
    pid="graph")


def test_each_step_knows_the_steps_right_before_it():
    pdef = ProcessDef("graph", "graph", "", {"graph.bpmn": DIAGRAM}, {}, {})
    assert steps_before(pdef) == {
        "a": {START, "f"},          # the start, and the loop back from f
        "b": {"a"},                 # through the gateway
        "d": {"b", "a"},            # a branch of script work only leads back to a
        "e": {"a"},                 # the boundary event's task
        "s1": {"d"},                # into the sub-process: what came before it
        "f": {"s1"},                # out of it: its last step
    }
