export { buildApi, type HttpApi } from './api.js';
export { httpFrontDoor, type HttpFrontDoorOptions } from './front-door.js';
export { HTTP_DEFAULTS, type HttpApiOptions } from './options.js';
