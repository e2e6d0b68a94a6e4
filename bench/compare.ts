import type { CompareResult, Options, ScenarioResult } from './types.js';
export async function compareTools(_opts: Options, _base: ScenarioResult | undefined): Promise<CompareResult[]> {
  return [];
}
