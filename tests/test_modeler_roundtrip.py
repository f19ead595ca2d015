"""The modeler is lossless: a diagram opened and saved without edits means the same as before.

Every BPMN file of ``tests/corpus/`` and ``processes/`` (and a few hand-made ones with extensions
nobody's descriptor knows) goes through one modeler page: imported into its bpmn-js instance and
exported the way *Save draft* and *Download* export (``window.orderflowDraft.xml()``). The two
documents are compared by their semantic part — every element, attribute and text outside
``bpmndi``, keyed by namespace URI and local name — so DI may be re-laid, whitespace, namespace
prefixes and attribute order may change, nothing else.
"""
from __future__ import annotations

from collections import Counter
from pathlib import Path

from lxml import etree
from SpiffWorkflow.spiff.parser.process import VALIDATOR

from tests.support.browser import login, open_modeler, skip_without_chromium

ROOT = Path(__file__).resolve().parent.parent
BPMN = "http://www.omg.org/spec/BPMN/20100524/MODEL"
DI_NAMESPACES = {"http://www.omg.org/spec/BPMN/20100524/DI", "http://www.omg.org/spec/DD/20100524/DC",
                 "http://www.omg.org/spec/DD/20100524/DI"}
XSI_TYPE = "{http://www.w3.org/2001/XMLSchema-instance}type"

# BPMN 2.0 XSD attribute defaults (bpmn-moddle writes a default value as an absent attribute;
# SpiffWorkflow and the service read an absent one as the default).
DEFAULTS = {
    "boundaryEvent": {"cancelActivity": "true"},
    "startEvent": {"isInterrupting": "true", "parallelMultiple": "false"},
    "intermediateCatchEvent": {"parallelMultiple": "false"},
    "subProcess": {"triggeredByEvent": "false"},
    "multiInstanceLoopCharacteristics": {"isSequential": "false", "behavior": "All"},
    "standardLoopCharacteristics": {"testBefore": "false"},
    "eventBasedGateway": {"instantiate": "false", "eventGatewayType": "Exclusive"},
    "receiveTask": {"instantiate": "false"},
    "compensateEventDefinition": {"waitForCompletion": "true"},
    "documentation": {"textFormat": "text/plain"},
    "textAnnotation": {"textFormat": "text/plain"},
    "dataInput": {"isCollection": "false"},
    "dataOutput": {"isCollection": "false"},
    "dataObject": {"isCollection": "false"},
    "itemDefinition": {"isCollection": "false"},
    "dataStore": {"isUnlimited": "true"},
    "adHocSubProcess": {"cancelRemainingInstances": "true"},
    "definitions": {"expressionLanguage": "http://www.w3.org/1999/XPath",
                    "typeLanguage": "http://www.w3.org/2001/XMLSchema"},
}
ACTIVITY_DEFAULTS = {"isForCompensation": "false", "startQuantity": "1", "completionQuantity": "1"}
ACTIVITIES = {"task", "userTask", "manualTask", "serviceTask", "scriptTask", "businessRuleTask", "sendTask",
              "receiveTask", "callActivity", "subProcess", "transaction", "adHocSubProcess"}
GATEWAYS = {"exclusiveGateway", "inclusiveGateway", "parallelGateway", "complexGateway", "eventBasedGateway"}


def parse(data: bytes | str) -> etree._Element:
    parser = etree.XMLParser(remove_comments=True, remove_pis=True, resolve_entities=False, no_network=True)
    return etree.fromstring(data.encode() if isinstance(data, str) else data, parser)


def _qname_value(el: etree._Element, value: str) -> str:
    prefix, _, local = value.rpartition(":")
    uri = el.nsmap.get(prefix or None)
    return f"{{{uri}}}{local}" if uri else value


def _defaults(el: etree._Element) -> dict[str, str]:
    qname = etree.QName(el)
    if qname.namespace != BPMN:
        return {}
    found = dict(DEFAULTS.get(qname.localname, {}))
    if qname.localname in ACTIVITIES:
        found.update(ACTIVITY_DEFAULTS)
    if qname.localname in GATEWAYS:
        found["gatewayDirection"] = "Unspecified"
    return found


def canonical(el: etree._Element) -> tuple:
    """(tag, attributes, text, children) with every name as {namespace}local; DI left out."""
    tag = el.tag
    parent = el.getparent()
    # bpmn-js used to write messagePath as <formalExpression>; SpiffWorkflow reads both the same
    if (tag == f"{{{BPMN}}}formalExpression" and parent is not None
            and parent.tag == f"{{{BPMN}}}correlationPropertyRetrievalExpression"):
        tag = f"{{{BPMN}}}messagePath"
    defaults = _defaults(el)
    attrs = {k: (_qname_value(el, v) if k == XSI_TYPE else v) for k, v in el.attrib.items()
             if defaults.get(k) != v}
    children = [canonical(c) for c in el
                if isinstance(c.tag, str) and etree.QName(c).namespace not in DI_NAMESPACES]
    children.sort(key=lambda c: c[0])   # kinds may be reordered; the order within a kind may not
    text = " ".join((el.text or "").split()) if not children else ""
    return tag, tuple(sorted(attrs.items())), text, tuple(children)


