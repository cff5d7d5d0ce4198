/** How both backends keep a rule: its definition as one JSON text, read back into a RuleRecord. */
import type { RuleDefinition, RuleRecord } from '../core/rule.js';

/** What goes in the `definition` column: everything but the name. */
export function ruleDefinitionText(rule: RuleDefinition): string {
  return JSON.stringify({ on: rule.on, tasks: rule.tasks, action: rule.action, description: rule.description });
}

export function ruleRecordOf(row: { name: unknown; definition: unknown; paused: unknown; createdAt: unknown; updatedAt: unknown }): RuleRecord {
  const d = JSON.parse(String(row.definition)) as Omit<RuleDefinition, 'name'>;
  return {
    name: String(row.name),
    on: d.on,
    tasks: d.tasks,
    action: d.action,
    description: d.description ?? null,
    paused: row.paused === true || row.paused === 1,
    createdAt: Number(row.createdAt),
    updatedAt: Number(row.updatedAt),
  };
}
