import { postgresFactory, postgresReady } from '../helpers/postgres.js';
import { counterConformance } from './counter-suite.js';
import { dashboardConformance } from './dashboard-suite.js';
import { dependencyConformance } from './dependency-suite.js';
import { pushConformance } from './push-suite.js';
import { ruleConformance } from './rule-suite.js';
import { storeConformance } from './store-suite.js';

if (await postgresReady('Store conformance: postgres')) {
  storeConformance('postgres', postgresFactory);
  dependencyConformance('postgres', postgresFactory);
  pushConformance('postgres', postgresFactory);
  ruleConformance('postgres', postgresFactory);
  counterConformance('postgres', postgresFactory);
  dashboardConformance('postgres', postgresFactory);
}
