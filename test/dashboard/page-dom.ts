// Types for the callbacks the dashboard tests hand to page.evaluate / waitForFunction. Those run in
// chromium, but the project compiles for Node without the DOM lib (adding it would change globals
// for every file), so each test file declares `document`/`window` with these minimal shapes.
export interface PageElement {
  readonly textContent: string | null;
  readonly innerText: string;
  getAttribute(name: string): string | null;
  querySelector(selector: string): PageElement | null;
  querySelectorAll(selector: string): ArrayLike<PageElement> & Iterable<PageElement>;
  scrollIntoView(): void;
}

export interface PageDocument extends PageElement {
  readonly documentElement: { readonly scrollWidth: number };
  getElementById(id: string): PageElement | null;
}

/** The page's window: the test's own markers live on it too. */
export interface PageWindow {
  readonly innerWidth: number;
  marker?: string;
  pwned?: number;
}
