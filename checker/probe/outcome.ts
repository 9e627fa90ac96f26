/** A probe's verdict before timing is attached. */
export interface Outcome {
  readonly ok: boolean;
  readonly detail: string;
}
