import { sqliteFactory } from '../helpers/stores.js';
import { dependencyConformance } from './dependency-suite.js';
import { ruleConformance } from './rule-suite.js';
import { storeConformance } from './store-suite.js';

storeConformance('sqlite', sqliteFactory);
dependencyConformance('sqlite', sqliteFactory);
ruleConformance('sqlite', sqliteFactory);
