/** Every scenario by id, in the order a full run takes them. */
import { LATENCY_SIZES } from '../options.js';
import type { Scenario } from '../scenario.js';
import { burst } from './burst.js';
import { gib } from './gib.js';
import { idle } from './idle.js';
import { latencyScenario } from './latency.js';
import { startup } from './startup.js';

export const SCENARIOS: ReadonlyMap<string, Scenario> = new Map<string, Scenario>([
  ...Object.entries(LATENCY_SIZES).map(([id, size]): [string, Scenario] => [id, latencyScenario(id, size)]),
  ...[burst, startup, gib, idle].map((s): [string, Scenario] => [s.id, s]),
]);
