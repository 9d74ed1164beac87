import type { Observable } from "rxjs";

/** How an Observable ended, with everything it emitted before. */
export interface Outcome<T> {
  values: T[];
  error: unknown;
  completed: boolean;
}

/** Subscribes and resolves once the Observable completes or errors. */
export function collect<T>(source: Observable<T>): Promise<Outcome<T>> {
  return new Promise((resolve) => {
    const values: T[] = [];
    source.subscribe({
      next: (value) => values.push(value),
      error: (error: unknown) => resolve({ values, error, completed: false }),
      complete: () => resolve({ values, error: undefined, completed: true }),
    });
  });
}
