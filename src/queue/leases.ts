/**
 * Process-local connection-limit leases (engine.md §1.10). A dispatcher holds
 * one lease per limit name; `local:` and shared limits both live here since
 * cluster-wide sharing is out of scope.
 */
export class LeaseRegistry {
  private held = new Map<string, number>();

  tryAcquire(name: string, limit: number): boolean {
    const n = this.held.get(name) ?? 0;
    if (n >= limit) return false;
    this.held.set(name, n + 1);
    return true;
  }

  release(name: string): void {
    const n = (this.held.get(name) ?? 0) - 1;
    if (n <= 0) this.held.delete(name);
    else this.held.set(name, n);
  }

  count(name: string): number {
    return this.held.get(name) ?? 0;
  }
}
