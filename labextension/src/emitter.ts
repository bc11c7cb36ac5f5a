/**
 * A minimal typed event emitter (a Lumino `Signal` without the Lumino import,
 * so the models that use it stay loadable under plain Node for unit tests).
 */
export class Emitter<T> {
  /** Call `listener` with every emitted value until the returned function is called. */
  connect(listener: (value: T) => void): () => void {
    this._listeners.add(listener);
    return () => {
      this._listeners.delete(listener);
    };
  }

  /** Call every listener; one that throws does not stop the others. */
  emit(value: T): void {
    for (const listener of [...this._listeners]) {
      try {
        listener(value);
      } catch (error) {
        console.error('Lepton Lab: listener failed', error);
      }
    }
  }

  /** Disconnect every listener. */
  clear(): void {
    this._listeners.clear();
  }

  private _listeners = new Set<(value: T) => void>();
}
