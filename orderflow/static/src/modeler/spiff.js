// Read and write what the service reads from a diagram (orderflow/engine/xmlinfo.py):
// spiffworkflow properties, the service task operator, lanes as groups, timers.
// Writers return commands ([name, context]); `run` executes them as one undo step.

import { limitLabel } from './durations.js';

const GROUP_ID = /^[a-z][a-z0-9_]*$/;

class BatchHandler {
  constructor(commandStack) { this._commandStack = commandStack; }

  // Nested commands run in preExecute belong to this command: one undo reverts them all.
  preExecute(context) {
    context.commands.forEach(([name, ctx]) => this._commandStack.execute(name, ctx));
  }
}
BatchHandler.$inject = ['commandStack'];

export function registerBatch(modeler) {
  modeler.get('commandStack').registerHandler('orderflow.batch', BatchHandler);
}

export function run(modeler, commands) {
  const stack = modeler.get('commandStack');
  if (commands.length === 1) stack.execute(commands[0][0], commands[0][1]);
  else if (commands.length) stack.execute('orderflow.batch', { commands });
}

function create(modeler, type, attrs) {
  return modeler.get('moddle').create(type, attrs);
}

function updateModdle(element, moddleElement, properties) {
  return ['element.updateModdleProperties', { element, moddleElement, properties }];
}

export function updateProps(element, properties) {
  return ['element.updateProperties', { element, properties }];
}

export function is(bo, type) {
  return Boolean(bo && bo.$instanceOf && bo.$instanceOf(type));
}

function extValues(bo) {
  return (bo.extensionElements && bo.extensionElements.get('values')) || [];
}

function findExt(bo, type) {
  return extValues(bo).find((v) => is(v, type));
}

// Adds `child` to the element's extensionElements, creating them when missing.
function addExtension(modeler, element, child) {
  const bo = element.businessObject;
  if (bo.extensionElements) {
    child.$parent = bo.extensionElements;
    return updateModdle(element, bo.extensionElements, { values: [...extValues(bo), child] });
  }
  const ext = create(modeler, 'bpmn:ExtensionElements', { values: [child] });
  child.$parent = ext;
  ext.$parent = bo;
  return updateModdle(element, bo, { extensionElements: ext });
}

// -- properties (spiffworkflow:Properties/property; camunda ones are read only) --

export function getProperty(bo, name) {
  const props = findExt(bo, 'spiffworkflow:Properties');
  const found = props && props.get('properties').find((p) => p.name === name);
  if (found) return found.value || '';
  const camunda = findExt(bo, 'camunda:Properties');
  const other = camunda && camunda.get('values').find((p) => p.name === name);
  return other ? other.value || '' : '';
}

export function setProperty(modeler, element, name, value) {
  const bo = element.businessObject;
  const props = findExt(bo, 'spiffworkflow:Properties');
  const list = props ? props.get('properties') : [];
  const found = list.find((p) => p.name === name);
  if (!value) {
    if (!found) return [];
    const rest = list.filter((p) => p !== found);
    if (rest.length) return [updateModdle(element, props, { properties: rest })];
    return [updateModdle(element, bo.extensionElements, { values: extValues(bo).filter((v) => v !== props) })];
  }
  if (found) return [updateModdle(element, found, { value })];
  const prop = create(modeler, 'spiffworkflow:Property', { name, value });
  if (props) {
    prop.$parent = props;
    return [updateModdle(element, props, { properties: [...list, prop] })];
  }
  const created = create(modeler, 'spiffworkflow:Properties', { properties: [prop] });
  prop.$parent = created;
  return [addExtension(modeler, element, created)];
}

// -- groups: candidateGroups, else the lane (its name when that is a group id, else its id) --

export function laneGroup(lane) {
  const name = (lane.name || '').trim();
  return GROUP_ID.test(name) ? name : lane.id;
}

// A lane's group is its id; its name is for people ("Sales 销售") and stays as it is. A lane
// without a name, or named by a bare group id, is named after the new group in both languages.
// When another element already has that id, the lane is named by the group instead (that counts too).
export function setLaneGroup(modeler, element, group, bilingual) {
  const bo = element.businessObject;
  if (!group || group === laneGroup(bo)) return [];
  const name = (bo.name || '').trim();
  const taken = modeler.get('elementRegistry').get(group) || modeler.get('moddle').ids.assigned(group);
  if (taken && bo.id !== group) return [updateProps(element, { name: group })];
  return [updateProps(element, { id: group, name: !name || GROUP_ID.test(name) ? bilingual(group) : bo.name })];
}

export function candidateGroup(bo) {
  const value = getProperty(bo, 'candidateGroups') || bo.get('camunda:candidateGroups') || '';
  return value.split(',')[0].trim();
}

export function inheritedGroup(modeler, bo) {
  const lanes = modeler.get('elementRegistry').filter((e) => is(e.businessObject, 'bpmn:Lane'));
  const lane = lanes.find((e) => (e.businessObject.flowNodeRef || []).includes(bo));
  return lane ? laneGroup(lane.businessObject) : '';
}

