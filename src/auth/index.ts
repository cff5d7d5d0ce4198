export { type Action, allowsAction, allowsTask, anonymousLocal, isTaskRestricted, type Principal, patternMatches, TOKEN_SCOPES } from './permissions.js';
export { generateSecret, hashSecret } from './secrets.js';
export { authenticate, createToken, type NewToken, revokeToken } from './tokens.js';
