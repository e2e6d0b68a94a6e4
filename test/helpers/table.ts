/** One row of a table-driven test: what is given and what must come out. */
export interface Case<G, E> {
  readonly description: string;
  readonly given: G;
  readonly expect: E;
}
