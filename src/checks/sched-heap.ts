// Indexed binary min-heap ordered by `due` (ties by insertion order), with O(log n) removal so a
// target removed by reconfiguration leaves no stale timer behind. One heap + one armed timer serves
// 10k checks at 1 s far more cheaply than one timer per check.

export interface HeapItem {
  due: number;
  /** Position in the heap, -1 when not in it. Owned by the heap. */
  heapIndex: number;
  /** Tie-breaker; owned by the heap. */
  heapSeq: number;
}

export class DueHeap<T extends HeapItem> {
  private items: T[] = [];
  private seq = 0;

  get size(): number {
    return this.items.length;
  }

  peek(): T | undefined {
    return this.items[0];
  }

  push(item: T): void {
    if (item.heapIndex !== -1) throw new Error('DueHeap.push: item is already in the heap');
    item.heapSeq = this.seq++;
    item.heapIndex = this.items.length;
    this.items.push(item);
    this.up(item.heapIndex);
  }

  pop(): T | undefined {
    const top = this.items[0];
    if (top) this.removeAt(0);
    return top;
  }

  remove(item: T): boolean {
    const i = item.heapIndex;
    if (i < 0 || this.items[i] !== item) return false;
    this.removeAt(i);
    return true;
  }

  private removeAt(i: number): void {
    const items = this.items;
    const gone = items[i];
    const last = items.pop()!;
    gone.heapIndex = -1;
    if (last !== gone) {
      items[i] = last;
      last.heapIndex = i;
      this.down(i);
      this.up(last.heapIndex);
    }
  }

  private less(a: T, b: T): boolean {
    return a.due < b.due || (a.due === b.due && a.heapSeq < b.heapSeq);
  }

  private up(i: number): void {
    const items = this.items;
    const x = items[i];
    while (i > 0) {
      const p = (i - 1) >> 1;
      if (!this.less(x, items[p])) break;
      items[i] = items[p];
      items[i].heapIndex = i;
      i = p;
    }
    items[i] = x;
    x.heapIndex = i;
  }

  private down(i: number): void {
    const items = this.items;
    const n = items.length;
    const x = items[i];
    for (;;) {
      const l = 2 * i + 1;
      if (l >= n) break;
      const r = l + 1;
      const c = r < n && this.less(items[r], items[l]) ? r : l;
      if (!this.less(items[c], x)) break;
      items[i] = items[c];
      items[i].heapIndex = i;
      i = c;
    }
    items[i] = x;
    x.heapIndex = i;
  }
}
