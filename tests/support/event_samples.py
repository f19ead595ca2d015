"""BPMN documents for the event elements of the README's support table (tests/test_engine_events.py)."""
from __future__ import annotations

from pathlib import Path

from tests.support.bpmn_samples import HEAD

PROBES = Path(__file__).resolve().parents[1] / "probes"


def _defs(body: str, messages: str = "") -> str:
    return f"{HEAD}{messages}{body}\n</bpmn:definitions>\n"


def _message(mid: str, name: str, prop: str | None = "order_ref") -> str:
    """A message whose receiver is told apart by ``prop`` (read from the payload's field of that name)."""
    text = f'<bpmn:message id="{mid}" name="{name}"/>\n'
    if prop:
        text += (f'<bpmn:correlationProperty id="{prop}" name="{prop}">'
                 f'<bpmn:correlationPropertyRetrievalExpression messageRef="{mid}">'
                 f'<bpmn:messagePath>{prop}</bpmn:messagePath></bpmn:correlationPropertyRetrievalExpression>'
                 f'</bpmn:correlationProperty>\n')
    return text


def _flow(fid: str, source: str, target: str) -> str:
    return f'<bpmn:sequenceFlow id="{fid}" sourceRef="{source}" targetRef="{target}"/>'


def _script(tid: str, script: str, incoming: str, outgoing: str) -> str:
    return (f'<bpmn:scriptTask id="{tid}"><bpmn:incoming>{incoming}</bpmn:incoming>'
            f'<bpmn:outgoing>{outgoing}</bpmn:outgoing><bpmn:script>{script}</bpmn:script></bpmn:scriptTask>')


def _user(tid: str, incoming: str, outgoing: str, form: str | None = None) -> str:
    ext = (f'<bpmn:extensionElements><spiffworkflow:properties><spiffworkflow:property '
           f'name="formJsonSchemaFilename" value="{form}"/></spiffworkflow:properties></bpmn:extensionElements>'
           if form else "")
    return (f'<bpmn:userTask id="{tid}" name="{tid}">{ext}<bpmn:incoming>{incoming}</bpmn:incoming>'
            f'<bpmn:outgoing>{outgoing}</bpmn:outgoing></bpmn:userTask>')


# the forms the samples' user tasks name (deployed with them)
FORMS = {
    "decide.json": {"type": "object", "properties": {
        "outcome": {"type": "string", "enum": ["ok", "fail", "escalate"]}, "approved": {"type": "boolean"}}},
}


# start -> split -> (event-based gateway: message 'approval' | timer PT1H | signal 'stop') -> path=...
#                -> user task 'stopper' -> signal 'stop' thrown -> end
EVENT_GATEWAY = _defs(f'''
<bpmn:signal id="stop_sig" name="stop"/>
<bpmn:process id="gatewayed" isExecutable="true">
  <bpmn:startEvent id="start"><bpmn:outgoing>f0</bpmn:outgoing></bpmn:startEvent>
  <bpmn:parallelGateway id="split"><bpmn:incoming>f0</bpmn:incoming><bpmn:outgoing>f1</bpmn:outgoing>
    <bpmn:outgoing>s1</bpmn:outgoing></bpmn:parallelGateway>
  {_user("stopper", "s1", "s2")}
  <bpmn:intermediateThrowEvent id="throw_stop"><bpmn:incoming>s2</bpmn:incoming><bpmn:outgoing>s3</bpmn:outgoing>
    <bpmn:signalEventDefinition signalRef="stop_sig"/></bpmn:intermediateThrowEvent>
  <bpmn:endEvent id="end_s"><bpmn:incoming>s3</bpmn:incoming></bpmn:endEvent>
  <bpmn:eventBasedGateway id="which"><bpmn:incoming>f1</bpmn:incoming><bpmn:outgoing>m1</bpmn:outgoing>
    <bpmn:outgoing>t1</bpmn:outgoing><bpmn:outgoing>g1</bpmn:outgoing></bpmn:eventBasedGateway>
  <bpmn:intermediateCatchEvent id="got_approval"><bpmn:incoming>m1</bpmn:incoming><bpmn:outgoing>m2</bpmn:outgoing>
    <bpmn:messageEventDefinition messageRef="approval_msg"/></bpmn:intermediateCatchEvent>
  <bpmn:intermediateCatchEvent id="an_hour"><bpmn:incoming>t1</bpmn:incoming><bpmn:outgoing>t2</bpmn:outgoing>
    <bpmn:timerEventDefinition><bpmn:timeDuration>PT1H</bpmn:timeDuration></bpmn:timerEventDefinition>
  </bpmn:intermediateCatchEvent>
  <bpmn:intermediateCatchEvent id="got_stop"><bpmn:incoming>g1</bpmn:incoming><bpmn:outgoing>g2</bpmn:outgoing>
    <bpmn:signalEventDefinition signalRef="stop_sig"/></bpmn:intermediateCatchEvent>
  {_script("by_message", 'path = "message"', "m2", "m3")}
  {_script("by_timer", 'path = "timer"', "t2", "t3")}
  {_script("by_signal", 'path = "signal"', "g2", "g3")}
  <bpmn:endEvent id="end_m"><bpmn:incoming>m3</bpmn:incoming></bpmn:endEvent>
  <bpmn:endEvent id="end_t"><bpmn:incoming>t3</bpmn:incoming></bpmn:endEvent>
  <bpmn:endEvent id="end_g"><bpmn:incoming>g3</bpmn:incoming></bpmn:endEvent>
  {_flow("f0", "start", "split")}{_flow("f1", "split", "which")}{_flow("s1", "split", "stopper")}
  {_flow("s2", "stopper", "throw_stop")}{_flow("s3", "throw_stop", "end_s")}
  {_flow("m1", "which", "got_approval")}{_flow("t1", "which", "an_hour")}{_flow("g1", "which", "got_stop")}
  {_flow("m2", "got_approval", "by_message")}{_flow("t2", "an_hour", "by_timer")}{_flow("g2", "got_stop", "by_signal")}
  {_flow("m3", "by_message", "end_m")}{_flow("t3", "by_timer", "end_t")}{_flow("g3", "by_signal", "end_g")}
</bpmn:process>''', _message("approval_msg", "approval"))


