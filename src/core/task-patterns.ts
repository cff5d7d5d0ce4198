/**
 * Task patterns, as tokens and rules name the tasks they cover: `*` matches any run of
 * characters (including none), everything else itself.
 */

export function patternMatches(pattern: string, task: string): boolean {
  return compile(pattern).test(task);
}

const compiled = new Map<string, RegExp>();

function compile(pattern: string): RegExp {
  let re = compiled.get(pattern);
  if (!re) {
    const body = pattern
      .split('*')
      .map((part) => part.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&'))
      .join('.*');
    re = new RegExp(`^${body}$`);
    if (compiled.size > 1000) compiled.clear();
    compiled.set(pattern, re);
  }
  return re;
}

const PATTERN = /^[A-Za-z0-9_.:\-/*]{1,200}$/;

/** A task pattern is a task name in which `*` may stand for any run of characters. */
export function isTaskPattern(value: string): boolean {
  return PATTERN.test(value);
}
