/**
 * Prefix trees over token-id sequences of field values. Built from the real tokenizer exactly as
 * the official processor does: encode `"<name>: <value>"` and drop the ids of `"<name>:"`, so the
 * value ids are the ones the model sees in context (the space belongs to the value).
 */

export interface TreeNode {
  readonly children: Map<number, TreeNode>;
  /** True when the ids from the root to here spell a complete valid value. */
  terminal: boolean;
  /** Ids allowed at this node, ascending (computed by `finalizeTree`). */
  allowed: readonly number[];
}

export function newNode(): TreeNode {
  return { children: new Map(), terminal: false, allowed: [] };
}

export interface ValueEncoder {
  encode(text: string): number[];
}

/** Token ids of `value` as it follows `"<name>:"`: encode(`<name>: <value>`) minus encode(`<name>:`). */
export function valueIds(encoder: ValueEncoder, name: string, value: string): number[] {
  const prefix = encoder.encode(`${name}:`);
  const full = encoder.encode(`${name}: ${value}`);
  if (full.length <= prefix.length || prefix.some((id, i) => full[i] !== id)) {
    throw new Error(`"${name}: ${value}" does not start with the tokens of "${name}:"`);
  }
  return full.slice(prefix.length);
}

/**
 * How a complete value ends: `numeric` lets the model choose between more digits and the newline
 * (BPM, duration); `exclusive` allows only the newline once a value is complete (keyscale,
 * language, time signature).
 */
export type TerminalRule = 'numeric' | 'exclusive';

export function buildValueTree(
  encoder: ValueEncoder,
  name: string,
  values: readonly string[],
  newlineId: number,
  rule: TerminalRule,
): TreeNode {
  const root = newNode();
  for (const value of values) {
    let node = root;
    for (const id of valueIds(encoder, name, value)) {
      let child = node.children.get(id);
      if (!child) {
        child = newNode();
        node.children.set(id, child);
      }
      node = child;
    }
    node.terminal = true;
  }
  finalizeTree(root, newlineId, rule);
  return root;
}

function finalizeTree(node: TreeNode, newlineId: number, rule: TerminalRule): void {
  const ids = node.terminal && rule === 'exclusive' ? [] : [...node.children.keys()];
  if (node.terminal) ids.push(newlineId);
  node.allowed = ids.sort((a, b) => a - b);
  for (const child of node.children.values()) finalizeTree(child, newlineId, rule);
}