def _event_sub(sid: str, start: str, script: str, interrupting: bool = True) -> str:
    flag = "" if interrupting else ' isInterrupting="false"'
    return f'''
  <bpmn:subProcess id="{sid}" triggeredByEvent="true">
    <bpmn:startEvent id="{sid}_start"{flag}><bpmn:outgoing>{sid}_f1</bpmn:outgoing>{start}</bpmn:startEvent>
    {_script(sid + "_do", script, sid + "_f1", sid + "_f2")}
    <bpmn:endEvent id="{sid}_end"><bpmn:incoming>{sid}_f2</bpmn:incoming></bpmn:endEvent>
    {_flow(sid + "_f1", sid + "_start", sid + "_do")}{_flow(sid + "_f2", sid + "_do", sid + "_end")}
  </bpmn:subProcess>'''


# start -> user task 'work' -> end; event sub-processes: message 'cancel_order' (interrupting),
# timer PT2H (not interrupting)
def event_subprocesses(timer: bool = True) -> str:
    late = _event_sub("on_late", '<bpmn:timerEventDefinition><bpmn:timeDuration>PT2H</bpmn:timeDuration>'
                      '</bpmn:timerEventDefinition>', "reminded = True", interrupting=False) if timer else ""
    return _defs(f'''
<bpmn:process id="watched" isExecutable="true">
  <bpmn:startEvent id="start"><bpmn:outgoing>f1</bpmn:outgoing></bpmn:startEvent>
  {_user("work", "f1", "f2")}
  <bpmn:endEvent id="end"><bpmn:incoming>f2</bpmn:incoming></bpmn:endEvent>
  {_flow("f1", "start", "work")}{_flow("f2", "work", "end")}
  {_event_sub("on_cancel", '<bpmn:messageEventDefinition messageRef="cancel_msg"/>', "cancelled = True")}
  {late}
</bpmn:process>''', _message("cancel_msg", "cancel_order"))


EVENT_SUBPROCESSES = event_subprocesses()


