// Code-unit order for names (hosts, pools, observers): listings, alerts and effects must come out the
// same on every machine, so never locale order.
export function byName(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
