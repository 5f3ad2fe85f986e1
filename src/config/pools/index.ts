// Public API of the pools/*.yaml loader.
export { loadPools, loadPoolsOrThrow, loadPoolsFromTexts, parsePoolsText, type PoolsLoadResult } from './load.js';
export {
  SERVICE_DEFAULTS,
  CHECK_DEFAULTS,
  CHECK_TIMING_DEFAULTS,
  HTTP_DEFAULTS,
  IDLE_CONNECTION_DEFAULTS,
} from './defaults.js';
