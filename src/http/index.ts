export { buildApi, type HttpApi } from './api.js';
export { type HttpFrontDoorOptions, httpFrontDoor } from './front-door.js';
export { HTTP_DEFAULTS, type HttpApiOptions } from './options.js';
