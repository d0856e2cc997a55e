/**
 * A rollout's stages: the canary, then each step's share of the nodes. Pure functions, so the
 * order in which nodes take a candidate is decided in one place and can be checked on its own.
 */

export interface Stage {
  /** "canary 1", "50%", … (what the desired state and `rollout status` show). */
  label: string;
  /** How many nodes run the candidate in this stage, given how many there are. */
  count(nodes: number): number;
}

export function stagesOf(canary: number, steps: number[]): Stage[] {
  const stages: Stage[] = [];
  if (canary > 0) stages.push({ label: `canary ${canary}`, count: (n) => Math.min(canary, n) });
  for (const pct of steps) stages.push({ label: `${pct}%`, count: (n) => Math.min(n, Math.max(1, Math.ceil((pct * n) / 100))) });
  return stages;
}

/**
 * The nodes of a stage: every node that already has the candidate (a stage never takes it away),
 * then the others in name order until the stage's count is reached. Name order makes the
 * canary predictable (an operator can name the canary node `a-…`).
 */
export function targetsOf(members: readonly string[], previous: readonly string[], count: number): string[] {
  const targets = previous.filter((n) => members.includes(n));
  for (const node of [...members].sort()) {
    if (targets.length >= count) break;
    if (!targets.includes(node)) targets.push(node);
  }
  return targets;
}

/** Parses "--steps 10,50,100": increasing percentages from 1 to 100. */
export function parseSteps(text: string): number[] {
  const steps = text.split(',').map((s) => Number(s.trim()));
  const bad = steps.some((s, i) => !Number.isInteger(s) || s < 1 || s > 100 || (i > 0 && s <= steps[i - 1]!));
  if (bad || steps.length === 0)
    throw new Error(`--steps: expected increasing percentages from 1 to 100 such as 10,50,100 (got "${text}")`);
  return steps;
}

/** Parses a duration such as "30s", "500ms", "2m" or a number of seconds. */
export function parseDuration(text: string, what: string): number {
  const m = /^(\d+(?:\.\d+)?)(ms|s|m)?$/.exec(text.trim());
  if (!m) throw new Error(`${what}: expected a duration such as 30s, 500ms or 2m (got "${text}")`);
  const n = Number(m[1]);
  return Math.round(m[2] === 'ms' ? n : m[2] === 'm' ? n * 60_000 : n * 1000);
}
