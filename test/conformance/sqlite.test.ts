import { sqliteFactory } from '../helpers/stores.js';
import { storeConformance } from './store-suite.js';

storeConformance('sqlite', sqliteFactory);