def differences(before: tuple, after: tuple, path: str = "") -> list[str]:
    here = f"{path}/{etree.QName(before[0]).localname}"
    ident = dict(before[1]).get("id")
    here += f"[{ident}]" if ident else ""
    if before[0] != after[0]:
        return [f"{here}: became {after[0]}"]
    out = []
    a, b = dict(before[1]), dict(after[1])
    out += [f"{here} @{k}: {a.get(k)!r} -> {b.get(k)!r}" for k in sorted(a.keys() | b.keys()) if a.get(k) != b.get(k)]
    if before[2] != after[2]:
        out.append(f"{here} text: {before[2][:60]!r} -> {after[2][:60]!r}")
    kinds_a, kinds_b = [c[0] for c in before[3]], [c[0] for c in after[3]]
    if kinds_a != kinds_b:
        lost, added = Counter(kinds_a) - Counter(kinds_b), Counter(kinds_b) - Counter(kinds_a)
        return out + [f"{here}: lost {dict(lost)}, gained {dict(added)}"]
    for x, y in zip(before[3], after[3]):
        out += differences(x, y, here)
    return out


def semantic_differences(original: bytes | str, saved: bytes | str) -> list[str]:
    return differences(canonical(parse(original)), canonical(parse(saved)))


def diagrams() -> list[Path]:
    return sorted((ROOT / "tests" / "corpus").rglob("*.bpmn")) + sorted((ROOT / "processes").glob("*.bpmn"))


# Extensions no descriptor of ours knows, in known and unknown namespaces, declared where they are used.
EXTENSIONS = """<?xml version="1.0" encoding="UTF-8"?>
<definitions xmlns="http://www.omg.org/spec/BPMN/20100524/MODEL"
    xmlns:spiff="http://spiffworkflow.org/bpmn/schema/1.0/core" xmlns:cam="http://camunda.org/schema/1.0/bpmn"
    xmlns:zeebe="http://camunda.org/schema/zeebe/1.0" xmlns:bpmndi="http://www.omg.org/spec/BPMN/20100524/DI"
    xmlns:dc="http://www.omg.org/spec/DD/20100524/DC" id="ext" targetNamespace="urn:test">
  <process id="ext_process" isExecutable="true" cam:versionTag="3" cam:historyTimeToLive="P30D">
    <startEvent id="start"/>
    <userTask id="ask" name="Ask" cam:candidateGroups="sales,finance" cam:formKey="embedded:app:x.html">
      <extensionElements xmlns:acme="urn:acme">
        <spiff:futureThing a="1"><spiff:child>x &lt; y</spiff:child></spiff:futureThing>
        <spiff:allowGuest>true</spiff:allowGuest>
        <spiff:guestConfirmation># Thanks</spiff:guestConfirmation>
        <spiff:properties><spiff:property name="sla" value="PT3H"/><spiff:oddOne/></spiff:properties>
        <cam:fooBar x="1"><cam:baz>deep</cam:baz></cam:fooBar>
        <cam:properties><cam:property name="candidateGroups" value="vp"/></cam:properties>
        <cam:inputOutput><cam:inputParameter name="a">${x}</cam:inputParameter></cam:inputOutput>
        <zeebe:taskDefinition type="x"/>
        <acme:thing>text</acme:thing>
      </extensionElements>
    </userTask>
    <serviceTask id="call">
      <extensionElements>
        <spiff:serviceTaskOperator id="h" resultVariable="r">
          <spiff:parameters><spiff:parameter id="p" type="any" value="1"/></spiff:parameters>
          <spiff:retry retries="3" backoff_base="2"/>
          <spiff:timeoutSeconds>5</spiff:timeoutSeconds>
        </spiff:serviceTaskOperator>
        <spiff:preScript>a = 1</spiff:preScript>
      </extensionElements>
      <multiInstanceLoopCharacteristics spiff:scriptsOnInstances="true">
        <loopDataInputRef>items</loopDataInputRef><loopDataOutputRef>results</loopDataOutputRef>
      </multiInstanceLoopCharacteristics>
    </serviceTask>
    <endEvent id="end"><errorEventDefinition errorRef="oops"/></endEvent>
  </process>
  <error id="oops" name="Oops" errorCode="E1">
    <extensionElements><spiff:payloadExpression>{"why": reason}</spiff:payloadExpression>
      <spiff:variableName>problem</spiff:variableName></extensionElements>
  </error>
  <bpmndi:BPMNDiagram id="ext_di"><bpmndi:BPMNPlane id="ext_plane" bpmnElement="ext_process">
    <bpmndi:BPMNShape id="ask_di" bpmnElement="ask"><dc:Bounds x="100" y="100" width="100" height="80"/></bpmndi:BPMNShape>
  </bpmndi:BPMNPlane></bpmndi:BPMNDiagram>
</definitions>
"""