# start -> user task 'work' -> gateway: fail -> error end 'broken' | escalate -> escalation end | else end;
# event sub-processes catch the error and the escalation
ERROR_SUBPROCESSES = _defs('''
<bpmn:error id="broken_err" name="broken" errorCode="broken"/>
<bpmn:escalation id="late_esc" name="late" escalationCode="late"/>
<bpmn:process id="erring" isExecutable="true">
  <bpmn:startEvent id="start"><bpmn:outgoing>f1</bpmn:outgoing></bpmn:startEvent>
  <bpmn:subProcess id="inner"><bpmn:incoming>f1</bpmn:incoming><bpmn:outgoing>f2</bpmn:outgoing>
    <bpmn:startEvent id="i_start"><bpmn:outgoing>i1</bpmn:outgoing></bpmn:startEvent>
    ''' + _user("work", "i1", "i2", "decide.json") + '''
    <bpmn:exclusiveGateway id="how" default="i_ok"><bpmn:incoming>i2</bpmn:incoming><bpmn:outgoing>i_fail</bpmn:outgoing>
      <bpmn:outgoing>i_esc</bpmn:outgoing><bpmn:outgoing>i_ok</bpmn:outgoing></bpmn:exclusiveGateway>
    <bpmn:endEvent id="fail_end"><bpmn:incoming>i_fail</bpmn:incoming><bpmn:errorEventDefinition errorRef="broken_err"/></bpmn:endEvent>
    <bpmn:endEvent id="esc_end"><bpmn:incoming>i_esc</bpmn:incoming>
      <bpmn:escalationEventDefinition escalationRef="late_esc"/></bpmn:endEvent>
    <bpmn:endEvent id="i_end"><bpmn:incoming>i_ok</bpmn:incoming></bpmn:endEvent>
    <bpmn:sequenceFlow id="i1" sourceRef="i_start" targetRef="work"/>
    <bpmn:sequenceFlow id="i2" sourceRef="work" targetRef="how"/>
    <bpmn:sequenceFlow id="i_fail" sourceRef="how" targetRef="fail_end"><bpmn:conditionExpression>outcome == "fail"</bpmn:conditionExpression></bpmn:sequenceFlow>
    <bpmn:sequenceFlow id="i_esc" sourceRef="how" targetRef="esc_end"><bpmn:conditionExpression>outcome == "escalate"</bpmn:conditionExpression></bpmn:sequenceFlow>
    <bpmn:sequenceFlow id="i_ok" sourceRef="how" targetRef="i_end"/>
  </bpmn:subProcess>
  <bpmn:endEvent id="end"><bpmn:incoming>f2</bpmn:incoming></bpmn:endEvent>
  <bpmn:sequenceFlow id="f1" sourceRef="start" targetRef="inner"/>
  <bpmn:sequenceFlow id="f2" sourceRef="inner" targetRef="end"/>
  EVENT_SUBS
</bpmn:process>'''.replace("EVENT_SUBS", _event_sub("on_error", '<bpmn:errorEventDefinition errorRef="broken_err"/>',
                                                    "handled = True")
                           + _event_sub("on_escalation", '<bpmn:escalationEventDefinition escalationRef="late_esc"/>',
                                        "escalated = True", interrupting=False)))


# start -> split -> (conditional catch 'approved == True' -> fired = True -> end) | (user task 'approve' -> end)
CONDITIONAL = _defs(f'''
<bpmn:process id="conditioned" isExecutable="true">
  <bpmn:startEvent id="start"><bpmn:outgoing>f0</bpmn:outgoing></bpmn:startEvent>
  <bpmn:parallelGateway id="split"><bpmn:incoming>f0</bpmn:incoming><bpmn:outgoing>f1</bpmn:outgoing>
    <bpmn:outgoing>a1</bpmn:outgoing></bpmn:parallelGateway>
  <bpmn:intermediateCatchEvent id="when_approved"><bpmn:incoming>f1</bpmn:incoming><bpmn:outgoing>f2</bpmn:outgoing>
    <bpmn:conditionalEventDefinition><bpmn:condition xsi:type="bpmn:tFormalExpression">approved == True</bpmn:condition>
    </bpmn:conditionalEventDefinition></bpmn:intermediateCatchEvent>
  {_script("mark", "fired = True", "f2", "f3")}
  <bpmn:endEvent id="end"><bpmn:incoming>f3</bpmn:incoming></bpmn:endEvent>
  {_user("approve", "a1", "a2", "decide.json")}
  <bpmn:endEvent id="end_a"><bpmn:incoming>a2</bpmn:incoming></bpmn:endEvent>
  {_flow("f0", "start", "split")}{_flow("f1", "split", "when_approved")}{_flow("f2", "when_approved", "mark")}
  {_flow("f3", "mark", "end")}{_flow("a1", "split", "approve")}{_flow("a2", "approve", "end_a")}
</bpmn:process>''')


# a process started by its message: message start event with a start form
MESSAGE_START_FORM = _defs('''
<bpmn:process id="lead" isExecutable="true">
  <bpmn:startEvent id="start"><bpmn:extensionElements><spiffworkflow:properties>
    <spiffworkflow:property name="formJsonSchemaFilename" value="lead_form.json"/></spiffworkflow:properties>
    </bpmn:extensionElements><bpmn:outgoing>f1</bpmn:outgoing>
    <bpmn:messageEventDefinition messageRef="lead_msg"/></bpmn:startEvent>
  <bpmn:userTask id="call_back" name="call_back"><bpmn:incoming>f1</bpmn:incoming><bpmn:outgoing>f2</bpmn:outgoing></bpmn:userTask>
  <bpmn:endEvent id="end"><bpmn:incoming>f2</bpmn:incoming></bpmn:endEvent>
  <bpmn:sequenceFlow id="f1" sourceRef="start" targetRef="call_back"/>
  <bpmn:sequenceFlow id="f2" sourceRef="call_back" targetRef="end"/>
</bpmn:process>''', _message("lead_msg", "new_lead", "lead_ref"))

