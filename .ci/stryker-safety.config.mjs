// The mutation step CI runs (.ci/run): the safety-critical files of the model, incrementally.
// Same setup as stryker.config.mjs, narrowed to the files whose mistakes would take traffic (the
// coordinator and its hold, gates and freeze, hysteresis, the threshold guard, quorum, alerts, the
// service-definition check), reusing every result
// in .ci/stryker-incremental.json whose mutant, code and covering test files are unchanged. The run
// fails below 90%, the bar for these files. A change to the model or its tests re-tests only
// what it touches; commit the updated .ci/stryker-incremental.json with it, or every CI run re-tests
// the same mutants again.
import base from './stryker.config.mjs';

export default {
  ...base,
  mutate: [
    'src/model/alerts.ts',
    'src/model/alerts-hold.ts',
    'src/model/coordinator.ts',
    'src/model/coordinator-effects.ts',
    'src/model/coordinator-freeze.ts',
    'src/model/coordinator-gates.ts',
    'src/model/coordinator-hold.ts',
    'src/model/coordinator-settle.ts',
    'src/model/coordinator-threshold.ts',
    'src/model/coordinator-types.ts',
    'src/model/hysteresis.ts',
    'src/model/quorum.ts',
    'src/model/server-map.ts',
    'src/model/service-def-validate.ts',
    'src/model/threshold-guard.ts',
  ],
  incremental: true,
  thresholds: { ...base.thresholds, break: 90 },
  // CI reads the clear-text table; the HTML and JSON reports stay for local runs.
  reporters: ['clear-text', 'progress-append-only'],
};