ROUND_TRIP = """async xml => {
    try {
        await window.orderflowModeler.importXML(xml);
    } catch (error) {
        return 'import failed: ' + error.message;
    }
    return window.orderflowDraft.xml();
}"""


def test_the_comparison_sees_lost_extensions_and_ignores_layout():
    original = EXTENSIONS
    assert semantic_differences(original, original) == []
    relaid = original.replace('xmlns:spiff=', 'xmlns:sw=').replace("spiff:", "sw:").replace(
        'id="ask" name="Ask"', 'name="Ask"  id="ask"')
    assert semantic_differences(original, relaid) == []
    lost = original.replace("<spiff:variableName>problem</spiff:variableName>", "")
    assert any("variableName" in d for d in semantic_differences(original, lost))
    changed = original.replace('backoff_base="2"', 'backoff_base="3"')
    assert semantic_differences(original, changed) == ["/definitions[ext]/process[ext_process]/serviceTask[call]/"
                                                       "extensionElements/serviceTaskOperator[h]/retry @backoff_base: "
                                                       "'2' -> '3'"]


@skip_without_chromium
def test_every_diagram_comes_back_from_the_modeler_unchanged(live_server, page):
    _app, base = live_server
    login(page, base, "owner1")
    open_modeler(page, base)
    files = diagrams()
    manifest = (ROOT / "tests/corpus/MANIFEST.tsv").read_text(encoding="utf-8").splitlines()[1:]
    listed = {ROOT / "tests/corpus" / line.split("\t")[0] for line in manifest if line.split("\t")[0].endswith(".bpmn")}
    assert listed and listed <= set(files)
    failures = {}
    samples = [(str(p.relative_to(ROOT)), p.read_text(encoding="utf-8")) for p in files]
    samples.append(("unknown extensions", EXTENSIONS))
    for name, xml in samples:
        saved = page.evaluate(ROUND_TRIP, xml)
        found = [saved] if saved.startswith("import failed") else semantic_differences(xml, saved)
        if found:
            failures[name] = found[:5]
    assert failures == {}

    # what the descriptors know is read as typed elements (the panel edits those), the rest kept generic
    kinds = page.evaluate("""async xml => {
        const m = window.orderflowModeler;
        await m.importXML(xml);
        const kind = (v) => v.$type + (v.$descriptor.isGeneric ? ' (generic)' : '');
        const node = (id) => m.getDefinitions().rootElements[0].flowElements.find((e) => e.id === id);
        const ext = (id) => node(id).extensionElements.values.map(kind);
        const op = node('call').extensionElements.values[0];
        return { ask: ext('ask'), call: ext('call'), operator: [kind(op.parameterList), kind(op.retry),
                 ...op.extensions.map(kind)] };
    }""", EXTENSIONS)
    assert kinds == {
        "ask": ["spiffworkflow:futureThing (generic)", "spiffworkflow:AllowGuest", "spiffworkflow:GuestConfirmation",
                "spiffworkflow:Properties", "camunda:fooBar (generic)", "camunda:Properties", "camunda:InputOutput",
                "zeebe:taskDefinition (generic)", "acme:thing (generic)"],
        "call": ["spiffworkflow:ServiceTaskOperator", "spiffworkflow:PreScript"],
        "operator": ["spiffworkflow:Parameters", "spiffworkflow:Retry", "spiffworkflow:timeoutSeconds (generic)"],
    }


@skip_without_chromium
def test_message_path_is_written_as_the_schema_says(live_server, page):
    _app, base = live_server
    login(page, base, "owner1")
    open_modeler(page, base)
    source = (ROOT / "tests/corpus/spiff/tests/spiff/waiting_event.bpmn").read_text(encoding="utf-8")
    assert "<bpmn:formalExpression>" in source   # written by an older bpmn-js
    root = parse(page.evaluate(ROUND_TRIP, source))
    ns = {"bpmn": BPMN}
    assert root.xpath("//bpmn:correlationPropertyRetrievalExpression/bpmn:formalExpression", namespaces=ns) == []
    assert len(root.xpath("//bpmn:correlationPropertyRetrievalExpression/bpmn:messagePath", namespaces=ns)) == 1
    schema = VALIDATOR.validator                  # BPMN 2.0 XSD + SpiffWorkflow's, without its repairs
    assert not schema.validate(parse(source).getroottree())
    assert schema.validate(root.getroottree()), schema.error_log.last_error