// -- forms --

export function formKey(bo) {
  const file = (getProperty(bo, 'formJsonSchemaFilename') || '').trim().split('/').pop();
  return file.endsWith('.json') ? file.slice(0, -5) : file;
}

// -- service tasks --

export function operator(bo) {
  return findExt(bo, 'spiffworkflow:ServiceTaskOperator');
}

export function parameters(op) {
  return op && op.parameterList ? op.parameterList.get('parameters') : [];
}

// A new operator for `handler`, keeping the parameters the handler still accepts.
export function setHandler(modeler, element, handler, accepted) {
  const bo = element.businessObject;
  const old = operator(bo);
  const kept = parameters(old).filter((p) => accepted.includes(p.id))
    .map((p) => create(modeler, 'spiffworkflow:Parameter', { id: p.id, type: p.type || 'any', value: p.value }));
  const list = create(modeler, 'spiffworkflow:Parameters', { parameters: kept });
  kept.forEach((p) => { p.$parent = list; });
  const attrs = { id: handler, parameterList: list };
  if (old && old.resultVariable) attrs.resultVariable = old.resultVariable;
  const op = create(modeler, 'spiffworkflow:ServiceTaskOperator', attrs);
  list.$parent = op;
  if (!old) return [addExtension(modeler, element, op)];
  op.$parent = bo.extensionElements;
  return [updateModdle(element, bo.extensionElements, { values: extValues(bo).map((v) => (v === old ? op : v)) })];
}

export function setOperatorAttr(element, op, name, value) {
  return [updateModdle(element, op, { [name]: value || undefined })];
}

export function setParameter(modeler, element, op, id, value) {
  const found = parameters(op).find((p) => p.id === id);
  if (found && !value) {
    return [updateModdle(element, op.parameterList, { parameters: parameters(op).filter((p) => p !== found) })];
  }
  if (found) return [updateModdle(element, found, { value })];
  if (!value) return [];
  const param = create(modeler, 'spiffworkflow:Parameter', { id, type: 'any', value });
  if (op.parameterList) {
    param.$parent = op.parameterList;
    return [updateModdle(element, op.parameterList, { parameters: [...parameters(op), param] })];
  }
  const list = create(modeler, 'spiffworkflow:Parameters', { parameters: [param] });
  param.$parent = list;
  list.$parent = op;
  return [updateModdle(element, op, { parameterList: list })];
}

// Parameter values are expressions; a text is a quoted literal, shown without its quotes.
const QUOTED = /^(?:"(?:[^"\\]|\\.)*"|'(?:[^'\\]|\\.)*')$/s;

export function isQuoted(value) {
  return QUOTED.test(value || '');
}

export function unquote(value) {
  if (value.startsWith('"')) {
    try { return JSON.parse(value); } catch (e) { /* a Python-only escape: fall through */ }
  }
  return value.slice(1, -1).replace(/\\(.)/g, '$1');
}

// Timer values are literals; quotes typed out of habit are dropped.
export function stripQuotes(text) {
  return (text || '').trim().replace(/^(['"])(.*)\1$/s, '$2').trim();
}

export function quote(text) {
  return JSON.stringify(text); // JSON string escapes are valid Python string escapes
}

// -- timers --

export function timerDefinition(bo) {
  return (bo.eventDefinitions || []).find((d) => is(d, 'bpmn:TimerEventDefinition'));
}

export function timerValue(def) {
  const expr = def && (def.timeDate || def.timeDuration || def.timeCycle);
  return expr ? (expr.body || '').trim() : '';
}

export function setTimer(modeler, element, def, kind, value) {
  const expr = create(modeler, 'bpmn:FormalExpression', { body: value });
  expr.$parent = def;
  const field = { date: 'timeDate', duration: 'timeDuration', cycle: 'timeCycle' }[kind];
  return [updateModdle(element, def, { timeDate: undefined, timeDuration: undefined, timeCycle: undefined,
    [field]: expr })];
}

// The non-interrupting timer that sets a task's time limit, if the task has one.
export function limitTimer(element) {
  return (element.attachers || []).find((a) => {
    const def = timerDefinition(a.businessObject);
    return def && def.timeDuration;
  });
}

// A limit timer's label shows its duration ("3 h limit 时限3小时"): it follows a new value.
export function relabelLimit(timer, value) {
  const name = timer.businessObject.name || '';
  const next = limitLabel(name, value);
  return next === name ? [] : [updateProps(timer, { name: next })];
}

// -- sequence flows --

export function setCondition(modeler, element, text) {
  if (!text) return [updateProps(element, { conditionExpression: undefined })];
  const expr = create(modeler, 'bpmn:FormalExpression', { body: text });
  expr.$parent = element.businessObject;
  return [updateProps(element, { conditionExpression: expr })];
}
