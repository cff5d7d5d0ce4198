export { createToken, revokeToken, authenticate, type NewToken } from './tokens.js';
export { allowsAction, allowsTask, anonymousLocal, isTaskRestricted, patternMatches, TOKEN_SCOPES, type Action, type Principal } from './permissions.js';
export { generateSecret, hashSecret } from './secrets.js';
