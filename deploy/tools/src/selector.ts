// Label selectors, as Kubernetes evaluates them (matchLabels and matchExpressions).
import { type Json, list, record, text } from './types.ts';

/** True when `selector` (a LabelSelector) selects an object with `labels`. Empty selects everything. */
export function selects(selector: unknown, labels: Record<string, string>): boolean {
  const sel = record(selector);
  for (const [key, value] of Object.entries(record(sel.matchLabels))) if (labels[key] !== value) return false;
  return list(sel.matchExpressions).every((raw) => expressionHolds(record(raw), labels));
}

function expressionHolds(expr: Json, labels: Record<string, string>): boolean {
  const key = text(expr.key) ?? '';
  const values = list(expr.values).map(String);
  const has = Object.hasOwn(labels, key);
  switch (expr.operator) {
    case 'In':
      return has && values.includes(labels[key]!);
    case 'NotIn':
      return !has || !values.includes(labels[key]!);
    case 'Exists':
      return has;
    case 'DoesNotExist':
      return !has;
    default:
      return false;
  }
}

/** A Service's spec.selector is a plain map, not a LabelSelector. */
export function mapSelects(selector: unknown, labels: Record<string, string>): boolean {
  const entries = Object.entries(record(selector));
  return entries.length > 0 && entries.every(([key, value]) => labels[key] === value);
}
