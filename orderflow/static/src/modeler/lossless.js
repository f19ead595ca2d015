// Opening and saving a diagram must not change it: bpmn-moddle, as shipped, drops or rewrites
// what it cannot place. Three fixes on the modeler's moddle (tests/test_modeler_roundtrip.py):
// - an element of a known namespace (spiffworkflow:, camunda:) whose type the descriptor lacks is
//   kept as a generic element where its parent takes extension elements, instead of being dropped;
// - a reference to an id the file does not define (SpiffWorkflow reads loopDataInputRef and
//   dataInputAssociation/sourceRef as variable names) is kept, in its place, as written;
// - correlationPropertyRetrievalExpression/messagePath is written as <messagePath>, not as the
//   XSD-invalid <formalExpression> bpmn-moddle writes.

import { Reader } from 'moddle-xml';

const LAYOUT = ['bpmndi', 'di', 'dc'];
let genericPatched = false;

// moddle-xml reads children through ElementHandler.getPropertyForNode, which throws on an unknown
// type of a known namespace. Such a child becomes a generic element of the parent's `Element`
// collection (bpmn:extensionElements' values, the `extensions` of spiffworkflow containers).
function keepUnknownTypes(moddle) {
  if (genericPatched) return;
  const root = new Reader({ model: moddle }).handler('bpmn:Definitions');
  const proto = Object.getPrototypeOf(Object.getPrototypeOf(root)); // ElementHandler.prototype
  const original = proto.getPropertyForNode;
  if (typeof original !== 'function') throw new Error('moddle-xml: ElementHandler not found');
  proto.getPropertyForNode = function getPropertyForNode(node) {
    try {
      return original.call(this, node);
    } catch (error) {
      const generic = this.type.$descriptor.properties.find((p) => p.type === 'Element' && !p.isReference &&
        !p.isAttr && !p.isVirtual);
      if (!generic) throw error;
      return generic;
    }
  };
  genericPatched = true;
}

function writeMessagePath(moddle) {
  const type = moddle.getType('bpmn:CorrelationPropertyRetrievalExpression');
  const property = moddle.getElementDescriptor(type).propertiesByName.messagePath;
  property.xml = { ...(property.xml || {}), serialize: 'property' };
}

function placeholder(moddle, type, id, cache) {
  if (!cache.has(id)) {
    let element;
    try {
      element = moddle.create(type, { id });
    } catch (e) {
      element = moddle.create('bpmn:BaseElement', { id });
    }
    cache.set(id, element);
  }
  return cache.get(id);
}

// moddle-xml drops unresolved references after warning about them; put them back in order.
function keepDanglingReferences(moddle, result) {
  const { elementsById = {}, references = [], warnings = [] } = result;
  const unresolved = warnings.filter((w) => /^unresolved reference/.test(w.message || '') && w.element &&
    !LAYOUT.includes(w.element.$descriptor.ns.prefix)); // the layout is redrawn from the model anyway
  if (!unresolved.length) return;
  const cache = new Map();
  const touched = new Map(); // element -> Set of property names
  unresolved.forEach((w) => {
    if (!touched.has(w.element)) touched.set(w.element, new Set());
    touched.get(w.element).add(w.property);
  });
  touched.forEach((names, element) => {
    const descriptor = element.$descriptor;
    names.forEach((name) => {
      const property = descriptor.propertiesByName[name];
      if (!property) return;
      const refs = references.filter((r) => r.element === element && r.property === name);
      const values = refs.map((r) => elementsById[r.id] || placeholder(moddle, property.type, r.id, cache));
      if (property.isMany) element.get(property.name).splice(0, Infinity, ...values);
      else if (values.length) element.set(property.name, values[values.length - 1]);
    });
  });
}

export function makeLossless(moddle) {
  keepUnknownTypes(moddle);
  writeMessagePath(moddle);
  const fromXML = moddle.fromXML.bind(moddle);
  moddle.fromXML = async (...args) => {
    const result = await fromXML(...args);
    keepDanglingReferences(moddle, result);
    return result;
  };
  return moddle;
}