LEAD_FORM = {"type": "object", "required": ["lead_ref", "company"],
             "properties": {"lead_ref": {"type": "string"}, "company": {"type": "string"}}}


# Camunda multi-instance over a collection: one script run per item
CAMUNDA_COLLECTION = _defs('''
<bpmn:process id="collecting" isExecutable="true">
  <bpmn:startEvent id="start"><bpmn:outgoing>f1</bpmn:outgoing></bpmn:startEvent>
  <bpmn:scriptTask id="each"><bpmn:incoming>f1</bpmn:incoming><bpmn:outgoing>f2</bpmn:outgoing>
    <bpmn:multiInstanceLoopCharacteristics isSequential="true" camunda:collection="items" camunda:elementVariable="item"/>
    <bpmn:script>seen = item</bpmn:script></bpmn:scriptTask>
  <bpmn:endEvent id="end"><bpmn:incoming>f2</bpmn:incoming></bpmn:endEvent>
  <bpmn:sequenceFlow id="f1" sourceRef="start" targetRef="each"/>
  <bpmn:sequenceFlow id="f2" sourceRef="each" targetRef="end"/>
</bpmn:process>''').replace('id="defs"', 'xmlns:camunda="http://camunda.org/schema/1.0/bpmn" id="defs"')


def conditional_subprocess(interrupting: bool = True) -> str:
    """start -> user task 'approve' (decide form) -> end; an event sub-process starts when approved == True."""
    start = ('<bpmn:conditionalEventDefinition><bpmn:condition xsi:type="bpmn:tFormalExpression">approved == True'
             '</bpmn:condition></bpmn:conditionalEventDefinition>')
    return _defs(f'''
<bpmn:process id="cond_sub" isExecutable="true">
  <bpmn:startEvent id="start"><bpmn:outgoing>f1</bpmn:outgoing></bpmn:startEvent>
  {_user("approve", "f1", "f2", "decide.json")}
  {_user("ship", "f2", "f3")}
  <bpmn:endEvent id="end"><bpmn:incoming>f3</bpmn:incoming></bpmn:endEvent>
  {_flow("f1", "start", "approve")}{_flow("f2", "approve", "ship")}{_flow("f3", "ship", "end")}
  {_event_sub("on_approved", start, "noticed = True", interrupting)}
</bpmn:process>''')


# start -> user task 'approve' with an interrupting conditional boundary event 'approved == True'
CONDITIONAL_BOUNDARY = _defs(f'''
<bpmn:process id="cond_boundary" isExecutable="true">
  <bpmn:startEvent id="start"><bpmn:outgoing>f0</bpmn:outgoing></bpmn:startEvent>
  <bpmn:parallelGateway id="split"><bpmn:incoming>f0</bpmn:incoming><bpmn:outgoing>f1</bpmn:outgoing>
    <bpmn:outgoing>a1</bpmn:outgoing></bpmn:parallelGateway>
  {_user("wait_here", "f1", "f2")}
  <bpmn:boundaryEvent id="approved_meanwhile" attachedToRef="wait_here"><bpmn:outgoing>b1</bpmn:outgoing>
    <bpmn:conditionalEventDefinition><bpmn:condition xsi:type="bpmn:tFormalExpression">approved == True</bpmn:condition>
    </bpmn:conditionalEventDefinition></bpmn:boundaryEvent>
  {_script("skip", "skipped = True", "b1", "b2")}
  <bpmn:endEvent id="end_b"><bpmn:incoming>b2</bpmn:incoming></bpmn:endEvent>
  <bpmn:endEvent id="end"><bpmn:incoming>f2</bpmn:incoming></bpmn:endEvent>
  {_user("approve", "a1", "a2", "decide.json")}
  <bpmn:endEvent id="end_a"><bpmn:incoming>a2</bpmn:incoming></bpmn:endEvent>
  {_flow("f0", "start", "split")}{_flow("f1", "split", "wait_here")}{_flow("f2", "wait_here", "end")}
  {_flow("b1", "approved_meanwhile", "skip")}{_flow("b2", "skip", "end_b")}
  {_flow("a1", "split", "approve")}{_flow("a2", "approve", "end_a")}
</bpmn:process>''')
