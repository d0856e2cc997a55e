// Building DOM nodes without HTML strings: every piece of text becomes a text node, so a version
// string, a status text or a rejection message from a module or an upload is shown, never parsed.

const SVG_NS = 'http://www.w3.org/2000/svg';

/**
 * Appends children: strings and numbers as text nodes, nodes as they are; null, undefined and
 * false are skipped so that optional parts can be written inline.
 * @param {Element} parent
 * @param {unknown[]} children
 */
function append(parent, children) {
  for (const child of children.flat(Number.POSITIVE_INFINITY)) {
    if (child === null || child === undefined || child === false) continue;
    parent.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
}

/**
 * @param {Element} node
 * @param {Record<string, unknown>} attrs attributes (setAttribute: stored as text), `on*` listeners
 */
function assign(node, attrs) {
  for (const [name, value] of Object.entries(attrs)) {
    if (value === null || value === undefined || value === false) continue;
    if (name.startsWith('on') && typeof value === 'function') node.addEventListener(name.slice(2), /** @type {EventListener} */ (value));
    else node.setAttribute(name, value === true ? '' : String(value));
  }
}

/**
 * An HTML element: `el('td', { class: 'num' }, '175 µs')`.
 * @param {string} tag
 * @param {Record<string, unknown>} [attrs]
 * @param {...unknown} children
 * @returns {HTMLElement}
 */
export function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  assign(node, attrs);
  append(node, children);
  return node;
}

/**
 * An SVG element, the same way.
 * @param {string} tag
 * @param {Record<string, unknown>} [attrs]
 * @param {...unknown} children
 * @returns {SVGElement}
 */
export function svg(tag, attrs = {}, ...children) {
  const node = /** @type {SVGElement} */ (document.createElementNS(SVG_NS, tag));
  assign(node, attrs);
  append(node, children);
  return node;
}

/**
 * Replaces a node's children.
 * @param {Element} node
 * @param {...unknown} children
 */
export function fill(node, ...children) {
  node.replaceChildren();
  append(node, children);
}

/**
 * The element with this id, which the page must have.
 * @param {string} id
 * @returns {HTMLElement}
 */
export function byId(id) {
  const node = document.getElementById(id);
  if (!node) throw new Error(`the page has no element #${id}`);
  return node;
}
