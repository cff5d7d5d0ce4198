import { sqliteFactory } from '../helpers/stores.js';
import { counterConformance } from './counter-suite.js';
import { dashboardConformance } from './dashboard-suite.js';
import { dependencyConformance } from './dependency-suite.js';
import { pushConformance } from './push-suite.js';
import { ruleConformance } from './rule-suite.js';
import { storeConformance } from './store-suite.js';

storeConformance('sqlite', sqliteFactory);
dependencyConformance('sqlite', sqliteFactory);
pushConformance('sqlite', sqliteFactory);
ruleConformance('sqlite', sqliteFactory);
counterConformance('sqlite', sqliteFactory);
dashboardConformance('sqlite', sqliteFactory);
